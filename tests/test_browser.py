"""Real headless browser runs (Debian's chromium): log in, find a failed
email, resend it, see it sent; and every page on a 390 px phone."""

import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from emailhub.staff.accounts import staff_create
from tests.conftest import drain_outbox
from tests.dashboard_helpers import failed_emails

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# In CI the browser must be there (.ci/run installs it); a laptop without it skips.
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="Debian's chromium and chromium-driver are not installed",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1100"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations show up there
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _screenshot(browser, name):
    """`EMAILHUB_SCREENSHOTS=docs/screenshots make test` refreshes the README's pictures."""
    folder = os.environ.get("EMAILHUB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


def test_staff_resends_a_failed_email_in_the_browser(browser, http_server, send, verified, ses_failures):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    staff_create(username="staff", role="operator", actor="tests", password="correct horse battery")
    from tests.conftest import message

    send(message(subject="Welcome aboard"))
    drain_outbox()
    [email_id] = failed_emails(send, ses_failures, 1)

    browser.get(f"{http_server}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("correct horse battery")
    def shows(text):
        """Wait for the page a click leads to: click() can return before it has loaded."""
        WebDriverWait(browser, 20).until(lambda driver: text in driver.page_source,
                                         f"{text!r} never appeared")

    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    shows("Last 24 hours")
    _screenshot(browser, "overview")

    browser.find_element(By.LINK_TEXT, "Dead-letter queue").click()
    shows("1 message(s) parked")
    _screenshot(browser, "dlq")

    browser.find_element(By.LINK_TEXT, "Email log").click()
    Select(browser.find_element(By.NAME, "status")).select_by_visible_text("failed")
    browser.find_element(By.CSS_SELECTOR, ".eh-filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("status=failed"))
    rows = browser.find_elements(By.CSS_SELECTOR, ".eh-table tbody tr")
    assert len(rows) == 1 and "failed" in rows[0].text
    rows[0].find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 20).until(expected_conditions.title_contains(email_id))
    browser.find_element(By.LINK_TEXT, "Resend…").click()
    shows("Resend 1 email(s)")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value^='Yes']").click()
    shows("Resend: 1 resent.")

    drain_outbox()  # the worker sends the new email
    browser.find_element(By.PARTIAL_LINK_TEXT, email_id).click()  # the original, from the audit entry
    shows("Resent as")
    child = browser.find_element(By.XPATH, "//th[text()='Resent as']/following-sibling::td/a")
    child_id = child.text
    child.click()
    WebDriverWait(browser, 20).until(expected_conditions.title_contains(child_id))
    assert browser.find_element(By.CSS_SELECTOR, ".eh-status").text == "sent"
    assert "Order 0" in browser.page_source
    refused = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert refused == []  # the dashboard's policy blocks nothing the dashboard itself uses


PHONE_WIDTH = 390


def _phone(browser):
    """An iPhone-sized viewport (390 CSS px), as a phone's browser lays pages out."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True})


def _sideways(browser):
    """How many CSS pixels the page is wider than the screen (0: no sideways scrolling)."""
    return browser.execute_script(
        "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth")


def test_every_page_fits_a_phone(browser, http_server, send, verified, ses_failures):
    from selenium.webdriver.common.by import By

    from emailhub.apikeys import api_key_list
    from emailhub.audit import audit_page
    from emailhub.identities import identity_verify
    from emailhub.suppression import suppression_add

    staff_create(username="phone", role="admin", actor="tests", password="correct horse battery")
    [email_id] = failed_emails(send, ses_failures, 1, tags={"campaign": "winter-sale-2026"},
                               html="<p>" + "A rather long line of text. " * 20 + "</p>")
    suppression_add(address="a-very-long-address-for-a-phone@subdomain.example.com", reason="hard bounce", actor="tests")
    identity_verify(identity="example.com")
    _phone(browser)
    browser.get(f"{http_server}/admin/login/")
    assert _sideways(browser) <= 0, "the sign-in page scrolls sideways"
    browser.find_element(By.NAME, "username").send_keys("phone")
    browser.find_element(By.NAME, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.CSS_SELECTOR, ".eh-nav")
    browser.get(f"{http_server}/admin/keys/")
    browser.find_element(By.NAME, "name").send_keys("phone-test")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value='Create key']").click()
    browser.find_element(By.ID, "eh-new-key")
    key_prefix = api_key_list()[0].prefix
    from emailhub.local.poller import poll_webhooks_once
    from emailhub.webhooks.endpoints import webhook_endpoint_create
    from emailhub.webhooks.enqueue import webhook_test_send

    # Nothing listens on port 9: the test event's delivery fails, with its error on the page.
    endpoint, _ = webhook_endpoint_create(url="http://127.0.0.1:9/a-rather-long-path/for-the-receiving-application"
                                              "/webhooks/emailhub?token=0123456789abcdef", types=["email.sent"])
    webhook_test_send(endpoint_id=endpoint["id"])
    poll_webhooks_once(wait_seconds=0)
    entries, _ = audit_page(month=timezone.now().strftime("%Y-%m"), limit=1)

    pages = ["/admin/", "/admin/emails/", f"/admin/emails/{email_id}/", "/admin/dlq/", "/admin/keys/",
             f"/admin/keys/{key_prefix}/revoke/", "/admin/identities/", "/admin/identities/example.com/dns/", "/admin/suppression/",
             "/admin/suppression/remove/?address=a-very-long-address-for-a-phone%40subdomain.example.com",
             "/admin/audit/", "/admin/audit/?actor=phone&action=api_key.", f"/admin/audit/{entries[0]['id']}/",
             f"/admin/emails/find/?q={email_id}", "/admin/emails/find/?q=nothing-like-this", "/admin/suppression/?q=example.com", "/admin/staff/", "/admin/staff/phone/",
             f"/admin/resend/?ids={email_id}", f"/admin/discard/?ids={email_id}", "/admin/two-factor/",
             "/admin/password_change/", "/admin/webhooks/", f"/admin/webhooks/{endpoint['id']}/",
             f"/admin/webhooks/{endpoint['id']}/rotate/", f"/admin/webhooks/{endpoint['id']}/test/"]
    too_wide = {}
    for url in pages:
        browser.get(f"{http_server}{url}")
        browser.find_element(By.CSS_SELECTOR, "#content")
        if url == "/admin/emails/":
            _screenshot(browser, "phone")
        if _sideways(browser) > 0:
            too_wide[url] = browser.execute_script(
                "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
                " > document.documentElement.clientWidth + 1).slice(-3).map(e => e.tagName + '.' + e.className"
                " + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))")
        assert browser.execute_script("return document.getElementById('nav-sidebar')") is None, url
    assert too_wide == {}, f"pages wider than {PHONE_WIDTH}px (by how much): {too_wide}"

    # The one script runs under the page's policy: "select all" ticks every row.
    browser.get(f"{http_server}/admin/dlq/")
    browser.find_element(By.CSS_SELECTOR, ".eh-select-all").click()
    boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=ids]")
    assert boxes and all(box.is_selected() for box in boxes)
    problems = [entry["message"] for entry in browser.get_log("browser")
                if "Content Security Policy" in entry["message"] or "404" in entry["message"]]
    assert problems == []  # nothing refused by the policy, no favicon (or other) 404
