"""The suppression list: API refusal, commands, dashboard, resend."""

from io import StringIO

from django.core.management import call_command

from emailhub.emails import email_get
from emailhub.suppression import suppressed_among, suppression_add
from tests.conftest import message, queue_messages
from tests.dashboard_helpers import failed_emails


def test_suppressed_recipient_is_a_422_naming_it(send, verified, settings):
    settings.EMAILHUB_SES_SANDBOX = False
    suppression_add(address="alice@example.com", reason="hard bounce")
    response = send(message(cc=["Bob <bob@example.com>"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "suppressed_recipient" and error["addresses"] == ["alice@example.com"]
    assert error["field"] == "to"
    assert queue_messages("emailhub-outbox") == []


def test_a_suppressed_bcc_is_reported_on_bcc(send, verified, settings):
    settings.EMAILHUB_SES_SANDBOX = False
    suppression_add(address="dan@example.com", reason="hard bounce")
    error = send(message(bcc=["dan@example.com"])).json()["error"]
    assert (error["code"], error["field"]) == ("suppressed_recipient", "bcc")


def test_suppression_check_works_for_emails_too_big_for_the_transaction(send, aws, settings):
    settings.EMAILHUB_SES_SANDBOX = False
    suppression_add(address="user49@example.com", reason="complaint")
    response = send(message(to=[f"user{i}@example.com" for i in range(50)]))
    assert response.status_code == 422 and response.json()["error"]["addresses"] == ["user49@example.com"]
    assert send(message(to=[f"user{i}@example.com" for i in range(49)])).status_code == 202


def test_suppress_and_unsuppress_commands(send, verified):
    out = StringIO()
    call_command("suppress", "Alice@Example.com", stdout=out)
    assert "suppressed" in out.getvalue()
    assert send(message()).status_code == 422
    call_command("unsuppress", "alice@example.com", stdout=out)
    assert suppressed_among(["alice@example.com"]) == []
    assert send(message()).status_code == 202


def test_resend_skips_suppressed_recipients(admin_client, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1)
    suppression_add(address="alice@example.com", reason="complaint")
    page = admin_client.get("/admin/resend/", {"ids": email_id}).content.decode()
    assert "suppressed: alice@example.com" in page
    admin_client.post("/admin/resend/", {"ids": email_id})
    assert email_get(email_id)["status"] == "failed"


def test_dashboard_adds_and_removes_with_audit(admin_client, aws):
    admin_client.post("/admin/suppression/", {"address": "Carol@example.org", "reason": "asked us to stop"})
    page = admin_client.get("/admin/suppression/").content.decode()
    assert "carol@example.org" in page and "asked us to stop" in page
    assert "Yes, remove it" in admin_client.get("/admin/suppression/remove/", {"address": "carol@example.org"}).content.decode()
    assert suppressed_among(["carol@example.org"]) == ["carol@example.org"]  # the GET changed nothing
    admin_client.post("/admin/suppression/remove/", {"address": "carol@example.org"})
    assert suppressed_among(["carol@example.org"]) == []
    from emailhub.audit import audit_page
    from emailhub.model import now

    actions = [e["summary"]["action"] for e in audit_page(month=now().strftime("%Y-%m"))[0] if e["summary"]["actor"] != "tests"]
    assert actions == ["suppression.remove", "suppression.add"]


def test_view_only_staff_cannot_change_the_list(staff_client):
    client = staff_client("viewer")
    assert client.post("/admin/suppression/", {"address": "x@example.org"}).status_code == 403
    assert suppressed_among(["x@example.org"]) == []
    assert client.post("/admin/suppression/remove/", {"address": "x@example.org"}).status_code == 403
