#!/usr/bin/env python3
"""Two BooGYMan replicas on one PostgreSQL: kill -9 the sync leader and prove the other takes over.

    BOOGYMAN_TEST_POSTGRES_URL=postgres://user:pw@127.0.0.1:5432/db \
        python3 scripts/replica-failover-test.py [.build/debug/boogyman]

The URL's user must be allowed to CREATE DATABASE: the test works in a fresh database of its own
and drops it at the end. Everything runs on 127.0.0.1 and stops by itself (every wait is bounded).

Steps: a Kisi sandbox (demo seed, Kisi's 5 requests/second), `kisi connect`, two `boogyman serve`
replicas; a club, a plan and member sales loaded through both replicas' JSON API; kill -9 of the
leader part-way; then it measures the takeover (kill -> the survivor reports itself leader, and
-> the next Kisi request accepted by the sandbox) and asserts that
  * the sandbox converges: for every member, the sandbox's oracle agrees with BooGYMan's door rule,
  * no duplicate writes: one Kisi user per e-mail, no user deleted, one role assignment per user and
    group, and the write journal shows no create made twice,
  * the rate limit held across both replicas: the sandbox's max_per_second <= 5 and no 429,
  * failover within 30 s.
It also proves that a second server on one SQLite file is refused. Prints the figures that
BENCHMARKS.md records.
"""
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ADMIN = {"X-Sandbox-Admin-Key": "sandbox-admin"}
DEMO_KEY = "kisi-sandbox-demo-owner-key"
FAILOVER_TARGET_S = 30.0
RATE_LIMIT = 5
MEMBERS_BEFORE_KILL = int(os.environ.get("FAILOVER_MEMBERS_BEFORE", "16"))
MEMBERS_AFTER_KILL = int(os.environ.get("FAILOVER_MEMBERS_AFTER", "16"))
CONVERGE_TIMEOUT_S = 300

failures = []
passes = []


