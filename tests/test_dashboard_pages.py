"""The dashboard's pages, as a logged-in staff member sees them."""

import csv
import io

import pytest

from emailhub import model
from tests.conftest import drain_outbox, message, queue_messages
from tests.dashboard_helpers import failed_emails


@pytest.fixture
def viewer(staff_client):
    """Staff without any dashboard permission: may look, may not act."""
    return staff_client("viewer")


@pytest.fixture
def operator(staff_client):
    return staff_client("operator")


def test_login_is_required(client, aws):
    response = client.get("/admin/emails/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_overview_shows_counts_dlq_quota_and_sandbox(admin_client, send, verified, ses_failures):
    send(message())
    failed_emails(send, ses_failures, 2)
    drain_outbox()
    page = admin_client.get("/admin/").content.decode()
    assert "Last 24 hours" in page and "Sandbox" in page
    assert "24-hour quota" in page
    assert "<svg" in page and "1 sent" in page and "2 failed" in page
    assert "2</a> parked" in page
    assert "permission to view or edit" not in page  # Django's empty app list said so to everyone


def test_overview_counts_each_outcome(send, verified, ses_failures):
    from emailhub.stats import stats_overview

    send(message())
    failed_emails(send, ses_failures, 1)
    ses_failures("TooManyRequestsException", "slow down")
    send(message())
    drain_outbox()
    counts = stats_overview()["last_24h"]
    assert counts == {"sent": 2, "failed": 1, "retrying": 1, "resent": 0, "discarded": 0,
                      "delivered": 0, "bounced": 0, "complained": 0, "canceled": 0, "expired": 0}


def test_email_log_filters_by_status_recipient_and_tag(admin_client, send, verified, ses_failures):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.org")
    send(message(tags={"kind": "receipt"}))
    send(message(to=["bob@example.org"], tags={"kind": "alert"}))
    failed_emails(send, ses_failures, 1, to=["carol@example.org"])
    drain_outbox()

    def rows(**params):
        response = admin_client.get("/admin/emails/", params)
        assert response.status_code == 200
        return [e["summary"]["to"][0] for e in response.context["emails"]]

    assert rows() == ["carol@example.org", "bob@example.org", "alice@example.com"]
    assert rows(status="failed") == ["carol@example.org"]
    assert rows(recipient="BOB@example.org") == ["bob@example.org"]
    assert rows(tag="kind=receipt") == ["alice@example.com"]
    assert rows(recipient="bob@example.org", status="failed") == []
    yesterday = (model.now().date().toordinal() - 1)
    from datetime import date

    old = date.fromordinal(yesterday).isoformat()
    assert rows(date_from=old, date_to=old) == []


def test_email_log_pages_with_signed_cursors(admin_client, send, verified):
    for n in range(7):
        send(message(subject=f"n{n}"))
    response = admin_client.get("/admin/emails/", {"size": 25})
    assert len(response.context["emails"]) == 7 and response.context["next_url"] is None

    from dashboard.forms import PAGE_SIZES

    assert PAGE_SIZES[0][0] == 25  # the smallest page the form offers
    url = "/admin/emails/?size=25"
    for n in range(7, 60):  # enough emails for three pages of 25
        send(message(subject=f"n{n}"))
    pages = []
    while url:
        response = admin_client.get(url)
        pages.append([e["summary"]["subject"] for e in response.context["emails"]])
        url = response.context["next_url"] and "/admin/emails/" + response.context["next_url"]
    assert [len(p) for p in pages] == [25, 25, 10]
    seen = [s for p in pages for s in p]
    assert seen == [f"n{n}" for n in range(59, -1, -1)]

    second = admin_client.get("/admin/emails/" + admin_client.get("/admin/emails/?size=25").context["next_url"])
    back = admin_client.get("/admin/emails/" + second.context["prev_url"])
    assert [e["summary"]["subject"] for e in back.context["emails"]] == pages[0]


def test_forged_cursor_starts_at_the_top(admin_client, send, verified):
    send(message(subject="only"))
    response = admin_client.get("/admin/emails/", {"cursor": "forged:value"})
    assert [e["summary"]["subject"] for e in response.context["emails"]] == ["only"]


def test_csv_export_streams_the_current_filter(admin_client, send, verified, ses_failures):
    send(message(subject="fine"))
    failed_emails(send, ses_failures, 2)
    drain_outbox()
    response = admin_client.get("/admin/emails/export.csv", {"status": "failed"})
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "created_at", "status"]
    assert sorted(r[6] for r in rows[1:]) == ["Order 0", "Order 1"]
    assert all(r[2] == "failed" and r[9].startswith("MessageRejected") for r in rows[1:])


def test_email_detail_shows_timeline_error_and_bodies(admin_client, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1, html="<p>Hello <b>there</b></p>")
    page = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    assert "MessageRejected" in page and "SES refused the message" in page
    assert "Accepted by the API" in page and "Parked on the dead-letter queue" in page
    assert 'sandbox=""' in page and "&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;" in page
    assert "Resend…" in page


def test_unknown_email_is_404(admin_client, aws):
    assert admin_client.get(f"/admin/emails/{model.new_email_id()}/").status_code == 404


def test_dlq_page_peeks_without_losing_messages(admin_client, send, verified, ses_failures):
    ids = failed_emails(send, ses_failures, 3)
    for _ in range(2):
        response = admin_client.get("/admin/dlq/")
        assert response.status_code == 200
        assert sorted(r["parked"].email_id for r in response.context["rows"]) == sorted(ids)
    page = response.content.decode()
    assert "3 message(s) parked" in page and "rejected #0" in page and "Order 0" in page
    assert len(queue_messages("emailhub-dlq")) == 3


