"""Webhooks end to end: the email's status changes reach a receiver on
127.0.0.1, signed (verified with the `standardwebhooks` library, not
Emailhub's code), in order, filtered by event type; a receiver that is down
gets everything once it is back; one that always fails ends parked and its
endpoint disabled."""

from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from emailhub import model
from emailhub.audit import audit_page
from emailhub.emails import email_get
from emailhub.local import ses_simulator
from emailhub.local.poller import poll_events_once
from emailhub.webhooks import delivery
from emailhub.webhooks.deliveries import deliveries_recent
from emailhub.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_get
from emailhub.webhooks.events import event_types
from tests.conftest import drain_outbox, message, queue_messages
from tests.webhook_helpers import work_webhooks

ALL_TYPES = event_types()


def simulate_ses(email_id):
    """What SES (the local simulator) publishes for the email, through SNS to the events queue, worked."""
    email = email_get(email_id)
    summary = email["summary"]
    ses_simulator.publish_events(message_id=email["ses_message_id"], sender=summary["sender"], to=summary["to"],
                                 cc=[], bcc=[], subject=summary["subject"], tags=summary["tags"],
                                 configuration_set="emailhub")
    while poll_events_once(wait_seconds=0):
        pass


def verified_events(receiver, secret):
    """Each POST checked with standardwebhooks; returns the payloads."""
    hook = Webhook(secret)
    return [hook.verify(body, headers) for headers, body in receiver.received]


@pytest.mark.parametrize("address, final", [
    ("success@simulator.amazonses.com", "email.delivered"),
    ("bounce@simulator.amazonses.com", "email.bounced"),
])
def test_receiver_gets_each_status_signed_and_in_order(aws, send, receiver, dns, address, final):
    endpoint, secret = webhook_endpoint_create(url=receiver.url, types=ALL_TYPES)
    email_id = send(message(to=[address], tags={"order": "42"})).json()["id"]
    drain_outbox()
    simulate_ses(email_id)
    work_webhooks()

    events = verified_events(receiver, secret)
    assert [e["type"] for e in events] == ["email.accepted", "email.sent", final]
    assert all(e["data"]["email_id"] == email_id for e in events)
    sequences = [e["data"]["sequence"] for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert len({e["id"] for e in events}) == 3
    assert events[0]["data"]["to"] == [address] and events[0]["data"]["tags"] == {"order": "42"}
    assert events[1]["data"]["ses_message_id"] == email_get(email_id)["ses_message_id"]
    assert [h["webhook-id"] for h, _ in receiver.received] == [e["id"] for e in events]
    if final == "email.bounced":
        details = events[2]["data"]["details"]
        assert details["bounce_type"] == "Permanent" and details["recipients"] == [address]
    listed = deliveries_recent(endpoint_id=endpoint["id"])
    assert sorted(d["summary"]["event_type"] for d in listed) == sorted(e["type"] for e in events)
    assert {d["status"] for d in listed} == {"delivered"}


def test_an_endpoint_gets_only_the_types_it_asked_for(aws, send, receiver, dns):
    _, secret = webhook_endpoint_create(url=receiver.url, types=["email.delivered", "email.bounced"])
    email_id = send(message(to=["success@simulator.amazonses.com"])).json()["id"]
    drain_outbox()
    simulate_ses(email_id)
    work_webhooks()
    assert [e["type"] for e in verified_events(receiver, secret)] == ["email.delivered"]


def test_disabled_endpoints_get_nothing_enqueued(aws, send, receiver, dns):
    from emailhub.webhooks.endpoints import webhook_endpoint_update

    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=ALL_TYPES)
    webhook_endpoint_update(endpoint_id=endpoint["id"], enabled=False)
    send(message(to=["success@simulator.amazonses.com"]))
    drain_outbox()
    assert queue_messages("emailhub-webhooks") == []


def test_receiver_down_for_a_while_gets_everything_once_back(aws, send, receiver, dns, settings):
    from emailhub.local.poller import poll_webhooks_once

    settings.EMAILHUB_WEBHOOK_RETRY_SECONDS = [0] * 20
    _, secret = webhook_endpoint_create(url=receiver.url, types=ALL_TYPES)
    receiver.down = True  # connections dropped without an answer
    ids = [send(message(to=["success@simulator.amazonses.com"], subject=f"n{i}")).json()["id"] for i in range(3)]
    drain_outbox()
    for _ in range(4):  # a few rounds of failed attempts; each message comes back
        poll_webhooks_once(wait_seconds=0)
    assert receiver.received == []
    assert len(queue_messages("emailhub-webhooks")) == 6  # 3 emails x (accepted, sent), none lost
    receiver.down = False
    work_webhooks()
    events = verified_events(receiver, secret)
    got = sorted((e["data"]["email_id"], e["type"]) for e in events)
    assert got == sorted((i, t) for i in ids for t in ("email.accepted", "email.sent"))  # each exactly once
    assert queue_messages("emailhub-webhooks") == [] and queue_messages("emailhub-webhooks-dlq") == []


