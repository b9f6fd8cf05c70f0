"""Browser tests of the admin UI's pictures, complete lists, club time and phone layout, against a demo of
300 members without Kisi (see scripts/run-browser-tests.sh).

Environment: BOOGYMAN_URL, OWNER_EMAIL, OWNER_PASSWORD, SCREENSHOT_DIR, DEMO_DATABASE (the demo's SQLite
file). Door events are written straight into the demo's database, as Kisi's webhook deliveries would be,
and the charts are checked against counts this test works out itself from its own events.
"""
import datetime
import os
import sqlite3
import unittest
import uuid
import zoneinfo

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import new_driver

BASE = os.environ["BOOGYMAN_URL"].rstrip("/")
OWNER_EMAIL = os.environ["OWNER_EMAIL"]
OWNER_PASSWORD = os.environ["OWNER_PASSWORD"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", ".build/browser-screenshots")
DATABASE = os.environ["DEMO_DATABASE"]
PHONE = (390, 844)


def query(sql, *args):
    with sqlite3.connect(DATABASE, timeout=10) as db:
        return db.execute(sql, args).fetchall()


def clubs():
    """(name, Kisi place, zone) of every club with a Kisi place."""
    return [(name, place, zoneinfo.ZoneInfo(zone)) for name, place, zone in
            query("SELECT name, kisi_place_id, time_zone FROM clubs WHERE kisi_place_id IS NOT NULL ORDER BY name")]


EVENTS = {}


def seed_door_events():
    """Check-ins for every club: today at a few local hours, and on earlier days, plus refusals."""
    if EVENTS:
        return EVENTS
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for index, (name, place, zone) in enumerate(clubs()):
        local_now = now.astimezone(zone)
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        # Today: hour h gets (h + index) % 4 + 1 check-ins, for the hours already begun.
        for hour in range(0, local_now.hour + 1):
            moment = midnight + datetime.timedelta(hours=hour, minutes=7)
            if moment > local_now:
                break
            count = (hour + index) % 4 + 1
            rows += [(moment, place, True)] * count
        rows += [(midnight + datetime.timedelta(minutes=1), place, False)] * 2
        # The last 29 days: day d ago gets d % 5 + index check-ins at 18:xx local.
        for days_ago in range(1, 30):
            day = (local_now - datetime.timedelta(days=days_ago)).date()
            moment = datetime.datetime.combine(day, datetime.time(18, 20), tzinfo=zone)
            rows += [(moment, place, True)] * (days_ago % 5 + index)
    with sqlite3.connect(DATABASE, timeout=10) as db:
        for moment, place, success in rows:
            stamp = moment.astimezone(datetime.timezone.utc).timestamp()
            db.execute(
                "INSERT INTO door_events (kisi_uuid, occurred_at, lock_id, lock_name, place_id, kisi_user_id, actor_name, success, message, received_at)"
                " VALUES (?, ?, NULL, 'Entrance', ?, NULL, 'Test', ?, ?, ?)",
                (str(uuid.uuid4()), stamp, place, 1 if success else 0, None if success else "Access denied", stamp))
    # The demo starts with weeks of door history of its own: the charts show it with this test's events,
    # so what each bar must say is counted here from every stored check-in, by the club's local hour and day.
    for name, place, zone in clubs():
        local_now = now.astimezone(zone)
        today, days, evenings = {}, {}, {}
        for (stamp,) in query("SELECT occurred_at FROM door_events WHERE success = 1 AND place_id = ?", place):
            local = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).astimezone(zone)
            days[local.date().isoformat()] = days.get(local.date().isoformat(), 0) + 1
            if local.date() == local_now.date():
                today[local.hour] = today.get(local.hour, 0) + 1
            if local.hour == 18:
                evenings[local.date().isoformat()] = evenings.get(local.date().isoformat(), 0) + 1
        days.setdefault(local_now.date().isoformat(), 0)
        EVENTS[name] = {"today": today, "days": days, "evenings": evenings}
    return EVENTS


