#!/usr/bin/env bash
# Drives the admin UI in headless Chromium against a fresh demo gym.
#
#   scripts/run-browser-tests.sh [path/to/boogyman [unittest options]]   (default .build/debug/boogyman)
#
# Starts `boogyman demo` (fresh SQLite file in a temporary directory, built-in Kisi sandbox not yet
# connected — the tests connect it through the wizard — and a few members) on free ports, runs scripts/browser-tests/test_admin_ui.py with Selenium from the venv at
# ${BROWSER_VENV:-.venv-browser} (created from scripts/browser-tests/requirements.txt when missing),
# and stops the demo. Needs Debian's chromium and chromium-driver. Screenshots of the main pages go
# to .build/browser-screenshots/. Exits with the tests' status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

binary="${1:-.build/debug/boogyman}"
if [[ $# -gt 0 ]]; then shift; fi
if [[ ! -x "$binary" ]]; then
    echo "error: no boogyman binary at $binary; run 'swift build' first" >&2
    exit 2
fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
for tool in chromium chromedriver; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool is missing; apt-get install -y chromium chromium-driver" >&2
        exit 2
    fi
done

venv="${BROWSER_VENV:-.venv-browser}"
requirements="$root/scripts/browser-tests/requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
    echo "Setting up $venv from $requirements ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/boogyman-browser.XXXXXX")"
demo_pid=""
cleanup() {
    if [[ -n "$demo_pid" ]] && kill -0 "$demo_pid" 2>/dev/null; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port="$(free_port)"
sandbox_port="$(free_port)"
owner_password="browser-tests-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

# A handful of members keeps the demo's first full sync (paced at Kisi's 5 requests/second) short.
(cd "$workdir" && exec "$binary" demo --database "$workdir/demo.sqlite" --port "$port" --sandbox-port "$sandbox_port" \
    --members 4 --admin-password "$owner_password" --no-connect-kisi) >"$workdir/demo.log" 2>&1 &
demo_pid=$!

base_url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$demo_pid" 2>/dev/null; then
        echo "error: the demo exited before it was ready:" >&2
        cat "$workdir/demo.log" >&2
        exit 1
    fi
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' "$base_url" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    echo "error: the demo did not answer /healthz on $base_url within 60 s:" >&2
    cat "$workdir/demo.log" >&2
    exit 1
fi

mkdir -p "$root/.build/browser-screenshots"
status=0
BOOGYMAN_URL="$base_url" SANDBOX_URL="http://127.0.0.1:$sandbox_port" SANDBOX_API_KEY="kisi-sandbox-demo-owner-key" \
    OWNER_EMAIL="owner@demo-gym.example" OWNER_PASSWORD="$owner_password" \
    SCREENSHOT_DIR="$root/.build/browser-screenshots" \
    "$venv/bin/python" "$root/scripts/browser-tests/test_admin_ui.py" "$@" || status=$?
# A booked class opens the studio door in Kisi inside its window only (connecting Kisi again: test_admin_ui.py ends disconnected).
BOOGYMAN_URL="$base_url" SANDBOX_URL="http://127.0.0.1:$sandbox_port" SANDBOX_API_KEY="kisi-sandbox-demo-owner-key" \
    OWNER_EMAIL="owner@demo-gym.example" OWNER_PASSWORD="$owner_password" SCREENSHOT_DIR="$root/.build/browser-screenshots" \
    "$venv/bin/python" "$root/scripts/browser-tests/test_class_door.py" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- demo log (last 60 lines) ---" >&2
    tail -n 60 "$workdir/demo.log" >&2 || true
fi
kill "$demo_pid" 2>/dev/null || true
wait "$demo_pid" 2>/dev/null || true

# A second demo, the full 300 members without Kisi: charts from door events written into its database,
# lists paged to the end, club time and the phone layout (scripts/browser-tests/test_admin_pictures.py).
port="$(free_port)"
sandbox_port="$(free_port)"
(cd "$workdir" && exec "$binary" demo --database "$workdir/lists.sqlite" --port "$port" --sandbox-port "$sandbox_port" \
    --members 300 --admin-password "$owner_password" --no-connect-kisi) >"$workdir/lists.log" 2>&1 &
demo_pid=$!
base_url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$demo_pid" 2>/dev/null; then break; fi
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1)' "$base_url" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    echo "error: the 300-member demo did not answer /healthz on $base_url:" >&2
    cat "$workdir/lists.log" >&2
    exit 1
fi
pictures=0
BOOGYMAN_URL="$base_url" OWNER_EMAIL="owner@demo-gym.example" OWNER_PASSWORD="$owner_password" \
    SCREENSHOT_DIR="$root/.build/browser-screenshots" DEMO_DATABASE="$workdir/lists.sqlite" \
    "$venv/bin/python" "$root/scripts/browser-tests/test_admin_pictures.py" "$@" || pictures=$?
# Classes and bookings on the same demo: its timetable, booking the last place, the waitlist, the phone's day list.
BOOGYMAN_URL="$base_url" OWNER_EMAIL="owner@demo-gym.example" OWNER_PASSWORD="$owner_password" \
    SCREENSHOT_DIR="$root/.build/browser-screenshots" DEMO_DATABASE="$workdir/lists.sqlite" \
    "$venv/bin/python" "$root/scripts/browser-tests/test_admin_classes.py" "$@" || pictures=$?
if [[ $pictures -ne 0 ]]; then
    echo "--- 300-member demo log (last 60 lines) ---" >&2
    tail -n 60 "$workdir/lists.log" >&2 || true
    status=$pictures
fi
exit "$status"