def test_always_failing_receiver_ends_parked_and_its_endpoint_disabled(aws, send, receiver, dns, settings,
                                                                      monkeypatch):
    settings.EMAILHUB_WEBHOOK_RETRY_SECONDS = [0, 0, 0]
    settings.EMAILHUB_WEBHOOK_DISABLE_AFTER_HOURS = 24
    clock = {"now": model.now()}
    monkeypatch.setattr(delivery, "_now", lambda: clock["now"])
    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    receiver.status = 500
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()  # 4 attempts (the first and 3 retries), then parked
    assert len(receiver.received) == 4
    parked = queue_messages("emailhub-webhooks-dlq")
    assert len(parked) == 1 and "gave up after 4 attempts" in parked[0]["reason"]
    item = deliveries_recent(endpoint_id=endpoint["id"])[0]
    assert item["status"] == "parked" and item["summary"]["code"] == 500
    assert "&lt;b&gt;" not in item["summary"]["snippet"] and len(item["summary"]["snippet"]) <= 300
    assert webhook_endpoint_get(endpoint_id=endpoint["id"])["enabled"] is True  # failing, not yet for a day

    clock["now"] += timedelta(hours=25)
    send(message(to=["success@simulator.amazonses.com"], subject="later"))
    work_webhooks()
    after = webhook_endpoint_get(endpoint_id=endpoint["id"])
    assert after["enabled"] is False and "failing since" in after["disabled_reason"]
    assert len(queue_messages("emailhub-webhooks-dlq")) == 2
    entries, _ = audit_page(month=model.iso(model.now())[:7])
    assert any(e["summary"]["action"] == "webhook.disable" and e["summary"]["target"] == endpoint["id"]
               for e in entries)


def test_a_success_ends_the_failing_streak(aws, send, receiver, dns, settings, monkeypatch):
    settings.EMAILHUB_WEBHOOK_RETRY_SECONDS = [0]
    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    receiver.statuses = [500]
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    assert [e["type"] for e in receiver.events()] == ["email.accepted", "email.accepted"]
    assert "failing_since" not in webhook_endpoint_get(endpoint_id=endpoint["id"])


def test_complaint_and_delivery_delay_carry_their_details(aws, send, receiver, dns):
    from emailhub.worker import process_event_records
    from tests.test_ses_events import ses_event, sns_record

    _, secret = webhook_endpoint_create(url=receiver.url,
                                        types=["email.delivery_delayed", "email.delivered", "email.complained"])
    email_id = send(message(to=["complaint@simulator.amazonses.com"])).json()["id"]
    drain_outbox()
    ses_id = email_get(email_id)["ses_message_id"]
    assert process_event_records([sns_record(ses_event(name, ses_id), f"n{i}")
                                  for i, name in enumerate(("delivery_delay", "delivery", "complaint"))]) == []
    work_webhooks()
    events = sorted(verified_events(receiver, secret), key=lambda e: e["data"]["sequence"])
    assert [e["type"] for e in events] == ["email.delivery_delayed", "email.delivered", "email.complained"]
    assert events[0]["data"]["status"] == "sent" and events[0]["data"]["details"]["delay_type"]
    assert events[2]["data"]["details"]["feedback_type"]


def test_event_types_follow_the_statuses(monkeypatch):
    from emailhub.webhooks.events import event_type_for

    monkeypatch.setattr(model, "STATUSES", model.STATUSES + ("scheduled", "canceled", "expired"))
    types = event_types()
    assert {"email.canceled", "email.expired", "email.accepted", "email.bounced"} <= set(types)
    assert "email.scheduled" not in types  # announced by email.accepted, whose data has the status and send_at
    assert "email.sending" not in types and event_type_for("canceled") == "email.canceled"


def test_an_event_being_posted_is_not_posted_again_by_a_duplicate_message(aws, send, receiver, dns, monkeypatch):
    from emailhub.webhooks.deliveries import DeliveryBusy, delivery_claim

    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    send(message(to=["success@simulator.amazonses.com"]))
    [queued] = queue_messages("emailhub-webhooks")
    # Another worker holds it (SQS handed the same message out twice).
    delivery_claim(endpoint_id=endpoint["id"], event=queued["event"], moment=model.now(), lease_seconds=60)
    with pytest.raises(DeliveryBusy):
        delivery.webhook_deliver(endpoint_id=endpoint["id"], event=queued["event"])
    assert receiver.received == []
    # Its lease runs out (the worker died): the message is tried again and posted once.
    later = model.now() + timedelta(minutes=5)
    monkeypatch.setattr(delivery, "_now", lambda: later)
    assert delivery.webhook_deliver(endpoint_id=endpoint["id"], event=queued["event"]) == "delivered"
    assert delivery.webhook_deliver(endpoint_id=endpoint["id"], event=queued["event"]) == "duplicate"
    assert len(receiver.received) == 1
