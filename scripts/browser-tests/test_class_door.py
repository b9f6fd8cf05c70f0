"""Browser test: a booked class opens the studio door in Kisi for the booked member, inside the class's door
window only. Runs against the Kisi-connected demo after test_admin_ui.py has connected it (see
scripts/run-browser-tests.sh).

A member of Old Town basic (whose plan opens the Spinning studio only for booked classes) books the last place
of a one-off class tomorrow at 12:00 from the admin UI; the sandbox's oracle then opens the studio door for
them from 11:45 to 13:15 club time and at no other time, keeps it shut for a member of the same plan who did
not book, and opens the club entrance for both as their subscriptions say.

test_admin_ui.py ends by disconnecting Kisi; this test connects it again through the wizard when needed.

Environment: BOOGYMAN_URL, SANDBOX_URL, SANDBOX_API_KEY, OWNER_EMAIL, OWNER_PASSWORD, SCREENSHOT_DIR.
"""
import datetime
import json
import os
import time
import unittest
import urllib.parse
import urllib.request
import uuid
import zoneinfo

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import new_driver, sign_in

BASE = os.environ["BOOGYMAN_URL"].rstrip("/")
SANDBOX = os.environ["SANDBOX_URL"].rstrip("/")
SANDBOX_API_KEY = os.environ["SANDBOX_API_KEY"]
OWNER_EMAIL = os.environ["OWNER_EMAIL"]
OWNER_PASSWORD = os.environ["OWNER_PASSWORD"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", ".build/browser-screenshots")
ZONE = zoneinfo.ZoneInfo("Europe/Bucharest")
SPINNING_LOCK = 5003  # the demo's Spinning studio door
ENTRANCE_LOCK = 5001  # Old Town's entrance


def oracle(user_id, lock_id, at):
    """The sandbox's verdict for a Kisi user at a lock at an instant."""
    query = urllib.parse.urlencode({"user_id": user_id, "lock_id": lock_id, "at": at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    request = urllib.request.Request(SANDBOX + "/_sandbox/oracle?" + query, headers={"X-Sandbox-Admin-Key": "sandbox-admin"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class ClassDoorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.driver = new_driver()
        cls.wait = WebDriverWait(cls.driver, 15)
        sign_in(cls.driver, cls.wait, BASE, OWNER_EMAIL, OWNER_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def ensure_connected(self):
        """Connects Kisi through the Settings wizard unless it is connected, then waits for the sync to lead."""
        driver = self.driver
        driver.get(BASE + "/admin/settings")
        if driver.find_elements(By.CSS_SELECTOR, "form[action='/admin/settings/kisi'] [name=api_key]"):
            driver.find_element(By.NAME, "api_key").send_keys(SANDBOX_API_KEY)
            base = driver.find_element(By.NAME, "base_url")
            base.clear()
            base.send_keys(SANDBOX)
            driver.find_element(By.CSS_SELECTOR, "form[action='/admin/settings/kisi'] button[type=submit]").click()
            self.wait.until(lambda d: d.find_elements(By.ID, "kisi-test-result"))
        deadline = time.time() + 60
        while time.time() < deadline:
            driver.get(BASE + "/admin")
            if driver.find_element(By.ID, "leader").text != "none yet" and not driver.find_elements(By.ID, "not-connected"):
                return
            time.sleep(1)
        self.fail("the sync did not take up the Kisi connection within 60 s")

    def member_with_plan(self, first, plan):
        driver = self.driver
        driver.get(BASE + "/admin/members/new")
        driver.find_element(By.ID, "first_name").send_keys(first)
        driver.find_element(By.ID, "last_name").send_keys("Classgoer")
        email = "c-%s@example.com" % uuid.uuid4().hex[:10]
        driver.find_element(By.ID, "member-email").send_keys(email)
        driver.find_element(By.ID, "save-member").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "door-access"))
        member_id = driver.current_url.split("/admin/members/")[1].split("?")[0]
        today = datetime.datetime.now(ZONE).date()
        Select(driver.find_element(By.ID, "sell-plan")).select_by_visible_text(plan)
        driver.execute_script("arguments[0].value = arguments[1];", driver.find_element(By.ID, "sell-start"), (today - datetime.timedelta(days=1)).isoformat())
        driver.execute_script("arguments[0].value = arguments[1];", driver.find_element(By.ID, "sell-paid"), (today + datetime.timedelta(days=30)).isoformat())
        driver.find_element(By.ID, "sell").click()
        self.wait.until(lambda d: "done=sold" in d.current_url)
        return member_id, email

    def kisi_user_id(self, member_id, timeout=150):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.driver.get(BASE + "/admin/members/" + member_id)
            found = self.driver.find_elements(By.ID, "kisi-user-id")
            if found:
                return int(found[0].text)
            time.sleep(2)
        self.fail("the sync did not create a Kisi user for the member within %d s" % timeout)

    def eventually_allowed(self, user, lock, at=None, timeout=90):
        """Whether the sandbox opens `lock` for `user` at `at` (now when None) within `timeout` seconds of asking."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            answer = oracle(user, lock, at or datetime.datetime.now(ZONE))
            if answer.get("allowed"):
                return True
            time.sleep(1)
        print("still shut:", answer)
        return False

    def test_booked_window_opens_the_studio_door_only_then(self):
        driver = self.driver
        self.ensure_connected()
        booker, booker_email = self.member_with_plan("Bea", "Old Town basic")
        bystander, _ = self.member_with_plan("Ben", "Old Town basic")

        # A one-off Spinning class of one place tomorrow at 12:00 for 60 minutes.
        driver.get(BASE + "/admin/classes")
        studio = next(option.get_attribute("value") for option in Select(driver.find_element(By.ID, "studio-choice")).options
                      if option.text.endswith("· Spinning"))
        tomorrow = datetime.datetime.now(ZONE).date() + datetime.timedelta(days=1)
        driver.get(f"{BASE}/admin/classes/new?studio={studio}&kind=once")
        driver.find_element(By.NAME, "name").send_keys("Door window ride")
        capacity = driver.find_element(By.NAME, "capacity")
        capacity.clear()
        capacity.send_keys("1")
        driver.execute_script(
            "document.querySelector('[name=start_time]').value = '12:00';"
            "document.querySelector('[name=date]').value = arguments[0];", tomorrow.isoformat())
        driver.find_element(By.ID, "save-class").click()
        self.wait.until(lambda d: "done=class_created" in d.current_url)
        ride = driver.find_element(By.XPATH, "//section[@id='week-calendar']//a[@data-booked='0'][.//strong[text()='Door window ride']]")
        driver.get(ride.get_attribute("href"))
        self.wait.until(lambda d: "/on/" in d.current_url)
        driver.find_element(By.ID, "book-search").send_keys(booker_email)
        driver.find_element(By.ID, "book-search-go").click()
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#book-results .book-button")).click()
        self.wait.until(lambda d: "done=booked" in d.current_url)
        self.assertIn("1/1 booked", driver.find_element(By.ID, "class-fill").text)

        start = datetime.datetime.combine(tomorrow, datetime.time(12, 0), ZONE)
        end = start + datetime.timedelta(minutes=60)
        user = self.kisi_user_id(booker)
        other = self.kisi_user_id(bystander)
        self.assertTrue(self.eventually_allowed(user, SPINNING_LOCK, start), "the studio door opens for the booked class")
        inside = [start - datetime.timedelta(minutes=14), start + datetime.timedelta(minutes=30), end + datetime.timedelta(minutes=14)]
        outside = [start - datetime.timedelta(minutes=16), end + datetime.timedelta(minutes=16), start - datetime.timedelta(hours=3),
                   datetime.datetime.now(ZONE)]
        for at in inside:
            self.assertTrue(oracle(user, SPINNING_LOCK, at).get("allowed"), "open at %s" % at)
        for at in outside:
            self.assertFalse(oracle(user, SPINNING_LOCK, at).get("allowed"), "shut at %s" % at)
        self.assertFalse(oracle(other, SPINNING_LOCK, start).get("allowed"), "shut for a member of the plan who did not book")
        for member in (user, other):
            self.assertTrue(self.eventually_allowed(member, ENTRANCE_LOCK), "the club entrance follows the subscription")

        # The member page explains the window.
        driver.get(BASE + "/admin/members/" + booker)
        self.assertIn("door open 11:45–13:15", driver.find_element(By.ID, "upcoming-bookings").text)
        # The door panel agrees with the oracle: the studio waits for the booked class, named with its day.
        studio_row = driver.find_element(By.CSS_SELECTOR, "tr.door[data-lock-id='%d']" % SPINNING_LOCK)
        self.assertEqual(studio_row.get_attribute("data-allowed"), "no")
        self.assertIn("booked classes", studio_row.text)
        self.assertIn("Next, on %d %s: Spinning: booked class" % (tomorrow.day, tomorrow.strftime("%b")), studio_row.text)
        self.assertIn("door open 11:45–13:15.", studio_row.text)
        driver.get(BASE + "/admin/members/" + bystander)
        bystander_row = driver.find_element(By.CSS_SELECTOR, "tr.door[data-lock-id='%d']" % SPINNING_LOCK)
        self.assertIn("opens only around the member's booked classes", bystander_row.text)
        self.assertNotIn("Next", bystander_row.text)
        driver.get(BASE + "/admin/members/" + booker)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SCREENSHOTS, "member-booked-window.png"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
