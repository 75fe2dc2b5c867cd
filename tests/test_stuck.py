"""The stuck-email alarm: dashboard, /health, manage.py stuck_emails."""

from io import StringIO

import pytest
from django.core.management import call_command

from emailhub import model
from emailhub.emails import email_transition
from tests.conftest import drain_outbox, message, queue_messages


def _age(email_id, minutes):
    """Pretend the email was accepted `minutes` ago (its created_at and updated_at; the id keeps its day)."""
    from emailhub.aws import dynamodb

    created = model.iso(model.now() - __import__("datetime").timedelta(minutes=minutes))
    # Nothing happened to it since, either: its last change is as old.
    dynamodb.update(*model.email_key(email_id), expression="SET created_at = :c, updated_at = :c",
                    values={":c": created})


@pytest.fixture
def lost(send, verified):
    """An accepted email whose outbox message was lost."""
    email_id = send(message(subject="lost")).json()["id"]
    from emailhub.aws import sqs

    sqs.delete("emailhub-outbox", [m["ReceiptHandle"] for m in sqs.receive("emailhub-outbox")])
    _age(email_id, 30)
    return email_id


def test_fresh_emails_are_not_stuck(send, verified):
    from emailhub.stuck import emails_stuck

    send(message())
    assert emails_stuck() == []


def test_old_queued_email_is_reported_everywhere(client, admin_client, lost):
    from emailhub.stuck import emails_stuck

    [item] = emails_stuck()
    assert item.email["id"] == lost and "still queued" in item.reason
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["checks"]["stuck_emails"]["examples"] == [lost]
    page = admin_client.get("/admin/").content.decode()
    assert "Stuck emails (1)" in page and "lost" in page
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("stuck_emails", stdout=out)
    assert exit_info.value.code == 1 and lost in out.getvalue()


def test_requeue_sends_a_stuck_email_once(lost):
    from emailhub.emails import email_get

    with pytest.raises(SystemExit):
        call_command("stuck_emails", "--requeue", stdout=StringIO())
    assert queue_messages("emailhub-outbox") == [{"email_id": lost}]
    drain_outbox()
    assert email_get(lost)["status"] == "sent"
    call_command("stuck_emails", stdout=StringIO())  # nothing stuck now: exits normally


def test_sent_without_delivery_event_is_stuck_after_hours(send, verified, settings):
    from emailhub.stuck import emails_stuck

    email_id = send(message()).json()["id"]
    drain_outbox()
    _age(email_id, 7 * 60)
    [item] = emails_stuck()
    assert item.email["id"] == email_id and "no delivery event" in item.reason
    settings.EMAILHUB_STUCK_SENT_HOURS = 0
    assert emails_stuck() == []


def test_stale_sending_email_is_stuck(send, verified):
    from emailhub.stuck import emails_stuck

    email_id = send(message()).json()["id"]
    email_transition(email_id, to_status=model.SENDING, moment=model.now(), set_attrs={"claim_id": "x"})
    _age(email_id, 60)
    assert [s.email["status"] for s in emails_stuck()] == ["sending"]