class AdminPictures(unittest.TestCase):
    def setUp(self):
        self.driver = new_driver()
        self.wait = WebDriverWait(self.driver, 20)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        self.sign_in()

    def tearDown(self):
        self.driver.quit()

    def open(self, path):
        self.driver.get(BASE + path)
        self.assertNotIn("Server problem", self.driver.page_source)

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, name + ".png"))

    def full_shot(self, name):
        """The whole page, however long: the window grows to the document's height for the picture."""
        width = self.driver.get_window_size()["width"]
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(width, min(max(height + 120, 600), 6000))
        self.shot(name)

    def sign_in(self):
        self.open("/admin/login")
        self.driver.find_element(By.ID, "email").send_keys(OWNER_EMAIL)
        self.driver.find_element(By.ID, "password").send_keys(OWNER_PASSWORD)
        self.driver.find_element(By.ID, "sign-in").click()
        self.wait.until(lambda d: "/admin/login" not in d.current_url)

    def test_a_dashboard_charts_show_the_stored_check_ins(self):
        expected = seed_door_events()
        self.open("/admin")
        articles = self.driver.find_elements(By.CSS_SELECTOR, "#pictures article.club-chart")
        self.assertEqual(len(articles), len(clubs()))
        for article in articles:
            name = article.find_element(By.TAG_NAME, "h3").text.split(" ")[0]
            matches = [club for club in expected if article.find_element(By.TAG_NAME, "h3").text.startswith(club)]
            self.assertEqual(len(matches), 1, name)
            events = expected[matches[0]]
            hourly = {int(bar.get_attribute("data-hour")): int(bar.get_attribute("data-count"))
                      for bar in article.find_elements(By.CSS_SELECTOR, "svg.hourly rect.bar")}
            self.assertEqual(len(hourly), 24)
            for hour in range(24):
                self.assertEqual(hourly[hour], events["today"].get(hour, 0), "%s at %02d:00" % (matches[0], hour))
            daily = {bar.get_attribute("data-day"): int(bar.get_attribute("data-count"))
                     for bar in article.find_elements(By.CSS_SELECTOR, "svg.daily rect.bar")}
            self.assertEqual(len(daily), 30)
            for day, count in daily.items():
                self.assertEqual(count, events["days"].get(day, 0), "%s on %s" % (matches[0], day))
            # The tallest bar is drawn tallest: heights follow the counts.
            bars = article.find_elements(By.CSS_SELECTOR, "svg.daily rect.bar")
            tallest = max(bars, key=lambda bar: float(bar.get_attribute("height")))
            self.assertEqual(int(tallest.get_attribute("data-count")), max(daily.values()))
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, "#door-health"))
        self.full_shot("dashboard")
        self.driver.set_window_size(*PHONE)
        self.open("/admin")
        self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), PHONE[0] + 10)
        self.full_shot("dashboard-phone")

    def test_b_attendance_heat_map_and_churn_list(self):
        expected = seed_door_events()
        self.open("/admin/attendance")
        sections = self.driver.find_elements(By.CSS_SELECTOR, "section.club-heat")
        self.assertEqual(len(sections), len(clubs()))
        for section in sections:
            title = section.find_element(By.TAG_NAME, "h2").text
            club = [name for name in expected if title.startswith(name)][0]
            cells = section.find_elements(By.CSS_SELECTOR, "svg.heat rect.cell")
            self.assertEqual(len(cells), 7 * 24)
            # The last four weeks (today excluded) at 18:00 local: the days 1-28 ago.
            today = datetime.date.fromisoformat(max(expected[club]["days"]))
            evening = sum(count for day, count in expected[club]["evenings"].items()
                          if 1 <= (today - datetime.date.fromisoformat(day)).days <= 28)
            at_six = sum(int(cell.get_attribute("data-count")) for cell in cells if cell.get_attribute("data-hour") == "18")
            self.assertEqual(at_six, evening, club)
        count = self.driver.find_element(By.ID, "churn-count").text
        self.assertRegex(count, r"^\d+ member")
        self.full_shot("attendance")
        csv = self.driver.execute_script(
            "var x = new XMLHttpRequest(); x.open('GET', '/admin/attendance/churn.csv?days=30', false); x.send(); return x.responseText;")
        self.assertTrue(csv.startswith("member_id,name,email,phone,clubs,plans,last_check_in_utc,days_since"))
        self.driver.set_window_size(*PHONE)
        self.open("/admin/attendance")
        self.full_shot("attendance-phone")

    def test_c_page_through_all_300_members(self):
        total = query("SELECT COUNT(*) FROM members")[0][0]
        self.assertGreaterEqual(total, 300)
        self.open("/admin/members")
        self.assertEqual(int(self.driver.find_element(By.ID, "member-count").get_attribute("data-total")), total)
        seen = []
        statuses = {}
        pages = 0
        while True:
            pages += 1
            rows = self.driver.find_elements(By.CSS_SELECTOR, "#member-rows tr.member-row")
            self.assertTrue(rows)
            seen += [row.get_attribute("data-member-id") for row in rows]
            statuses.update({row.get_attribute("data-member-id"): row.find_element(By.CSS_SELECTOR, ".status-pill").get_attribute("data-status")
                             for row in rows})
            counter = self.driver.find_element(By.ID, "member-count")
            self.assertEqual(int(counter.get_attribute("data-last")), len(seen))
            for row in rows[:5]:
                self.assertTrue(row.find_element(By.CSS_SELECTOR, ".status-pill").text)
                self.assertTrue(row.find_element(By.CSS_SELECTOR, ".avatar").text)
            following = self.driver.find_elements(By.ID, "next-page")
            if not following:
                break
            following[0].click()
            self.assertLess(pages, 20)
        self.assertEqual(len(seen), total)
        self.assertEqual(len(set(seen)), total, "no member twice")
        stored = {row[0] for row in query("SELECT id FROM members")}
        self.assertEqual({member.lower() for member in seen}, {str(member).lower() for member in stored})
        # The status filter reads through the whole list: every frozen member, and only them, page after page.
        self.open("/admin/members?status=frozen")
        frozen = []
        for _ in range(20):
            pills = self.driver.find_elements(By.CSS_SELECTOR, "#member-rows .status-pill")
            self.assertTrue(all(pill.get_attribute("data-status") == "frozen" for pill in pills))
            frozen += [row.get_attribute("data-member-id") for row in self.driver.find_elements(By.CSS_SELECTOR, "#member-rows tr.member-row")]
            following = self.driver.find_elements(By.ID, "next-page")
            if not following:
                break
            following[0].click()
        self.assertTrue(frozen, "the demo has frozen members")
        self.assertEqual(len(set(frozen)), len(frozen))
        self.assertEqual(set(frozen), {member for member, status in statuses.items() if status == "frozen"})
        # The subscriptions list pages too, and each row's state is its own.
        self.open("/admin/subscriptions")
        self.full_shot("subscriptions")
        self.driver.set_window_size(1280, 1000)
        subscriptions = query("SELECT COUNT(*) FROM subscriptions")[0][0]
        listed = []
        states = set()
        for _ in range(50):
            rows = self.driver.find_elements(By.CSS_SELECTOR, "#subscription-list tr.subscription-row")
            listed += [row.get_attribute("data-subscription-id") for row in rows]
            states |= {pill.get_attribute("data-status") for pill in self.driver.find_elements(By.CSS_SELECTOR, "#subscription-list .status-pill")}
            following = self.driver.find_elements(By.ID, "next-page")
            if not following:
                break
            following[0].click()
        self.assertEqual(len(listed), subscriptions)
        self.assertEqual(len(set(listed)), subscriptions)
        # The demo covers every situation; the list shows each subscription's own.
        for state in ("active", "frozen", "past_due", "not_started", "cancelled", "ended"):
            self.assertIn(state, states)
        self.open("/admin/subscriptions?status=not_started")
        for row in self.driver.find_elements(By.CSS_SELECTOR, "#subscription-list tr.subscription-row"):
            self.assertEqual(row.find_element(By.CSS_SELECTOR, ".status-pill").get_attribute("data-status"), "not_started")
            self.assertGreater(row.get_attribute("data-start"), datetime.date.today().isoformat())

    def test_d_phone_width_keeps_status_and_actions_in_view(self):
        self.driver.set_window_size(*PHONE)
        self.open("/admin/members")
        self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), PHONE[0] + 10)
        pill = self.driver.find_element(By.CSS_SELECTOR, "#member-rows tr.member-row .status-pill")
        self.assertTrue(pill.is_displayed())
        self.assertLessEqual(pill.rect["x"] + pill.rect["width"], PHONE[0])
        # The menu is collapsed behind a button and opens on a tap.
        nav = self.driver.find_element(By.ID, "main-nav")
        self.assertFalse(nav.is_displayed())
        self.driver.find_element(By.ID, "menu-toggle").click()
        self.assertTrue(nav.is_displayed())
        self.full_shot("members-phone-menu")
        self.driver.set_window_size(*PHONE)
        member = self.driver.find_element(By.CSS_SELECTOR, "#member-rows tr.member-row a.member-link").get_attribute("href")
        self.driver.get(member)
        summary = self.driver.find_element(By.ID, "access-summary")
        self.assertTrue(summary.is_displayed())
        self.assertLessEqual(summary.rect["x"] + summary.rect["width"], PHONE[0] + 1)
        for button in self.driver.find_elements(By.CSS_SELECTOR, "#sell"):
            self.assertLessEqual(button.rect["x"] + button.rect["width"], PHONE[0])
        self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), PHONE[0] + 10)
        self.full_shot("member-phone")
        self.driver.set_window_size(*PHONE)
        self.open("/admin/subscriptions")
        pill = self.driver.find_element(By.CSS_SELECTOR, "#subscription-list .status-pill")
        self.assertTrue(pill.is_displayed())
        self.assertLessEqual(pill.rect["x"] + pill.rect["width"], PHONE[0])
        self.full_shot("subscriptions-phone")

    def test_e_times_are_in_the_clubs_zone(self):
        seed_door_events()
        # The demo's door events name its members without Kisi users: those who stopped coming lead the
        # churn list with their last visit, not "none stored".
        self.open("/admin/attendance?days=14")
        stopped = []
        for row in self.driver.find_elements(By.CSS_SELECTOR, "#churn-list tr.churn-row"):
            if row.find_elements(By.CSS_SELECTOR, "time"):
                days = int(row.find_element(By.CSS_SELECTOR, ".meta").text.strip("()").split()[0])
                if days >= 20:
                    stopped.append(row.get_attribute("data-member-id"))
        self.assertTrue(stopped, "members who stopped coming 20-40 days ago show their last visit")
        # One of them checks in through a linked Kisi user 20 days ago: that visit is now their last,
        # shown in the local time.
        member_id = stopped[0]
        name, place, zone = clubs()[0]
        with sqlite3.connect(DATABASE, timeout=10) as db:
            db.execute("INSERT INTO kisi_links (id, kind, local_id, kisi_id) VALUES (?, 'member', ?, 777001)", (str(uuid.uuid4()).upper(), member_id))
            moment = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(days=20)
            db.execute(
                "INSERT INTO door_events (kisi_uuid, occurred_at, lock_id, lock_name, place_id, kisi_user_id, actor_name, success, message, received_at)"
                " VALUES (?, ?, NULL, 'Entrance', ?, 777001, 'Test', 1, NULL, ?)",
                (str(uuid.uuid4()), moment.timestamp(), place, moment.timestamp()))
        self.open("/admin/attendance?days=14")
        times = self.driver.find_elements(By.CSS_SELECTOR, "#churn-list time")
        self.assertTrue(times, "a member with a stored check-in shows its time")
        for element in times:
            instant = datetime.datetime.fromisoformat(element.get_attribute("datetime").replace("Z", "+00:00"))
            local = instant.astimezone(zoneinfo.ZoneInfo(element.get_attribute("data-zone")))
            text = local.strftime("%a ") + str(local.day) + local.strftime(" %b")
            if local.year != datetime.date.today().year:
                text += local.strftime(" %Y")
            self.assertEqual(element.text, text + local.strftime(", %H:%M"))
            self.assertEqual(element.get_attribute("title"), instant.strftime("%Y-%m-%d %H:%M:%S UTC"))
        linked = [t for t in times if abs(datetime.datetime.fromisoformat(t.get_attribute("datetime").replace("Z", "+00:00")) - moment).total_seconds() < 1]
        self.assertTrue(linked)
        gym_zone = min(clubs())[2]
        self.assertEqual(linked[0].get_attribute("data-zone"), str(gym_zone), "the gym's first club's zone")

    def test_f_every_page_at_desktop_and_phone_width(self):
        pages = ["members", "subscriptions", "activity", "plans", "clubs", "kisi/adoption", "audit", "settings", "account"]
        member = query("SELECT id FROM members ORDER BY last_name LIMIT 1")[0][0]
        for size, suffix in (((1280, 1000), ""), (PHONE, "-phone")):
            for page in pages + ["members/" + str(member).upper()]:
                self.driver.set_window_size(*size)
                self.open("/admin/" + page)
                name = "page-" + page.replace("/", "-").split("-")[0] if page.startswith("members/") else "page-" + page.replace("/", "-")
                if suffix:
                    self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), PHONE[0] + 10, page)
                self.full_shot(name + suffix if not page.startswith("members/") else "page-member" + suffix)


if __name__ == "__main__":
    unittest.main(verbosity=2)
