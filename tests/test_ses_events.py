"""SES delivery events: timeline, forward-only status, dedupe, suppression.
The fixtures follow the JSON that SES publishes to SNS (event publishing)."""

import json
from pathlib import Path

import pytest

from emailhub.emails import email_get
from emailhub.ses_events import EventNotMatched
from emailhub.suppression import suppressed_among
from emailhub.worker import process_event_records
from tests.conftest import drain_outbox, message, queue_messages

FIXTURES = Path(__file__).parent / "fixtures" / "ses_events"


def ses_event(name, message_id):
    event = json.loads((FIXTURES / f"{name}.json").read_text())
    mail = json.loads((FIXTURES / "_mail.json").read_text())
    mail["messageId"] = message_id
    return {**event, "mail": mail}


def sns_record(event, sns_id):
    """What the events queue receives: SES's event inside SNS's envelope."""
    envelope = {"Type": "Notification", "MessageId": sns_id, "TopicArn": "arn:aws:sns:us-east-1:1:emailhub-ses-events",
                "Message": json.dumps(event), "Timestamp": "2026-11-27T10:00:06.000Z", "SignatureVersion": "1"}
    return {"messageId": f"sqs-{sns_id}", "body": json.dumps(envelope)}


@pytest.fixture
def sent_email(send, verified):
    email_id = send(message()).json()["id"]
    drain_outbox()
    return email_id, email_get(email_id)["ses_message_id"]


def deliver(*records):
    assert process_event_records(list(records)) == []


def test_delivery_marks_delivered(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("send", ses_id), "n1"), sns_record(ses_event("delivery", ses_id), "n2"))
    email = email_get(email_id)
    assert email["status"] == "delivered"
    assert [e["type"] for e in email["events"]][-2:] == ["ses_send", "delivery"]
    assert email["events"][-1]["smtp_response"].startswith("250")


def test_hard_bounce_marks_bounced_and_suppresses(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("bounce_permanent", ses_id), "n1"))
    email = email_get(email_id)
    assert email["status"] == "bounced"
    bounce = email["events"][-1]
    assert bounce["bounce_type"] == "Permanent" and "550 5.1.1" in bounce["diagnostic"]
    assert suppressed_among(["alice@example.com"]) == ["alice@example.com"]


def test_a_bounce_that_fails_halfway_is_suppressed_when_delivered_again(sent_email, monkeypatch):
    """The address is suppressed before the email shows `bounced`: a failure
    in between leaves the event to SQS's next delivery, never a recorded
    bounce whose address can still be sent to."""
    from emailhub import ses_events
    from emailhub.errors import AwsUnavailable

    email_id, ses_id = sent_email
    record = sns_record(ses_event("bounce_permanent", ses_id), "n1")
    real = ses_events._apply
    monkeypatch.setattr(ses_events, "_apply", lambda *a, **k: (_ for _ in ()).throw(AwsUnavailable("down")))
    assert process_event_records([record]) == [record["messageId"]]  # left on the queue
    assert email_get(email_id)["status"] == "sent"
    monkeypatch.setattr(ses_events, "_apply", real)
    deliver(record)
    assert email_get(email_id)["status"] == "bounced"
    assert suppressed_among(["alice@example.com"]) == ["alice@example.com"]


def test_soft_bounce_is_recorded_but_neither_bounces_nor_suppresses(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("bounce_transient", ses_id), "n1"))
    email = email_get(email_id)
    assert email["status"] == "sent" and email["events"][-1]["type"] == "soft_bounce"
    assert suppressed_among(["alice@example.com"]) == []


def test_complaint_marks_complained_and_suppresses(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("delivery", ses_id), "n1"), sns_record(ses_event("complaint", ses_id), "n2"))
    assert email_get(email_id)["status"] == "complained"
    assert suppressed_among(["alice@example.com"]) == ["alice@example.com"]


def test_late_delivery_does_not_undo_a_bounce(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("bounce_permanent", ses_id), "n1"), sns_record(ses_event("delivery", ses_id), "n2"))
    email = email_get(email_id)
    assert email["status"] == "bounced"
    assert [e["type"] for e in email["events"]][-2:] == ["bounce", "delivery"]  # both on the timeline


def test_duplicate_notifications_are_recorded_once(sent_email):
    email_id, ses_id = sent_email
    record = sns_record(ses_event("delivery", ses_id), "same-sns-id")
    deliver(record, record)
    deliver(record)
    assert [e["type"] for e in email_get(email_id)["events"]].count("delivery") == 1


def test_delay_is_recorded_without_a_status_change(sent_email):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event("delivery_delay", ses_id), "n1"))
    email = email_get(email_id)
    assert email["status"] == "sent" and email["events"][-1]["delay_type"] == "TransientCommunicationFailure"


