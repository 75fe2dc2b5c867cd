"""What a newcomer tripped over (issue #11): the dashboard's pages read plainly."""

import re

from emailhub import model
from emailhub.emails import email_get
from emailhub.ses_events import ses_event_record
from tests.conftest import RECIPIENT, drain_outbox, message
from tests.dashboard_helpers import failed_emails

PAGES = ["/admin/", "/admin/emails/", "/admin/dlq/", "/admin/keys/", "/admin/identities/",
         "/admin/suppression/", "/admin/audit/", "/admin/staff/", "/admin/two-factor/", "/admin/password_change/"]


def test_no_page_shows_djangos_app_sidebar(admin_client, aws):
    for url in PAGES:
        page = admin_client.get(url).content.decode()
        assert 'id="nav-sidebar"' not in page and "toggle-nav-sidebar" not in page, url


def test_times_are_utc_in_one_format_said_once(admin_client, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1)
    for url in ["/admin/emails/", f"/admin/emails/{email_id}/", "/admin/dlq/", "/admin/keys/", "/admin/staff/"]:
        page = admin_client.get(url).content.decode()
        assert page.count("Times are UTC") == 1 and "(UTC)" not in page, url
        shown = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page)
        assert shown, url
        for machine, human in shown:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", human), (url, human)
            assert machine == human.replace(" ", "T") + "Z"
        # no ISO strings with microseconds or offsets left in the text
        assert not re.search(r">[^<]*\d\d:\d\d:\d\d\.\d+", page), url


def test_timeline_in_words_without_python_reprs(admin_client, send, verified):
    email_id = send(message()).json()["id"]
    drain_outbox()
    email = email_get(email_id)
    assert "recorded" == ses_event_record(ses_event={"eventType": "DeliveryDelay", "mail": {"messageId": email["ses_message_id"]},
                                "deliveryDelay": {"delayType": "MailboxFull", "expirationTime": "2026-05-04T09:30:12.345Z",
                                                  "delayedRecipients": [{"emailAddress": RECIPIENT}]}},
                     dedupe_id="delay-1")
    ses_event_record(ses_event={"eventType": "Delivery", "mail": {"messageId": email["ses_message_id"]},
                                "delivery": {"recipients": [RECIPIENT], "smtpResponse": "250 OK"}},
                     dedupe_id="delivery-1")
    page = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    assert "['" not in page and "[&#x27;" not in page
    assert "Delivered" in page and f"recipients: {RECIPIENT}" in page and "Handed to SES" in page
    assert "ses_send" not in page and ">delivery<" not in page
    assert "Delivery delayed" in page, page[page.index("Timeline"):page.index("Text body")]
    assert "gives up at: 2026-05-04 09:30:12" in page


def test_detail_shows_reply_to_and_custom_headers(admin_client, send, verified):
    email_id = send(message(reply_to=["help@example.com"],
                            headers={"List-Unsubscribe": "<mailto:unsub@example.com>"})).json()["id"]
    page = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    assert "<th>Reply-To</th><td>help@example.com</td>" in page
    assert "<th>List-Unsubscribe</th><td>&lt;mailto:unsub@example.com&gt;</td>" in page


def test_dlq_page_has_from_full_ids_one_explanation_and_select_all(admin_client, send, verified, ses_failures):
    ids = failed_emails(send, ses_failures, 3)
    page = admin_client.get("/admin/dlq/").content.decode()
    assert "<th>From</th>" in page
    for email_id in ids:
        assert f">{email_id}</a>" in page
    assert page.count("SES refused the message") == 1
    assert 'class="eh-select-all"' in page


def test_resend_selected_with_nothing_ticked_goes_back_with_a_word(admin_client, aws):
    response = admin_client.get("/admin/resend/", HTTP_REFERER="http://testserver/admin/dlq/")
    assert response.status_code == 302 and response["Location"] == "http://testserver/admin/dlq/"
    page = admin_client.get("/admin/dlq/").content.decode()
    assert "Tick the emails to resend first." in page
    elsewhere = admin_client.get("/admin/discard/", HTTP_REFERER="https://evil.example/")
    assert elsewhere["Location"] == "/admin/emails/"


def test_invalid_log_filter_shows_its_error_not_no_emails_match(admin_client, aws):
    page = admin_client.get("/admin/emails/", {"status": "bogus"}).content.decode()
    assert "Select a valid choice" in page and "No emails match" not in page


def test_export_with_an_invalid_filter_goes_back_to_the_log(admin_client, aws):
    response = admin_client.get("/admin/emails/export.csv", {"status": "bogus"})
    assert response.status_code == 302 and response["Location"] == "/admin/emails/?status=bogus"
    assert "Select a valid choice" in admin_client.get(response["Location"]).content.decode()


def test_an_expected_403_logs_no_traceback(staff_client):
    import logging

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = staff_client("viewer").get("/admin/keys/ab12/revoke/")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 403 and "does not allow this" in response.content.decode()
    assert records and all(record.exc_info is None for record in records)


def test_suppression_reason_is_a_placeholder_and_messages_keep_the_address_lowercase(admin_client, aws):
    page = admin_client.get("/admin/suppression/").content.decode()
    assert 'placeholder="added by staff"' in page and 'value="added by staff"' not in page
    page = admin_client.post("/admin/suppression/", {"address": "carol@example.com", "reason": ""},
                             follow=True).content.decode()
    assert "carol@example.com suppressed." in page and "Carol@example.com" not in page


def test_new_api_key_has_a_copy_button(admin_client, aws):
    page = admin_client.post("/admin/keys/", {"name": "shop"}, follow=True).content.decode()
    secret = re.search(r'<pre id="eh-new-key">([^<]+)</pre>', page).group(1)
    assert f'class="button eh-copy" data-copy="{secret}"' in page


def test_favicon_and_script_are_static_files(admin_client, client, aws):
    from django.contrib.staticfiles import finders

    page = admin_client.get("/admin/").content.decode()
    assert 'rel="icon" href="/static/dashboard/favicon.svg"' in page
    assert finders.find("dashboard/favicon.svg") and finders.find("dashboard/dashboard.js")
    assert 'rel="icon"' in client.get("/admin/login/").content.decode()


def test_each_status_badge_has_its_own_colour():
    from pathlib import Path

    css = (Path(__file__).parent.parent / "dashboard/static/dashboard/dashboard.css").read_text()
    colours = dict(re.findall(r"\.eh-(\w+) \{ background: (#[0-9a-f]{3,6}); \}", css))
    shown = {status: colours[status] for status in model.STATUSES if status not in ("queued", "sending")}
    assert len(set(shown.values())) == len(shown), shown

    def rgb(colour):
        colour = colour.lstrip("#")
        colour = "".join(c * 2 for c in colour) if len(colour) == 3 else colour
        return [int(colour[i:i + 2], 16) for i in (0, 2, 4)]

    bounced, resent = rgb(shown["bounced"]), rgb(shown["resent"])
    assert sum(abs(a - b) for a, b in zip(bounced, resent)) > 120  # not two shades of one purple
