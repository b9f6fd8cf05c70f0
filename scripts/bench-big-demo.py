#!/usr/bin/env python3
"""Usage: scripts/bench-big-demo.py [MEMBERS [SALES [SECONDS_BETWEEN_SALES]]] (after `swift build -c release --product boogyman`).

Runs `boogyman demo --members N` (release build) and measures, during its first full sync at Kisi's
5 requests/second: resident memory of the process, and sale -> door open latency (member + subscription
through the JSON API until the sandbox's oracle lets the member's Kisi user open the plan's first door)."""
import datetime, json, os, re, subprocess, sys, time, urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
SALES = int(sys.argv[2]) if len(sys.argv) > 2 else 12
EVERY = float(sys.argv[3]) if len(sys.argv) > 3 else 15
PORT, SPORT = 18100, 18101
DB = os.environ.get("BIG_DEMO_DATABASE", "/tmp/bigdemo.sqlite")
LOG = DB + ".log"
for suffix in ("", "-wal", "-shm", ".master-key"):
    try: os.remove(DB + suffix)
    except FileNotFoundError: pass
log = open(LOG, "w")
start = time.time()
proc = subprocess.Popen([os.environ.get("BOOGYMAN", ".build/release/boogyman"), "demo", "--members", str(N), "--port", str(PORT),
                         "--sandbox-port", str(SPORT), "--database", DB, "--admin-password", "correct horse battery"],
                        stdout=log, stderr=subprocess.STDOUT)
def rss_mib():
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
def text(): return open(LOG).read()
token = None
while token is None:
    if proc.poll() is not None: sys.exit("demo ended:\n" + text()[-3000:])
    m = re.search(r"API token:\s+(\S+)", text())
    if m: token = m.group(1)
    time.sleep(1)
seeded = time.time() - start
print(f"seeded {N} members and listening after {seeded:.0f} s; RSS {rss_mib():.0f} MiB", flush=True)
def api(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read() or b"null")
def oracle(user, lock):
    req = urllib.request.Request(f"http://127.0.0.1:{SPORT}/_sandbox/oracle?user_id={user}&lock_id={lock}",
                                 headers={"X-Sandbox-Admin-Key": "sandbox-admin"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read()).get("allowed")
peak = 0
def sample(label=""):
    global peak
    r = rss_mib(); peak = max(peak, r)
    st = api("GET", "/api/v1/sync/status")
    p = st.get("progress") or {}
    print(f"  t+{time.time()-start:5.0f} s RSS {r:6.0f} MiB  {label} progress {p.get('done')}/{p.get('planned')} "
          f"rate {p.get('writes_per_second')} eta {p.get('estimated_finish_at')} queue {st.get('queue_depth')}", flush=True)
    return p
# Wait for the first full sync to have planned (progress published).
while not sample().get("planned"):
    time.sleep(5)
plans = api("GET", "/api/v1/plans")
plans = plans.get("items", plans) if isinstance(plans, dict) else plans
plan = next(p for p in plans if p.get("kisi_lock_ids") and not p.get("archived"))
lock = plan["kisi_lock_ids"][0]
start_date = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
paid = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
latencies = []
for i in range(SALES):
    m = api("POST", "/api/v1/members", {"first_name": "Bench", "last_name": f"Sale{i}", "email": f"bench.sale{i}.{int(start)}@example.com"})
    t0 = time.time()
    api("POST", "/api/v1/subscriptions", {"member_id": m["id"], "plan_id": plan["id"], "start_date": start_date, "paid_through": paid})
    user = None
    while True:
        if user is None: user = api("GET", f"/api/v1/members/{m['id']}").get("kisi_user_id")
        if user is not None and oracle(user, lock): break
        if time.time() - t0 > 300: break
        time.sleep(0.05)
    latencies.append(time.time() - t0)
    sample(f"sale {i+1}: {latencies[-1]:.2f} s")
    time.sleep(max(EVERY - (time.time() - t0), 0))
for _ in range(6):
    time.sleep(10); sample()
lat = sorted(latencies)
p95 = lat[min(len(lat) - 1, int(0.95 * len(lat) + 0.999) - 1)]
print(f"sale -> door: p50 {lat[len(lat)//2]:.2f} s, p95 {p95:.2f} s (nearest rank of {len(lat)}), max {lat[-1]:.2f} s; peak RSS {peak:.0f} MiB", flush=True)
proc.terminate(); proc.wait(timeout=30)