@pytest.mark.parametrize("fixture", ["reject", "rendering_failure"])
def test_reject_after_send_fails_and_parks(sent_email, fixture):
    email_id, ses_id = sent_email
    deliver(sns_record(ses_event(fixture, ses_id), "n1"))
    email = email_get(email_id)
    assert email["status"] == "failed" and email["last_error"]["code"] == fixture
    assert [m["email_id"] for m in queue_messages("emailhub-dlq")] == [email_id]


def test_raw_delivery_without_sns_envelope_works_too(sent_email):
    email_id, ses_id = sent_email
    deliver({"messageId": "m", "body": json.dumps(ses_event("delivery", ses_id))})
    assert email_get(email_id)["status"] == "delivered"


def test_event_for_an_unknown_message_is_retried(aws):
    from emailhub.ses_events import ses_event_record

    with pytest.raises(EventNotMatched):
        ses_event_record(ses_event=ses_event("delivery", "nobody"), dedupe_id="x")
    assert process_event_records([sns_record(ses_event("delivery", "nobody"), "n1")]) == ["sqs-n1"]


def test_identity_notifications_use_notification_type(sent_email):
    email_id, ses_id = sent_email
    event = ses_event("delivery", ses_id)
    event["notificationType"] = event.pop("eventType")
    deliver(sns_record(event, "n1"))
    assert email_get(email_id)["status"] == "delivered"


def test_an_early_event_comes_back_within_seconds(sent_email, settings):
    """SES can publish before the worker has recorded the message id it
    answered with: the event is tried again in seconds, not after the events
    queue's 180-second visibility timeout."""
    import time

    from emailhub import model
    from emailhub.aws import sqs
    from emailhub.emails import email_transition
    from emailhub.local.poller import poll_events_once

    settings.EMAILHUB_EVENT_RETRY_SECONDS = 1
    email_id, _ = sent_email
    envelope = json.loads(sns_record(ses_event("delivery", "early-1"), "e1")["body"])
    sqs.send(settings.EMAILHUB_EVENTS_QUEUE, envelope)
    assert poll_events_once(wait_seconds=0) == 1  # not matched yet: left on the queue
    assert email_get(email_id)["status"] == "sent"
    # Now the worker records the message id SES answered with.
    email_transition(email_id, moment=model.now(), set_attrs={"ses_message_id": "early-1"})
    deadline = time.monotonic() + 5
    while email_get(email_id)["status"] != "delivered" and time.monotonic() < deadline:
        poll_events_once(wait_seconds=1)
    assert email_get(email_id)["status"] == "delivered"
    assert time.monotonic() < deadline


def test_overview_counts_emails_not_recipient_events(send, verified):
    """Three multi-recipient emails: each SES event names one recipient. The
    overview counts each email once: sent 3, and each in at most one of
    delivered, bounced and complained, whatever the order of its events."""
    from emailhub.identities import identity_verify
    from emailhub.stats import stats_overview

    identity_verify(identity="example.org")
    recipients = ["ann@example.org", "bob@example.org", "cat@example.org"]
    ids = [send(message(to=recipients[:1], cc=recipients[1:])).json()["id"] for _ in range(3)]
    drain_outbox()
    ses_ids = [email_get(email_id)["ses_message_id"] for email_id in ids]

    def for_recipient(name, ses_id, address):
        event = ses_event(name, ses_id)
        if name == "delivery":
            event["delivery"]["recipients"] = [address]
        elif name == "bounce_permanent":
            event["bounce"]["bouncedRecipients"][0]["emailAddress"] = address
        return event

    records, n = [], 0
    plans = [  # every recipient delivered; two delivered and one bounced; one delivered then a bounce and a complaint
        [("delivery", a) for a in recipients],
        [("delivery", recipients[0]), ("bounce_permanent", recipients[1]), ("delivery", recipients[2])],
        [("delivery", recipients[0]), ("bounce_permanent", recipients[1]), ("complaint", recipients[0])],
    ]
    for ses_id, plan in zip(ses_ids, plans):
        for name, address in plan:
            n += 1
            records.append(sns_record(for_recipient(name, ses_id, address), f"n{n}"))
    deliver(*records)

    assert [email_get(email_id)["status"] for email_id in ids] == ["delivered", "bounced", "complained"]
    overview = stats_overview()
    counts = overview["last_24h"]
    assert (counts["sent"], counts["delivered"], counts["bounced"], counts["complained"]) == (3, 1, 1, 1)
    assert counts["sent"] >= counts["delivered"] + counts["bounced"] + counts["complained"]
    assert overview["last_7d"] == counts
    assert max(sum(hour.values()) for _, hour in overview["hourly"]) == 3  # the chart's peak: 3 emails
