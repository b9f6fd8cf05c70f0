#!/usr/bin/env bash
# Proves the binary is the whole deployment: copies it alone into an empty directory (no .build/, no
# resource bundles beside it), runs `demo` from there on free ports with JSON logs, and fetches the
# admin sign-in page, one of its assets, the OpenAPI document and /metrics, then asks `boogyman health`
# and stops the demo. Also checks that the compiled-in resources match their source files.
#
#   scripts/run-standalone-binary.sh [path/to/boogyman]     (default .build/debug/boogyman)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python3 scripts/embed-resources.py --check

binary="${1:-.build/debug/boogyman}"
if [[ ! -x "$binary" ]]; then
    echo "error: no boogyman binary at $binary; run 'swift build' first" >&2
    exit 2
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/boogyman-standalone.XXXXXX")"
demo_pid=""
cleanup() {
    if [[ -n "$demo_pid" ]] && kill -0 "$demo_pid" 2>/dev/null; then
        kill -INT "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

cp "$binary" "$workdir/boogyman"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
sandbox_port=$(free_port)
base="http://127.0.0.1:$port"

# From the empty directory, with nothing of the build's environment: the binary finds nothing beside it.
(cd "$workdir" && exec env -i PATH=/usr/bin:/bin HOME="$workdir" BOOGYMAN_LOG_FORMAT=json \
    ./boogyman demo --port "$port" --sandbox-port "$sandbox_port" --members 5 >demo.out 2>demo.log) &
demo_pid=$!

for _ in $(seq 1 600); do
    if grep -q "Press Ctrl-C" "$workdir/demo.out" 2>/dev/null; then break; fi
    if ! kill -0 "$demo_pid" 2>/dev/null; then break; fi
    sleep 0.1
done
if ! grep -q "Press Ctrl-C" "$workdir/demo.out" 2>/dev/null; then
    echo "The demo did not start from $workdir:" >&2
    cat "$workdir/demo.out" "$workdir/demo.log" >&2 || true
    exit 1
fi

# The demo prints its banner just before the server binds: wait for the port to answer.
for _ in $(seq 1 300); do
    if curl -fsS --max-time 2 "$base/healthz" >/dev/null 2>&1; then break; fi
    sleep 0.1
done

fetch() {  # fetch PATH EXPECTED-TEXT: 200 and the text in the body
    local body
    if ! body=$(curl -fsS --max-time 10 "$base$1"); then
        echo "GET $1 failed" >&2
        exit 1
    fi
    if ! grep -qF -- "$2" <<<"$body"; then
        echo "GET $1 does not contain \"$2\"" >&2
        exit 1
    fi
    echo "GET $1: 200, $(wc -c <<<"$body") bytes"
}
fetch /admin/login '<form'
fetch /admin/assets/admin.css ':root'
fetch /api/v1/openapi.yaml 'openapi: 3'
fetch /metrics '# HELP boogyman_sync_queue_depth'
(cd "$workdir" && BOOGYMAN_PORT="$port" ./boogyman health)

# Every log line is one JSON object.
python3 - "$workdir/demo.log" <<'PY'
import json, sys
lines = [line for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
for line in lines:
    record = json.loads(line)
    assert {"time", "level", "label", "message", "metadata"} <= record.keys(), line
print(f"{len(lines)} JSON log line(s)")
PY

kill -INT "$demo_pid"
wait "$demo_pid" || { echo "the demo did not stop cleanly on SIGINT" >&2; exit 1; }
demo_pid=""
echo "The binary alone served the demo from an empty directory."
