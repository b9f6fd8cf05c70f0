#!/usr/bin/env bash
# Fuzzes the JSON API with bad input (scripts/fuzz-api.py) against a freshly started server.
#
#   scripts/run-fuzz.sh [path/to/boogyman [fuzz-api.py options]]
#                       (default binary .build/debug/boogyman)
#
# Creates a throw-away SQLite database (a PostgreSQL one with FUZZ_POSTGRES_URL) and API token,
# serves it on a free local port, runs scripts/fuzz-api.py against it, checks the process survived
# and stops it again. PyYAML lives in the venv at ${OPENAPI_VENV:-.venv}, created from
# scripts/requirements-openapi.txt when missing (shared with scripts/run-openapi-check.sh).
# Exits with the check's status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

binary="${1:-.build/debug/boogyman}"
if [[ $# -gt 0 ]]; then shift; fi  # anything after the binary goes to fuzz-api.py (e.g. -v, --budget 120)
if [[ ! -x "$binary" ]]; then
    echo "error: no boogyman binary at $binary; run 'swift build' first" >&2
    exit 2
fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

venv="${OPENAPI_VENV:-.venv}"
requirements="$root/scripts/requirements-openapi.txt"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import openapi_core, openapi_spec_validator, requests, yaml' 2>/dev/null; then
    echo "Setting up $venv from $requirements ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/boogyman-fuzz.XXXXXX")"
database="$workdir/fuzz.sqlite"
server_pid=""
postgres_admin_url=""
postgres_name=""

# With FUZZ_POSTGRES_URL (a PostgreSQL URL whose user may CREATE DATABASE), the server runs on a
# fresh PostgreSQL database instead: PostgreSQL refuses NUL in text and treats LIKE differently
# from SQLite, so both stores get the same bad input.
if [[ -n "${FUZZ_POSTGRES_URL:-}" ]]; then
    psql="$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$psql" ]]; then
        echo "error: FUZZ_POSTGRES_URL is set but psql is not installed" >&2
        exit 2
    fi
    postgres_admin_url="$FUZZ_POSTGRES_URL"
    postgres_name="boogyman_fuzz_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
    "$psql" "$postgres_admin_url" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $postgres_name" >/dev/null
    database="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$postgres_admin_url" "$postgres_name")"
fi

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$postgres_name" ]]; then
        "$psql" "$postgres_admin_url" -q -c "DROP DATABASE IF EXISTS $postgres_name WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "$postgres_name" ]]; then store="PostgreSQL database $postgres_name"; else store="SQLite file $database"; fi
echo "run-fuzz: serving $store" >&2
"$binary" migrate --database "$database" >"$workdir/migrate.log" 2>&1 || {
    cat "$workdir/migrate.log" >&2
    exit 1
}
token="$("$binary" token create --name fuzz --database "$database" 2>"$workdir/token.log")" || {
    cat "$workdir/token.log" >&2
    exit 1
}
token="$(printf '%s\n' "$token" | tail -n 1 | tr -d '[:space:]')"

# A free port: bind port 0, read what the kernel picked, release it.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base_url="http://127.0.0.1:$port"

"$binary" serve --database "$database" --host 127.0.0.1 --port "$port" >"$workdir/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the server exited before it was ready:" >&2
        cat "$workdir/server.log" >&2
        exit 1
    fi
    if "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' "$base_url" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' "$base_url" 2>/dev/null; then
    echo "error: the server did not answer /healthz on $base_url within 10 s:" >&2
    cat "$workdir/server.log" >&2
    exit 1
fi

status=0
"$venv/bin/python" "$root/scripts/fuzz-api.py" --base-url "$base_url" --token "$token" "$@" || status=$?
# The fuzz polls /healthz itself; this also catches a process that answers but is on its way out.
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: the server process exited during the fuzz" >&2
    status=1
fi
if grep -q "Fatal error\|Illegal instruction\|Segmentation fault" "$workdir/server.log"; then
    echo "error: the server log shows a crash" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$workdir/server.log" >&2 || true
fi
exit "$status"