def check(condition, message):
    print(("  ok   " if condition else "  FAIL ") + message, flush=True)
    (passes if condition else failures).append(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def wait_for(what, condition, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


def find_psql():
    found = shutil.which("psql")
    if found:
        return found
    import glob
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    if not candidates:
        raise SystemExit("psql not found")
    return candidates[-1]


class Processes:
    def __init__(self, workdir):
        self.workdir = workdir
        self.running = {}

    def start(self, name, args, env):
        log = open(os.path.join(self.workdir, name + ".log"), "w")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.running[name] = process
        return process

    def log(self, name):
        with open(os.path.join(self.workdir, name + ".log")) as f:
            return f.read()

    def stop_all(self):
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def sqlite_single_writer(binary, workdir, env):
    print("\n-- SQLite: one server per database file", flush=True)
    database = os.path.join(workdir, "single.sqlite")
    env = dict(env, BOOGYMAN_DATABASE=database)
    env.pop("BOOGYMAN_MASTER_KEY", None)
    first = subprocess.Popen([binary, "serve", "--port", str(free_port())], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the lock file", lambda: os.path.exists(database + ".lock") and open(database + ".lock").read().strip(), 60)
        second = subprocess.run([binary, "serve", "--port", str(free_port())], env=env, capture_output=True,
                                text=True, timeout=60)
        message = second.stdout + second.stderr
        check(second.returncode != 0, f"a second server on {database} exits non-zero ({second.returncode})")
        check(database in message and f"process {first.pid}" in message,
              "its message names the file and the first server's PID: " + message.strip().splitlines()[-1])
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/boogyman")
    base_url = os.environ.get("BOOGYMAN_TEST_POSTGRES_URL")
    if not base_url:
        raise SystemExit("set BOOGYMAN_TEST_POSTGRES_URL to a PostgreSQL database whose user may CREATE DATABASE")
    psql = find_psql()
    workdir = tempfile.mkdtemp(prefix="boogyman-failover.")
    processes = Processes(workdir)
    database_name = "boogyman_failover_" + secrets.token_hex(6)
    parsed = urllib.parse.urlsplit(base_url)
    db_url = urllib.parse.urlunsplit(parsed._replace(path="/" + database_name))

    def sql(query, url=db_url):
        out = subprocess.run([psql, url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", query],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise SystemExit(f"psql failed: {out.stderr}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("BOOGYMAN_")}
    sql(f"CREATE DATABASE {database_name}", base_url)
    try:
        sqlite_single_writer(binary, workdir, base_env)
        run(binary, processes, sql, db_url, base_env)
    finally:
        processes.stop_all()
        sql(f"DROP DATABASE IF EXISTS {database_name} WITH (FORCE)", base_url)
        if failures:
            print(f"\nlogs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print("\nfailed: " + "; ".join(failures))
    print(f"\nfailover: {len(passes)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


def run(binary, processes, sql, db_url, base_env):
    print("\n-- Two replicas on one PostgreSQL, kill -9 of the leader", flush=True)
    env = dict(base_env, BOOGYMAN_DATABASE=db_url, BOOGYMAN_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
               BOOGYMAN_LOG_LEVEL="info")
    sandbox_port = free_port()
    kisi = f"http://127.0.0.1:{sandbox_port}"
    processes.start("sandbox", [binary, "sandbox", "--port", str(sandbox_port)], env)
    wait_for("the sandbox", lambda: http("GET", kisi + "/_sandbox/stats", headers=ADMIN)[0] == 200, 60)
    _, state = http("GET", kisi + "/_sandbox/state?organization_id=1", headers=ADMIN)
    organization = state["organizations"][0]
    place = organization["places"][0]
    locks = [lock["id"] for lock in organization["locks"] if lock.get("place_id") == place["id"]][:2]
    if not locks:
        locks = [lock["id"] for lock in organization["locks"]][:2]

    subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([binary, "kisi", "connect", "--api-key", DEMO_KEY, "--base-url", kisi], env=env, check=True,
                   capture_output=True, timeout=120)
    token = subprocess.run([binary, "token", "create", "--name", "failover-test"], env=env, check=True,
                           capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1].strip()
    auth = {"Authorization": "Bearer " + token}

    replicas = {}
    for name in ["replica-a", "replica-b"]:
        port = free_port()
        replicas[name] = f"http://127.0.0.1:{port}"
        processes.start(name, [binary, "serve", "--port", str(port)], dict(env, BOOGYMAN_REPLICA_ID=name))
        wait_for(name + " /healthz", lambda: http("GET", replicas[name] + "/healthz")[0] == 200, 120)
        if name == "replica-a":
            # Start the second only once the first leads, so who leads is known rather than raced.
            wait_for("replica-a to lead", lambda: status(replicas["replica-a"], auth).get("leader", {}).get("replica_id") == "replica-a", 60)

    def api(replica, method, path, body=None):
        code, answer = http(method, replicas[replica] + "/api/v1" + path, body, auth)
        if code >= 300:
            raise SystemExit(f"{method} {path} on {replica}: {code} {answer}")
        return answer

    club = api("replica-a", "POST", "/clubs", {"name": "Failover Club", "time_zone": "Europe/Bucharest",
                                              "kisi_place_id": place["id"], "kisi_lock_ids": locks})
    plan = api("replica-b", "POST", "/plans", {"name": "Failover plan", "club_ids": [club["id"]]})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    paid = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 40 * 86400))
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
    members = []
    run_id = secrets.token_hex(3)

    def sell(count, through):
        for i in range(count):
            replica = through[len(members) % len(through)]
            n = len(members)
            member = api(replica, "POST", "/members", {"first_name": "Fail", "last_name": f"Over{n}",
                                                        "email": f"failover{n}.{run_id}@example.com"})
            api(replica, "POST", "/subscriptions", {"member_id": member["id"], "plan_id": plan["id"],
                                                    "start_date": start, "paid_through": paid})
            members.append(member)

    loaded_at = time.monotonic()
    sell(MEMBERS_BEFORE_KILL, ["replica-a", "replica-b"])
    # Meanwhile the standby reads all of Kisi too (a dry run): its requests share the key's rate
    # limit with the leader's writes through the database.
    import threading
    dry_run = {}

    def standby_dry_run():
        dry_run["result"] = http("POST", replicas["replica-b"] + "/api/v1/sync/plan", {}, auth, timeout=120)

    dry_run_thread = threading.Thread(target=standby_dry_run, daemon=True)
    dry_run_thread.start()
    # Let the leader get into the middle of its Kisi work before killing it.
    wait_for("the leader to write to Kisi", lambda: int(sql("SELECT count(*) FROM kisi_writes WHERE action = 'createUser'")[0][0]) >= 3, 120)
    leader = status(replicas["replica-a"], auth)["leader"]
    leader_name, old_token = leader["replica_id"], leader["fencing_token"]
    survivor = "replica-b" if leader_name == "replica-a" else "replica-a"
    print(f"  leader {leader_name} (token {old_token}); kill -9 it while the sync is busy", flush=True)
    kill_wall = time.time()
    kill_mono = time.monotonic()
    processes.running[leader_name].send_signal(signal.SIGKILL)
    processes.running[leader_name].wait(timeout=10)
    # Keep selling through the survivor while nobody leads: these changes wait in the change log.
    sell(MEMBERS_AFTER_KILL, [survivor])

    new = wait_for(f"{survivor} to lead", lambda: (lambda s: s if s.get("leader", {}).get("replica_id") == survivor
                                                    and s["leader"]["live"] else None)(status(replicas[survivor], auth)),
                   FAILOVER_TARGET_S + 30)
    takeover_s = time.monotonic() - kill_mono
    resumed = wait_for("a Kisi request after the kill", lambda: [t for t in accepted_at(kisi) if t > kill_wall + 1.0], 60)
    resumed_s = min(resumed) - kill_wall
    print(f"  takeover: {survivor} leads with token {new['leader']['fencing_token']} {takeover_s:.1f} s after the kill; "
          f"Kisi writes resumed {resumed_s:.1f} s after it", flush=True)
    check(new["leader"]["fencing_token"] > old_token, f"the fencing token grew ({old_token} -> {new['leader']['fencing_token']})")
    check(takeover_s <= FAILOVER_TARGET_S, f"failover {takeover_s:.1f} s <= {FAILOVER_TARGET_S:.0f} s")

    def converged():
        if status(replicas[survivor], auth)["queue_depth"] != 0:
            return False
        _, kisi_state = http("GET", kisi + "/_sandbox/state?organization_id=1", headers=ADMIN)
        users = {u["email"].lower(): u["id"] for u in kisi_state["organizations"][0]["users"]}
        for member in members:
            user = users.get(member["email"].lower())
            if user is None:
                return False
            access = api(survivor, "GET", f"/members/{member['id']}/access")
            for door in access["doors"]:
                _, oracle = http("GET", f"{kisi}/_sandbox/oracle?user_id={user}&lock_id={door['lock_id']}", headers=ADMIN)
                if oracle["allowed"] != door["allowed"]:
                    return False
        return True

    wait_for("the sandbox to converge", converged, CONVERGE_TIMEOUT_S, interval=1.0)
    dry_run_thread.join(timeout=120)
    check(dry_run.get("result", (None,))[0] == 200,
          "the standby's dry run (reading all of Kisi beside the leader's writes) answered 200")
    converged_s = time.monotonic() - loaded_at
    check(True, f"the sandbox's oracle agrees with BooGYMan for all {len(members)} members")

    _, kisi_state = http("GET", kisi + "/_sandbox/state?organization_id=1", headers=ADMIN)
    org = kisi_state["organizations"][0]
    emails = [u["email"].lower() for u in org["users"]]
    check(len(emails) == len(set(emails)), "one Kisi user per e-mail")
    events = org.get("events", [])
    check(not [e for e in events if e["action"] == "destroy" and e["object_type"] == "User"] and
          not [e for e in events if e["type"] == "user.destroy"], "no Kisi user was deleted")
    pairs = [(r["user_id"], r["applies_to_id"]) for r in org["role_assignments"] if r["applies_to_type"] == "group"]
    check(len(pairs) == len(set(pairs)), "one role assignment per user and group")
    twice = sql("SELECT action, member_id, plan_id, count(*) FROM kisi_writes WHERE status = 'succeeded' "
                "AND action IN ('createUser', 'createGrant', 'createGroup', 'addGroupLock', 'inviteUser') "
                "GROUP BY action, member_id, plan_id, kisi_object_type, request_json HAVING count(*) > 1")
    check(not twice, f"the journal shows no create made twice ({twice[:3]})")
    statuses = dict((row[0], int(row[1])) for row in sql("SELECT status, count(*) FROM kisi_writes GROUP BY status"))
    print(f"  journal: {statuses}", flush=True)
    for row in sql("SELECT action, coalesce(kisi_status::text, '-'), left(coalesce(error, ''), 200) FROM kisi_writes "
                   "WHERE status = 'failed' ORDER BY id LIMIT 5"):
        print(f"  failed write: {row}", flush=True)
    checked = sql("SELECT count(*) FROM kisi_writes WHERE error LIKE 'outcome checked by a later run%'")[0][0]
    print(f"  {checked} write(s) in flight at the kill were looked up in Kisi by the new leader before anything was redone",
          flush=True)
    check(statuses.get("pending", 0) == 0 and statuses.get("unknown", 0) == 0,
          "no journal entry left pending or unknown (the killed leader's in-flight write was checked by the new one)")

    _, stats = http("GET", kisi + "/_sandbox/stats", headers=ADMIN)
    peak = max((k["max_per_second"] for k in stats["keys"].values()), default=0)
    rejected = sum(k["rejected"] for k in stats["keys"].values())
    accepted = sorted(t for k in stats["keys"].values() for t in k["accepted_at"])
    check(peak <= RATE_LIMIT, f"at most {RATE_LIMIT} Kisi requests in any second across both replicas (max_per_second {peak})")
    check(rejected == 0, f"no request rejected with 429 ({rejected})")
    span = (accepted[-1] - accepted[0]) if len(accepted) > 1 else 0
    throughput = len(accepted) / span if span else 0
    after = [t for t in accepted if t >= min(resumed)]
    after_span = (after[-1] - after[0]) if len(after) > 1 else 0
    after_rate = len(after) / after_span if after_span else 0
    print(f"\nFAILOVER takeover_s={takeover_s:.1f} kisi_resumed_s={resumed_s:.1f} target_s={FAILOVER_TARGET_S:.0f}", flush=True)
    print(f"THROUGHPUT kisi_requests={len(accepted)} over {span:.1f} s = {throughput:.2f}/s (limit {RATE_LIMIT}/s), "
          f"max_per_second={peak}; {len(members)} member sales converged {converged_s:.1f} s after the first", flush=True)
    print(f"THROUGHPUT after takeover: {len(after)} Kisi requests over {after_span:.1f} s = {after_rate:.2f}/s", flush=True)


def status(url, auth):
    code, body = http("GET", url + "/api/v1/sync/status", headers=auth, timeout=5)
    return body if code == 200 else {}


def accepted_at(kisi):
    _, stats = http("GET", kisi + "/_sandbox/stats", headers=ADMIN)
    return [t for k in stats["keys"].values() for t in k["accepted_at"]]


if __name__ == "__main__":
    main()