def test_dlq_page_says_when_it_shows_a_sample(admin_client, send, verified, ses_failures):
    failed_emails(send, ses_failures, 3)
    response = admin_client.get("/admin/dlq/", {"limit": 2})
    assert "this is a sample" in response.content.decode()
    assert len(queue_messages("emailhub-dlq")) == 3


def test_view_only_staff_sees_pages_but_cannot_act(viewer, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1)
    for url in ("/admin/", "/admin/emails/", f"/admin/emails/{email_id}/", "/admin/dlq/", "/admin/keys/",
                "/admin/identities/", "/admin/audit/"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/admin/resend/", {"ids": email_id}).status_code == 403
    assert viewer.post("/admin/resend/", {"ids": email_id}).status_code == 403
    assert viewer.post("/admin/discard/", {"ids": email_id}).status_code == 403
    assert viewer.post("/admin/keys/", {"name": "sneaky"}).status_code == 403
    from emailhub.apikeys import api_key_list

    assert [k.name for k in api_key_list()] == ["tests"]
    assert "Create a key" not in viewer.get("/admin/keys/").content.decode()


def test_actions_need_csrf(send, verified, ses_failures, staff_client):
    [email_id] = failed_emails(send, ses_failures, 1)
    client = staff_client("admin", enforce_csrf_checks=True)
    assert client.post("/admin/resend/", {"ids": email_id}).status_code == 403
    assert client.post("/admin/keys/", {"name": "x"}).status_code == 403


def test_markup_in_untrusted_fields_renders_harmlessly(admin_client, send, aws, settings):
    settings.EMAILHUB_SES_SANDBOX = False
    evil = "<script>alert(1)</script>"
    email_id = send(message(
        to=['Eve" onmouseover="alert(1) <alice@example.com>'], subject=evil,
        tags={"campaign": "x"}, text=evil, html=f'<a href="javascript:alert(1)" onclick="alert(2)">hi</a>{evil}',
    )).json()["id"]
    drain_outbox()
    for url in ("/admin/emails/", f"/admin/emails/{email_id}/", "/admin/emails/export.csv"):
        response = admin_client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        if url.endswith(".csv"):
            continue  # text/csv: not rendered by a browser
        assert "<script>alert(1)</script>" not in text, url
        assert 'onmouseover="alert(1)' not in text, url
    detail = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    # The HTML body is sanitised (no script, no javascript: URL, no handlers) and escaped into srcdoc.
    srcdoc = detail.split('srcdoc="')[1].split('"')[0]
    assert "script" not in srcdoc and "javascript" not in srcdoc and "onclick" not in srcdoc
    assert 'sandbox=""' in detail


def test_csv_cells_cannot_become_spreadsheet_formulas(admin_client, send, verified):
    send(message(subject="=HYPERLINK(\"http://evil.example\",\"click\")"))
    rows = list(csv.reader(io.StringIO(b"".join(admin_client.get("/admin/emails/export.csv").streaming_content).decode())))
    assert rows[1][6].startswith("'=HYPERLINK")


def test_remote_images_in_html_bodies_are_not_loaded(admin_client, send, verified):
    email_id = send(message(html='<p>Hi<img src="https://tracker.example/p.gif"><img src="data:image/png;base64,AAAA"></p>')).json()["id"]
    page = admin_client.get(f"/admin/emails/{email_id}/").content.decode()
    srcdoc = page.split('srcdoc="')[1].split('"')[0]
    assert "tracker.example" not in srcdoc and "&lt;img&gt;" in srcdoc  # the image stays, its source goes


def test_crafted_ids_do_not_break_pages(admin_client, aws):
    assert admin_client.get("/admin/resend/", {"ids": ["x/y", ""]}, follow=True).status_code == 200
    response = admin_client.post("/admin/discard/", {"ids": ["x/y"]}, follow=True)
    assert response.status_code == 200


def test_dlq_page_survives_two_messages_for_one_email(admin_client, send, verified, ses_failures):
    from emailhub.aws import sqs

    [email_id] = failed_emails(send, ses_failures, 1)
    sqs.send("emailhub-dlq", {"email_id": email_id})  # e.g. a redrive on top of the park
    response = admin_client.get("/admin/dlq/")
    assert "error" not in response.context and len(response.context["rows"]) == 2


def test_dlq_tidy_requeues_in_flight_and_drops_settled(admin_client, send, verified, ses_failures):
    from emailhub.aws import sqs

    [failed] = failed_emails(send, ses_failures, 1)
    stranded = send(message(subject="stranded")).json()["id"]
    sqs.delete("emailhub-outbox", [m["ReceiptHandle"] for m in sqs.receive("emailhub-outbox")])
    sqs.send("emailhub-dlq", {"email_id": stranded})  # redriven during an outage, still queued
    page = admin_client.get("/admin/dlq/").content.decode()
    assert "Tidy" in page
    admin_client.post("/admin/discard/", {"ids": failed})
    sqs.send("emailhub-dlq", {"email_id": failed})  # a stale second copy of a settled email
    admin_client.post("/admin/dlq/tidy/")
    assert queue_messages("emailhub-dlq") == []
    assert queue_messages("emailhub-outbox") == [{"email_id": stranded}]
    drain_outbox()
    from emailhub.emails import email_get

    assert email_get(stranded)["status"] == "sent"
