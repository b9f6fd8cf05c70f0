#!/usr/bin/env python3
"""Usage: scripts/bench-class-end.py BASE_URL API_TOKEN   (against a running `boogyman demo`, e.g. http://127.0.0.1:8080)

Class end -> Kisi slot moved. A new member of "Old Town basic" (the demo plan that opens the Spinning studio only
for booked classes) books three one-off Spinning classes: one starting in two minutes and lasting one, one
tomorrow, one the day after. Kisi holds the first two windows; when the first window closes (15 minutes after its
class) the sync must move that slot to the third booking. Prints the delay from the window's close to the
`updateGrantValidity` write in the audit log (whole seconds, the audit log's resolution), about 17 minutes after
the start."""
import datetime, json, sys, time, urllib.error, urllib.request
from zoneinfo import ZoneInfo

BASE, TOKEN = sys.argv[1].rstrip("/") + "/api/v1", sys.argv[2]
ZONE = ZoneInfo("Europe/Bucharest")


def call(method, path, body=None):
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


studio = next(s["id"] for s in call("GET", "/studios?limit=100")[1]["items"] if s["name"] == "Spinning")
plan = next(p["id"] for p in call("GET", "/plans")[1]["items"] if p["name"] == "Old Town basic")
_, member = call("POST", "/members", {"first_name": "Slot", "last_name": "Mover", "email": "slot.mover.%d@example.com" % time.time()})
today = datetime.datetime.now(ZONE).date()
call("POST", "/subscriptions", {"member_id": member["id"], "plan_id": plan, "start_date": str(today),
                                "paid_through": str(today + datetime.timedelta(days=30))})
start = (datetime.datetime.now(ZONE) + datetime.timedelta(minutes=2)).replace(second=0, microsecond=0)
classes = [(start.date(), start.strftime("%H:%M"), 1), (today + datetime.timedelta(days=1), "10:00", 60),
           (today + datetime.timedelta(days=2), "10:00", 60)]
for index, (date, at, minutes) in enumerate(classes):
    _, created = call("POST", "/classes", {"studio_id": studio, "name": "Slot test %d" % index, "capacity": 5, "start_time": at,
                                           "duration_minutes": minutes, "date": str(date)})
    status, booking = call("POST", "/classes/%s/bookings" % created["id"], {"member_id": member["id"], "date": str(date)})
    if status != 201:
        sys.exit("booking %d refused: %s" % (index, booking))
closes = start + datetime.timedelta(minutes=1 + 15)
print("member", member["id"], "- the first window closes at", closes.isoformat(), flush=True)
while datetime.datetime.now(ZONE) < closes + datetime.timedelta(minutes=3):
    moves = [e for e in call("GET", "/audit?member_id=%s&limit=100" % member["id"])[1]["items"] if e["action"] == "updateGrantValidity" and e.get("finished_at")]
    if moves:
        at = datetime.datetime.fromisoformat(moves[0]["finished_at"].replace("Z", "+00:00"))
        print("slot moved (%s) at %s: %.0f s after the window closed" % (moves[0]["status"], at.isoformat(), (at - closes).total_seconds()))
        break
    time.sleep(1)
else:
    sys.exit("the slot did not move within 3 minutes of the window's close")
