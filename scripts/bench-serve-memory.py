#!/usr/bin/env python3
"""Usage: [RATE=0] [SWEEP=SECONDS] [REUSE_SEED=1] scripts/bench-serve-memory.py [MEMBERS [MINUTES]] (after `swift build -c release --product boogyman`).

Resident memory of `boogyman serve` alone during a big gym's first full sync, with Kisi in another process:
1. `boogyman demo --members N --no-connect-kisi` seeds a database (gym, members, door history) and is stopped;
2. `boogyman sandbox` (the demo organization, Kisi's 5 requests/second) runs as its own process;
3. `boogyman kisi connect` stores the sandbox's key; `boogyman serve` starts and runs its first full sync.
VmRSS and VmHWM of `serve` are sampled every 10 s for MINUTES minutes after the sync has planned, with
the sync's progress; the sandbox's memory is printed beside it but is not BooGYMan's.
REUSE_SEED=1 starts from the database the last run with the same MEMBERS seeded."""
import json, os, re, shutil, signal, subprocess, sys, time, urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
MINUTES = float(sys.argv[2]) if len(sys.argv) > 2 else 10
BIN = os.environ.get("BOOGYMAN", ".build/release/boogyman")
PORT, SPORT = 18110, 18111
DB = os.environ.get("BENCH_DATABASE", "/tmp/serve-memory.sqlite")
LOG = DB + ".log"
for suffix in ("", "-wal", "-shm", ".master-key"):
    try: os.remove(DB + suffix)
    except FileNotFoundError: pass
log = open(LOG, "w")
def text(): return open(LOG).read()
def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"): return int(line.split()[1]) / 1024
SEEDED = f"{DB}.seeded-{N}"  # the demo's database right after seeding, reused with REUSE_SEED=1 (seeding 100,000 takes minutes)
start = time.time()
if os.environ.get("REUSE_SEED") and os.path.exists(SEEDED):
    for suffix in ("", ".master-key", ".token"):
        shutil.copyfile(SEEDED + suffix, DB + suffix)
    token = open(DB + ".token").read()
else:
    token = None
demo = None if token else subprocess.Popen([BIN, "demo", "--members", str(N), "--no-connect-kisi", "--port", str(PORT), "--sandbox-port", str(SPORT),
                         "--database", DB, "--admin-password", "correct horse battery"], stdout=log, stderr=subprocess.STDOUT)
while token is None:
    if demo.poll() is not None: sys.exit("demo ended:\n" + text()[-3000:])
    m = re.search(r"API token:\s+(\S+)", text())
    if m: token = m.group(1)
    time.sleep(1)
if demo:
    demo.send_signal(signal.SIGTERM); demo.wait(timeout=60)
    print(f"seeded {N} members in {time.time()-start:.0f} s", flush=True)
    open(DB + ".token", "w").write(token)
    for suffix in ("", ".master-key", ".token"):
        shutil.copyfile(DB + suffix, SEEDED + suffix)
RATE = os.environ.get("RATE", "5")  # the sandbox's requests per second; 0 lifts the limit (the first sync then ends in minutes)
sandbox = subprocess.Popen([BIN, "sandbox", "--port", str(SPORT), "--rate-limit", RATE], stdout=log, stderr=subprocess.STDOUT)
time.sleep(3)
env = dict(os.environ, BOOGYMAN_DATABASE=DB, BOOGYMAN_MASTER_KEY_FILE=DB + ".master-key", BOOGYMAN_PORT=str(PORT))
if os.environ.get("SWEEP"): env["BOOGYMAN_SYNC_SWEEP_INTERVAL"] = os.environ["SWEEP"]  # seconds between rolling sweeps
subprocess.run([BIN, "kisi", "connect", "--base-url", f"http://127.0.0.1:{SPORT}"], input="kisi-sandbox-demo-owner-key\n",
               text=True, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
# WRAP runs serve under a tool, e.g. WRAP="heaptrack -o /tmp/serve" for where the memory goes.
serve = subprocess.Popen(os.environ.get("WRAP", "").split() + [BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
serve_pid = serve.pid
if os.environ.get("WRAP"):
    time.sleep(2)
    serve_pid = int(subprocess.check_output(["pgrep", "-n", "-f", BIN + " serve"]).split()[0])
def api(path):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read() or b"null")
t0 = time.time()
def sample():
    st = api("/api/v1/sync/status"); p = st.get("progress") or {}
    sweeps = st.get("sweep") or {}
    sweep = sweeps.get("current") or {"phase": f"last finished {sweeps.get('last_finished_at')}"}
    print(f"  t+{time.time()-t0:5.0f} s serve RSS {status(serve_pid, 'VmRSS'):6.0f} MiB (peak {status(serve_pid, 'VmHWM'):6.0f})"
          f"  sandbox RSS {status(sandbox.pid, 'VmRSS'):5.0f} MiB  progress {p.get('done')}/{p.get('planned')}"
          f"  sweep {sweep.get('phase', '-')} {sweep.get('reads', '')}  verified {st.get('all_members_verified_at')}", flush=True)
    return p
try:
    while True:
        if serve.poll() is not None: sys.exit("serve ended:\n" + text()[-3000:])
        try:
            if sample().get("planned"): break
        except OSError: pass
        time.sleep(5)
    planned_at = time.time()
    rss = []
    while time.time() - planned_at < MINUTES * 60:
        time.sleep(10); sample(); rss.append(status(serve_pid, "VmRSS"))
    print(f"serve during the first sync: RSS {min(rss):.0f}–{max(rss):.0f} MiB, peak (VmHWM) {status(serve_pid, 'VmHWM'):.0f} MiB", flush=True)
finally:
    for p in (serve, sandbox):
        p.terminate()
        try: p.wait(timeout=30)
        except subprocess.TimeoutExpired: p.kill()
