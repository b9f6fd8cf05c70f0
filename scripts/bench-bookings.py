#!/usr/bin/env python3
"""Usage: scripts/bench-bookings.py [BOOKINGS] (after `swift build -c release --product boogyman`).

Booking -> studio door, at Kisi's 5 requests/second: runs `boogyman demo` (300 members, its built-in Kisi
sandbox at 5/s, a plan that opens the Spinning studio only for booked classes) and waits for the first full
sync. Then, for members of that plan with a Kisi user and no upcoming booking in the studio, it books a
class with places left (`POST /api/v1/classes/{id}/bookings`) and times, from the answer, until the sandbox's
oracle lets the member's Kisi user open the studio's door at the class's start. The Kisi writes each booking
cost are the audit log's Kisi writes for that member after the booking (counted 20 s later)."""
import datetime, json, os, re, subprocess, sys, time, urllib.error, urllib.parse, urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PORT, SPORT = 18120, 18121
DB = os.environ.get("BENCH_DATABASE", "/tmp/bench-bookings.sqlite")
LOG = DB + ".log"
for suffix in ("", "-wal", "-shm", ".master-key"):
    try: os.remove(DB + suffix)
    except FileNotFoundError: pass
log = open(LOG, "w")
demo = subprocess.Popen([os.environ.get("BOOGYMAN", ".build/release/boogyman"), "demo", "--port", str(PORT), "--sandbox-port", str(SPORT),
                         "--database", DB, "--admin-password", "correct horse battery"], stdout=log, stderr=subprocess.STDOUT)
def text(): return open(LOG).read()
token = None
while token is None:
    if demo.poll() is not None: sys.exit("demo ended:\n" + text()[-3000:])
    m = re.search(r"API token:\s+(\S+)", text())
    if m: token = m.group(1)
    time.sleep(1)
def api(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v1{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read() or b"null")
def oracle(user, lock, at):
    q = urllib.parse.urlencode({"user_id": user, "lock_id": lock, "at": at})
    req = urllib.request.Request(f"http://127.0.0.1:{SPORT}/_sandbox/oracle?{q}", headers={"X-Sandbox-Admin-Key": "sandbox-admin"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read()).get("allowed")
def items(x): return x.get("items", x) if isinstance(x, dict) else x
try:
    start = time.time()
    while True:  # the first full sync: done when no long run is under way and a full look was acted on
        st = api("GET", "/sync/status")
        if not st.get("progress") and st.get("all_members_verified_at"): break
        if time.time() - start > 900: sys.exit("first sync did not finish in 15 minutes")
        time.sleep(5)
    print(f"first full sync done after {time.time() - start:.0f} s", flush=True)
    rule = plan = None
    for p in items(api("GET", "/plans")):
        for r in items(api("GET", f"/plans/{p['id']}/class-rules")):
            if r["door_mode"] == "booked_classes": rule, plan = r, p
    if not rule: sys.exit("no plan opens a studio only for booked classes")
    studio = api("GET", f"/studios/{rule['studio_id']}")
    lock = studio["kisi_lock_ids"][0]
    today = datetime.date.today()
    print(f"plan {plan['name']}: studio {studio['name']} (lock {lock}) only for booked classes", flush=True)
    members = []
    for s in items(api("GET", f"/subscriptions?plan_id={plan['id']}&limit=200")):
        m = api("GET", f"/members/{s['member_id']}")
        if m.get("kisi_user_id") and m["id"] not in [x["id"] for x in members]: members.append(m)
    latencies, writes = [], []
    for m in members:
        if len(latencies) >= N: break
        upcoming = [b for b in items(api("GET", f"/bookings?member_id={m['id']}&from={today.isoformat()}"))
                    if b.get("status") in ("booked", "promoted") and b.get("occurrence", {}).get("studio_id") == studio["id"]]
        if upcoming: continue
        soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=20)
        occurrences = [o for o in items(api("GET", f"/class-occurrences?studio_id={studio['id']}&from={today.isoformat()}"
                                             f"&until={(today + datetime.timedelta(days=6)).isoformat()}"))
                       if o["places_left"] > 0 and not o.get("cancellation")
                       and datetime.datetime.fromisoformat(o["starts_at"].replace("Z", "+00:00")) > soon]
        if not occurrences: break
        o = occurrences[0]
        before = time.time()
        try:
            booking = api("POST", f"/classes/{o['class_id']}/bookings", {"member_id": m["id"], "date": o["date"], "waitlist": False})
        except urllib.error.HTTPError as e:
            print(f"  {m['first_name']} {m['last_name']}: {e.code} {e.read()[:160]!r}", flush=True); continue
        t0 = time.time()
        while not oracle(m["kisi_user_id"], lock, o["starts_at"]):
            if time.time() - t0 > 120: break
            time.sleep(0.05)
        latencies.append(time.time() - t0)
        time.sleep(20)
        entries = items(api("GET", f"/audit?member_id={m['id']}&limit=100"))
        # The audit log's times are whole seconds: from the second before the booking (the member's previous
        # writes are at least 20 s older).
        since = datetime.datetime.fromtimestamp(int(before) - 1, datetime.timezone.utc)
        w = [e for e in entries if e.get("kisi_object_type") and datetime.datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) >= since]
        writes.append(len(w))
        print(f"  {o['name']} {o['starts_at']}: door open in the oracle after {latencies[-1]:.2f} s; Kisi writes {len(w)} "
              f"({', '.join(e['action'] for e in w)})", flush=True)
    lat = sorted(latencies)
    if not lat: sys.exit("no booking made")
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat) + 0.999) - 1)]
    print(f"{len(lat)} bookings: booking -> door p50 {lat[len(lat)//2]:.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s; "
          f"Kisi writes per booking {sum(writes) / len(writes):.2f} (min {min(writes)}, max {max(writes)})", flush=True)
finally:
    demo.terminate()
    try: demo.wait(timeout=30)
    except subprocess.TimeoutExpired: demo.kill()
