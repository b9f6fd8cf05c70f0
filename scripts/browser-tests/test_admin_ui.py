"""Browser tests of BooGYMan's admin UI against a running demo (see scripts/run-browser-tests.sh).

Environment: BOOGYMAN_URL, SANDBOX_URL, SANDBOX_API_KEY, OWNER_EMAIL, OWNER_PASSWORD, SCREENSHOT_DIR.
The demo starts with Kisi not connected: the first test connects it through the wizard, the last one
disconnects it and revokes all managed access (unittest runs the tests in name order). Each test drives headless Chromium like a member of staff and checks the Kisi sandbox's own answer
("may this Kisi user open this lock now?") where door access is concerned.
"""
import datetime
import json
import os
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import new_driver

BASE = os.environ["BOOGYMAN_URL"].rstrip("/")
SANDBOX = os.environ["SANDBOX_URL"].rstrip("/")
SANDBOX_API_KEY = os.environ["SANDBOX_API_KEY"]
OWNER_EMAIL = os.environ["OWNER_EMAIL"]
OWNER_PASSWORD = os.environ["OWNER_PASSWORD"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", ".build/browser-screenshots")
DESK_EMAIL = "desk-%s@demo-gym.example" % uuid.uuid4().hex[:8]
DESK_PASSWORD = "front desk password 1"


def oracle(user_id, lock_id):
    """The sandbox's verdict for a Kisi user at a lock, now."""
    query = urllib.parse.urlencode({"user_id": user_id, "lock_id": lock_id})
    request = urllib.request.Request(SANDBOX + "/_sandbox/oracle?" + query, headers={"X-Sandbox-Admin-Key": "sandbox-admin"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def raw_request(path, session_cookie, form=None):
    """A request outside the browser, carrying the browser's session cookie; returns (status, body)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(BASE + path, data=data, headers={"Cookie": "bgm_session=" + session_cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class AdminUI(unittest.TestCase):
    def setUp(self):
        self.driver = new_driver()
        self.wait = WebDriverWait(self.driver, 20)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    def tearDown(self):
        self.driver.quit()

    # --- page actions -------------------------------------------------------------------------------

    def open(self, path):
        self.driver.get(BASE + path)

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(SCREENSHOTS, name + ".png"))

    def sign_in(self, email, password):
        self.open("/admin/login")
        self.driver.find_element(By.ID, "email").send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.ID, "sign-in").click()
        self.wait.until(lambda d: "/admin/login" not in d.current_url)

    def session_cookie(self):
        return self.driver.get_cookie("bgm_session")["value"]

    def set_value(self, element, value):
        # Date inputs take typed text in the browser's locale; setting the value is locale-free.
        self.driver.execute_script("arguments[0].value = arguments[1];", element, value)

    def sell_current_subscription(self):
        """Sells the first plan on the open member page, from yesterday, paid for 30 days."""
        today = datetime.date.today()
        Select(self.driver.find_element(By.ID, "sell-plan")).select_by_index(1)
        self.set_value(self.driver.find_element(By.ID, "sell-start"), (today - datetime.timedelta(days=1)).isoformat())
        self.set_value(self.driver.find_element(By.ID, "sell-paid"), (today + datetime.timedelta(days=30)).isoformat())
        self.driver.find_element(By.ID, "sell").click()
        self.wait.until(lambda d: "done=sold" in d.current_url)

    def create_member(self, first, last):
        self.open("/admin/members/new")
        self.driver.find_element(By.ID, "first_name").send_keys(first)
        self.driver.find_element(By.ID, "last_name").send_keys(last)
        self.driver.find_element(By.ID, "member-email").send_keys("m-%s@example.com" % uuid.uuid4().hex[:10])
        self.driver.find_element(By.ID, "save-member").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "door-access"))
        return self.driver.current_url.split("/admin/members/")[1].split("?")[0]

    def may_enter(self):
        return self.driver.find_element(By.ID, "door-access").get_attribute("data-may-enter")

    def kisi_user_id(self, member_id, timeout=150):
        """Reloads the member page until the sync has created the member's Kisi user."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.open("/admin/members/" + member_id)
            found = self.driver.find_elements(By.ID, "kisi-user-id")
            if found:
                return int(found[0].text)
            time.sleep(2)
        self.fail("the sync did not create a Kisi user for the member within %d s" % timeout)

    def wait_for_oracle(self, user_id, lock_id, allowed, timeout=60):
        deadline = time.time() + timeout
        answer = None
        while time.time() < deadline:
            answer = oracle(user_id, lock_id)
            if answer.get("allowed") == allowed:
                return answer
            time.sleep(1)
        self.fail("Kisi's answer for user %s at lock %s stayed %s" % (user_id, lock_id, answer))

    # --- tests ----------------------------------------------------------------------------------------

    def test_0_connect_kisi_with_the_wizard(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.open("/admin/settings")
        self.assertIn("Connect Kisi", self.driver.page_source)
        self.driver.find_element(By.NAME, "api_key").send_keys("not-a-valid-key")
        base = self.driver.find_element(By.NAME, "base_url")
        base.clear()
        base.send_keys(SANDBOX)
        self.driver.find_element(By.NAME, "instance_url").send_keys(BASE)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/admin/settings/kisi'] button[type=submit]").click()
        # A wrong key is refused in plain words, and the form keeps the address typed.
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".field-error"))
        self.assertIn("Kisi did not accept it", self.driver.find_element(By.CSS_SELECTOR, ".field-error").text)
        self.assertEqual(self.driver.find_element(By.NAME, "base_url").get_attribute("value"), SANDBOX)

        self.driver.find_element(By.NAME, "api_key").send_keys(SANDBOX_API_KEY)
        instance = self.driver.find_element(By.NAME, "instance_url")
        instance.clear()
        instance.send_keys(BASE)
        Select(self.driver.find_element(By.NAME, "user_creation")).select_by_value("invitations")
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/admin/settings/kisi'] button[type=submit]").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "kisi-test-result"))
        result = self.driver.find_element(By.ID, "kisi-test-result").text
        self.assertIn("Kisi answered", result)
        self.assertIn("API key", result)
        self.assertIn("What this key may do", result)
        self.shot("kisi-wizard")
        # No restart: the sync takes the new connection up within seconds, and its webhook is registered.
        deadline = time.time() + 60
        while time.time() < deadline:
            self.open("/admin")
            if self.driver.find_element(By.ID, "leader").text != "none yet" and not self.driver.find_elements(By.ID, "not-connected"):
                break
            time.sleep(1)
        failing = ["not checked yet"]
        while failing and time.time() < deadline:
            self.open("/admin/settings")
            self.driver.find_element(By.ID, "kisi-test").click()
            WebDriverWait(self.driver, 60).until(lambda d: "Webhook" in d.find_element(By.ID, "kisi-test-result").text)
            checks = self.driver.find_elements(By.CSS_SELECTOR, "li.check")
            self.assertTrue(checks)
            failing = [check.text for check in checks if "bad" in check.get_attribute("class")]
            if failing:
                time.sleep(1)
        self.assertEqual(failing, [], "every health check passes once connected, the webhook included")
        self.shot("kisi-health")

    def test_1_sell_then_freeze_follows_in_kisi(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.assertIn("Dashboard", self.driver.page_source)
        self.shot("dashboard")
        member_id = self.create_member("Brigitta", "Browser")
        self.assertEqual(self.may_enter(), "no")

        today = datetime.date.today()
        self.sell_current_subscription()
        self.assertEqual(self.may_enter(), "yes", "the door access panel shows access after selling")
        lock_id = self.driver.find_element(By.CSS_SELECTOR, "tr.door[data-allowed='yes']").get_attribute("data-lock-id")

        user_id = self.kisi_user_id(member_id)
        self.wait_for_oracle(user_id, lock_id, True)
        self.shot("member-active")
        self.driver.find_element(By.ID, "resync").click()
        WebDriverWait(self.driver, 60).until(lambda d: "done=resynced" in d.current_url)

        freeze = self.driver.find_element(By.CSS_SELECTOR, "form.freeze-form")
        self.driver.execute_script("arguments[0].closest('details').open = true;", freeze)
        self.set_value(freeze.find_element(By.NAME, "start_date"), today.isoformat())
        self.set_value(freeze.find_element(By.NAME, "end_date"), (today + datetime.timedelta(days=7)).isoformat())
        freeze.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait.until(lambda d: "done=frozen" in d.current_url)
        self.assertEqual(self.may_enter(), "no", "the door access panel shows no access while frozen")
        self.assertIn("Subscription is frozen.", self.driver.page_source)
        self.wait_for_oracle(user_id, lock_id, False)
        self.shot("member-frozen")

        # The sale and the freeze were carried to Kisi by the sync: the dashboard shows their latency.
        self.driver.get(BASE + "/admin")
        self.assertIn("p95", self.driver.find_element(By.ID, "propagation").text)
        self.assertNotEqual(self.driver.find_element(By.ID, "leader").text, "none yet")
        self.shot("dashboard-after-sync")

    def test_2_markup_in_a_name_renders_as_text(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.create_member("<script>alert(1)</script>", "Tester")
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        self.assertEqual(self.driver.find_element(By.ID, "member-name").text, "<script>alert(1)</script> Tester")
        self.open("/admin/members?q=script")
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text
        self.assertIn("<script>alert(1)</script> Tester", self.driver.find_element(By.ID, "member-rows").text)

    def test_3_post_without_csrf_token_is_rejected(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        cookie = self.session_cookie()
        status, _ = raw_request("/admin/members", cookie, {"first_name": "Forged", "last_name": "Post", "email": "forged@example.com"})
        self.assertEqual(status, 403)
        status, body = raw_request("/admin/members?q=forged", cookie)
        self.assertEqual(status, 200)
        self.assertNotIn("forged@example.com", body)

    def test_4_front_desk_gets_403_on_settings(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.open("/admin/settings")
        self.shot("settings")
        form = self.driver.find_element(By.ID, "staff-form")
        form.find_element(By.NAME, "name").send_keys("Dana Desk")
        form.find_element(By.NAME, "email").send_keys(DESK_EMAIL)
        Select(form.find_element(By.NAME, "role")).select_by_value("front_desk")
        form.find_element(By.NAME, "password").send_keys(DESK_PASSWORD)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait.until(lambda d: "done=staff_created" in d.current_url)
        self.driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        self.wait.until(lambda d: "/admin/login" in d.current_url)

        self.sign_in(DESK_EMAIL, DESK_PASSWORD)
        self.assertNotIn("/admin/settings", self.driver.page_source)
        self.open("/admin/settings")
        self.assertEqual(self.driver.find_element(By.ID, "error-title").text, "Not allowed")
        status, _ = raw_request("/admin/settings", self.session_cookie())
        self.assertEqual(status, 403)

    def test_5_search_as_you_type_and_page_screenshots(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.create_member("Sorina", "Searchable")
        self.open("/admin/members")
        search = self.driver.find_element(By.ID, "member-search")
        search.send_keys("zzzz-nobody")
        self.wait.until(lambda d: "No members match." in d.find_element(By.ID, "member-rows").text)
        search.clear()
        search.send_keys("Searchable")
        self.wait.until(lambda d: "Sorina Searchable" in d.find_element(By.ID, "member-rows").text)
        self.shot("members")
        for page in ("plans", "audit", "clubs"):
            self.open("/admin/" + page)
            self.assertNotIn("Server problem", self.driver.page_source)
            self.shot(page)
        # A phone-sized window: the layout must not need sideways scrolling for the page itself.
        self.driver.set_window_size(390, 844)
        for page in ("members", "plans"):
            self.open("/admin/" + page)
            width = self.driver.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(width, 400, "the %s page fits a phone's width" % page)
            self.shot(page + "-phone")

    def test_6_unlock_a_door_after_confirming(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        self.open("/admin/clubs")
        buttons = self.driver.find_elements(By.CSS_SELECTOR, "li.door form button")
        self.assertTrue(buttons, "the clubs page lists Kisi locks with an Unlock button")
        buttons[0].click()
        self.driver.switch_to.alert.accept()
        self.wait.until(lambda d: "done=unlocked" in d.current_url)
        self.assertIn("Kisi unlocked the door.", self.driver.page_source)
        self.open("/admin/audit?action=unlock_lock")
        self.assertIn("unlock_lock", self.driver.find_element(By.TAG_NAME, "tbody").text)
        # The live feed (Server-Sent Events) shows the opening Kisi recorded.
        self.open("/admin/activity")
        WebDriverWait(self.driver, 30).until(lambda d: " opened" in d.find_element(By.ID, "activity-feed").text)
        self.shot("activity")

    def test_7_block_now_closes_the_doors_in_kisi(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        member_id = self.create_member("Bogdan", "Blocked")
        self.sell_current_subscription()
        lock_id = self.driver.find_element(By.CSS_SELECTOR, "tr.door[data-allowed='yes']").get_attribute("data-lock-id")
        user_id = self.kisi_user_id(member_id)
        self.wait_for_oracle(user_id, lock_id, True)

        self.driver.execute_script("document.getElementById('block').open = true;")
        self.driver.find_element(By.ID, "block-reason").send_keys("Lent the card to a friend")
        self.driver.find_element(By.ID, "block-now").click()
        self.driver.switch_to.alert.accept()
        self.wait.until(lambda d: d.find_elements(By.ID, "blocked-banner"))
        self.assertIn("Lent the card to a friend", self.driver.find_element(By.ID, "blocked-banner").text)
        self.assertEqual(self.may_enter(), "no")
        self.wait_for_oracle(user_id, lock_id, False, timeout=15)
        self.shot("member-blocked")

        self.driver.find_element(By.ID, "unblock").click()
        self.driver.switch_to.alert.accept()
        self.wait.until(lambda d: not d.find_elements(By.ID, "blocked-banner"))
        self.assertEqual(self.may_enter(), "yes")
        self.wait_for_oracle(user_id, lock_id, True)

    def test_8_kisi_users_account_and_door_pages_render(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        for page, name in (("/admin/kisi/adoption", "kisi-users"), ("/admin/account", "account"), ("/admin/clubs", "clubs-mapping"),
                           ("/admin", "dashboard-check-ins")):
            self.open(page)
            self.assertNotIn("Server problem", self.driver.page_source)
            self.shot(name)
        self.driver.set_window_size(390, 844)
        for page in ("kisi/adoption", "clubs", "settings"):
            self.open("/admin/" + page)
            width = self.driver.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(width, 400, "the %s page fits a phone's width" % page)
        self.shot("settings-phone")

    def test_9_disconnect_with_revocation_after_a_preview(self):
        self.sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        member_id = self.create_member("Diana", "Disconnect")
        self.sell_current_subscription()
        lock_id = self.driver.find_element(By.CSS_SELECTOR, "tr.door[data-allowed='yes']").get_attribute("data-lock-id")
        user_id = self.kisi_user_id(member_id)
        self.wait_for_oracle(user_id, lock_id, True)

        self.open("/admin/settings")
        self.driver.find_element(By.ID, "disconnect").click()
        self.wait.until(lambda d: d.find_elements(By.ID, "disconnect-summary"))
        summary = self.driver.find_element(By.ID, "disconnect-summary").text
        self.assertNotIn(" 0 door grant", summary, "the preview counts the grants that would go")
        self.assertIn("Diana Disconnect", self.driver.find_element(By.ID, "disconnect-preview").text)
        self.shot("disconnect-preview")
        self.driver.find_element(By.ID, "disconnect-revoke").click()
        self.driver.switch_to.alert.accept()
        self.wait.until(lambda d: "done=disconnecting" in d.current_url)
        deadline = time.time() + 90
        outcome = ""
        while time.time() < deadline:
            self.open("/admin/settings")
            found = self.driver.find_elements(By.ID, "disconnect-outcome")
            if found:
                outcome = found[0].text
                break
            time.sleep(1)
        self.assertIn("revoked", outcome)
        self.assertIn("Connect Kisi", self.driver.page_source)
        # Kisi agrees: the member's user is still there, without door access.
        self.wait_for_oracle(user_id, lock_id, False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
