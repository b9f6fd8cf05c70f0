#!/usr/bin/env bash
# Proves BooGYMan's local Kisi sandbox true against Kisi's own OpenAPI document.
#
#   scripts/run-kisi-conformance.sh [path/to/boogyman [kisi-conformance.py options, e.g. -v or --spec PATH]]
#                                      (default binary .build/debug/boogyman)
#
# Starts `boogyman sandbox` (demo seed) on a free local port, waits until it answers, runs
# scripts/kisi-conformance.py against it and stops the sandbox again. The Python tools live in the venv
# at ${OPENAPI_VENV:-.venv}, created from scripts/requirements-kisi-conformance.txt when missing.
# Kisi's document defaults to the copy in Vendor/kisi/kisi-openapi.yml.
# Exits with the check's status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

binary="${1:-.build/debug/boogyman}"
if [[ $# -gt 0 ]]; then shift; fi  # anything after the binary goes to kisi-conformance.py
if [[ ! -x "$binary" ]]; then
    echo "error: no boogyman binary at $binary; run 'swift build --product boogyman' first" >&2
    exit 2
fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

api_key="kisi-sandbox-demo-owner-key"
admin_key="sandbox-admin"

venv="${OPENAPI_VENV:-.venv}"
requirements="$root/scripts/requirements-kisi-conformance.txt"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import openapi_core, openapi_schema_validator, requests, yaml' 2>/dev/null; then
    echo "Setting up $venv from $requirements ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/kisi-conformance.XXXXXX")"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port: bind port 0, read what the kernel picked, release it.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base_url="http://127.0.0.1:$port"

"$binary" sandbox --host 127.0.0.1 --port "$port" --seed demo --api-key "$api_key" --admin-key "$admin_key" \
    >"$workdir/sandbox.log" 2>&1 &
server_pid=$!

ready() {
    "$venv/bin/python" - "$base_url" "$admin_key" <<'PY' 2>/dev/null
import sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_sandbox/state", headers={"X-Sandbox-Admin-Key": sys.argv[2]})
urllib.request.urlopen(request, timeout=1).read()
PY
}

for _ in $(seq 1 150); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "error: the sandbox exited before it was ready:" >&2
        cat "$workdir/sandbox.log" >&2
        exit 1
    fi
    if ready; then break; fi
    sleep 0.1
done
if ! ready; then
    echo "error: the sandbox did not answer GET /_sandbox/state on $base_url within 15 s:" >&2
    cat "$workdir/sandbox.log" >&2
    exit 1
fi

status=0
"$venv/bin/python" "$root/scripts/kisi-conformance.py" --base-url "$base_url" --api-key "$api_key" \
    --admin-key "$admin_key" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- sandbox log (last 40 lines) ---" >&2
    tail -n 40 "$workdir/sandbox.log" >&2 || true
fi
exit "$status"
