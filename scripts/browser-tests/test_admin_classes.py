"""Browser tests of classes and bookings in the admin UI, against a demo of 300 members without Kisi (see
scripts/run-browser-tests.sh): a manager schedules a one-off class of one place, the front desk's way of
booking fills it from the class page, the next booking waits, and the calendar shows the class full, on a
desktop and on a phone. Screenshots of the class pages go to SCREENSHOT_DIR.

Environment: BOOGYMAN_URL, OWNER_EMAIL, OWNER_PASSWORD, SCREENSHOT_DIR, DEMO_DATABASE (the demo's SQLite file,
read to find members whose plan includes the Spinning studio's classes).
"""
import datetime
import os
import sqlite3
import unittest
import zoneinfo

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import new_driver, sign_in

BASE = os.environ["BOOGYMAN_URL"].rstrip("/")
OWNER_EMAIL = os.environ["OWNER_EMAIL"]
OWNER_PASSWORD = os.environ["OWNER_PASSWORD"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", ".build/browser-screenshots")
DATABASE = os.environ["DEMO_DATABASE"]
PHONE = (390, 844)
DESKTOP = (1280, 1000)
ZONE = zoneinfo.ZoneInfo("Europe/Bucharest")


def query(sql, *args):
    with sqlite3.connect(DATABASE, timeout=10) as db:
        return db.execute(sql, args).fetchall()


def all_clubs_members():
    """E-mails and names of members holding an open-ended, never frozen All clubs subscription paid well ahead
    (unlimited classes in every studio), not blocked, most recent start first."""
    ahead = (datetime.datetime.now(ZONE).date() + datetime.timedelta(days=3)).isoformat()
    return query(
        "SELECT m.email, m.first_name || ' ' || m.last_name FROM members m JOIN subscriptions s ON s.member_id = m.id "
        "JOIN plans p ON p.id = s.plan_id WHERE p.name = 'All clubs' AND s.end_date IS NULL AND s.cancel_effective_date IS NULL "
        "AND s.paid_through >= ? AND s.start_date <= date('now') AND m.blocked_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM subscription_freezes f WHERE f.subscription_id = s.id) ORDER BY s.start_date DESC", ahead)


class ClassesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.driver = new_driver()
        cls.wait = WebDriverWait(cls.driver, 10)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        sign_in(cls.driver, cls.wait, BASE, OWNER_EMAIL, OWNER_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def shoot(self, name):
        """A screenshot at desktop and at phone width; the page is reloaded at each size."""
        for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
            self.driver.set_window_size(width, height)
            self.driver.refresh()
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(height + 140, 600), 4000))
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{label}.png"))
        self.driver.set_window_size(*DESKTOP)

    def studio_id(self, name):
        self.driver.get(BASE + "/admin/classes")
        select = Select(self.driver.find_element(By.ID, "studio-choice"))
        for option in select.options:
            if option.text.endswith("· " + name):
                return option.get_attribute("value")
        self.fail(f"no studio named {name}")

    def test_1_demo_calendar_is_full_of_classes(self):
        spinning = self.studio_id("Spinning")
        self.driver.get(f"{BASE}/admin/classes?studio={spinning}")
        blocks = self.driver.find_elements(By.CSS_SELECTOR, "#week-calendar a.cal-class")
        self.assertEqual(len(blocks), 13, "the demo's Spinning week: 5 morning, 5 evening, 2 HIIT, 1 weekend class")
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, ".cal-day-head.today"), "today is marked")
        booked = sum(int(block.get_attribute("data-booked")) for block in blocks)
        self.assertGreater(booked, 0, "the demo's members booked classes")
        self.shoot("classes-week")
        self.driver.get(f"{BASE}/admin/classes?studio={spinning}")
        first = self.driver.find_element(By.CSS_SELECTOR, "#week-calendar a.cal-class[data-state='full'], #week-calendar a.cal-class")
        first.click()
        self.wait.until(lambda d: "/on/" in d.current_url)
        self.assertTrue(self.driver.find_element(By.ID, "roster").is_displayed())
        self.shoot("class-page")

    def test_2_book_the_last_place_then_the_waitlist(self):
        driver = self.driver
        spinning = self.studio_id("Spinning")
        tomorrow = datetime.datetime.now(ZONE).date() + datetime.timedelta(days=1)
        # A manager schedules a one-off class of one place for tomorrow noon.
        driver.get(f"{BASE}/admin/classes/new?studio={spinning}&kind=once")
        driver.find_element(By.NAME, "name").send_keys("Last-place ride")
        driver.find_element(By.NAME, "instructor").send_keys("Radu Stan")
        for name, value in (("capacity", "1"), ("duration_minutes", "45")):
            field = driver.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        driver.execute_script(
            "document.querySelector('[name=start_time]').value = '12:00';"
            "document.querySelector('[name=date]').value = arguments[0];", tomorrow.isoformat())
        self.shoot_form_once()
        driver.find_element(By.ID, "save-class").click()
        self.wait.until(lambda d: "done=class_created" in d.current_url)
        ride = driver.find_element(By.XPATH, "//section[@id='week-calendar']//a[contains(@class, 'cal-class')][.//strong[text()='Last-place ride']]")
        self.assertEqual(ride.get_attribute("data-state"), "open")
        self.assertIn("0/1", ride.text)
        ride.click()
        self.wait.until(lambda d: "/on/" in d.current_url)
        class_url = driver.current_url.split("?")[0]

        candidates = all_clubs_members()
        self.assertGreaterEqual(len(candidates), 2)
        (first_email, first_name), (second_email, second_name) = candidates[0], candidates[1]
        for email, expected_button, notice in ((first_email, "Book", "Booked."), (second_email, "Add to waitlist", "waitlist")):
            search = driver.find_element(By.ID, "book-search")
            search.clear()
            search.send_keys(email)
            driver.find_element(By.ID, "book-search-go").click()
            button = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#book-results .book-button"))
            self.assertEqual(button.text, expected_button)
            button.click()
            self.wait.until(lambda d: "done=" in d.current_url)
            self.assertIn(notice, driver.find_element(By.CSS_SELECTOR, ".notice").text)

        roster = driver.find_element(By.ID, "roster").text
        waitlist = driver.find_element(By.ID, "waitlist").text
        self.assertIn(first_name, roster)
        self.assertNotIn(second_name, roster)
        self.assertIn(second_name, waitlist)
        self.assertIn("1/1 booked · 1 waiting", driver.find_element(By.ID, "class-fill").text)
        self.assertEqual(driver.find_element(By.ID, "class-state").text, "Full")
        self.shoot("class-page-full")

        # The calendar shows the class full, on a desktop and, as a day list, on a phone.
        driver.find_element(By.ID, "back-to-calendar").click()
        ride = driver.find_element(By.XPATH, "//section[@id='week-calendar']//a[contains(@class, 'cal-class')][.//strong[text()='Last-place ride']]")
        self.assertEqual(ride.get_attribute("data-state"), "full")
        self.assertIn("1/1 · Full", ride.text)
        driver.set_window_size(*PHONE)
        driver.refresh()
        self.assertFalse(driver.find_element(By.ID, "week-calendar").is_displayed(), "no seven squeezed columns on a phone")
        item = driver.find_element(By.XPATH, "//section[@id='day-list']//a[contains(@class, 'day-class')][.//strong[text()='Last-place ride']]")
        self.assertTrue(item.is_displayed())
        self.assertIn("state-full", item.get_attribute("class"))
        width = driver.execute_script("return document.documentElement.scrollWidth")
        self.assertLessEqual(width, PHONE[0], "nothing runs off the phone's screen")
        driver.set_window_size(*DESKTOP)

        # The member page lists the booking, and Book a class offers the studio's classes.
        driver.get(class_url)
        driver.find_element(By.XPATH, f"//section[@id='roster']//a[contains(., '{first_name}')]").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "member-classes"))
        self.assertIn("Last-place ride", driver.find_element(By.ID, "upcoming-bookings").text)
        self.shoot("member-classes")
        driver.find_element(By.ID, "book-class").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "book-studio"))
        self.shoot("member-book-class")

    def shoot_form_once(self):
        if not os.path.exists(os.path.join(SCREENSHOTS, "class-form-desktop.png")):
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, "class-form-desktop.png"))
            self.driver.set_window_size(*PHONE)
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, "class-form-phone.png"))
            self.driver.set_window_size(*DESKTOP)

    def test_3_plan_class_rules(self):
        plan = query("SELECT id FROM plans WHERE name = 'Old Town basic'")[0][0]
        self.driver.get(f"{BASE}/admin/plans/{plan}/edit")
        rules = self.driver.find_element(By.ID, "class-rules").text
        self.assertIn("8 classes a month · studio door open only for booked classes", rules)
        self.shoot("plan-class-rules")


if __name__ == "__main__":
    unittest.main(verbosity=2)
