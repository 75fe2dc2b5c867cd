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
    ses_event_record(ses_event={"eventType": "Delivery", "mail": {"messageId": email["ses_message_id"]},
                                "delivery": {"recipients": [RECIPIENT], "smtpResponse": "250 OK"}},
                     dedupe_id="delivery-1")
    page = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    assert "['" not in page and "[&#x27;" not in page
    assert "Delivered" in page and f"recipients: {RECIPIENT}" in page and "Handed to SES" in page
    assert "ses_send" not in page and ">delivery<" not in page


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
