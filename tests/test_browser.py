"""One end-to-end run in a real headless browser (Debian's chromium):
log in, find a failed email, resend it, see it sent."""

import os
import shutil
from pathlib import Path

import pytest

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
