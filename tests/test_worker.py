"""The outbox worker: claims, retries, failures and the dead-letter queue."""

import json

import pytest

from emailhub import model
from emailhub.emails import email_get, email_transition
from emailhub.local.poller import as_lambda_record
from emailhub.errors import EmailBusy
from emailhub.services import email_deliver
from emailhub.worker import BatchFailed, outbox_handler, process_outbox_records
from tests.conftest import drain_outbox, message, queue_messages, ses_sent


@pytest.fixture
def accepted(send, verified):
    return send(message()).json()["id"]


def _record(email_id, message_id="m-1"):
    return {"messageId": message_id, "receiptHandle": "r", "body": json.dumps({"email_id": email_id})}


def test_duplicate_delivery_sends_once(accepted):
    outbox_handler({"Records": [_record(accepted, "a"), _record(accepted, "b")]})
    outbox_handler({"Records": [_record(accepted, "c")]})
    assert len(ses_sent()) == 1
    assert email_get(accepted)["attempts"] == 1


def test_transient_error_is_retried_then_sent(accepted, ses_failures):
    ses_failures("TooManyRequestsException", "Maximum sending rate exceeded.")
    ses_failures("InternalFailure", "SES had a moment", status=500)
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "sent"
    assert email["attempts"] == 3
    assert [e["type"] for e in email["events"]] == ["accepted", "attempt_failed", "attempt_failed", "sent"]
    assert [e["code"] for e in email["events"][1:3]] == ["TooManyRequestsException", "InternalFailure"]
    assert len(ses_sent()) == 1
    assert queue_messages("emailhub-dlq") == []


def test_permanent_error_fails_and_parks_the_full_email(accepted, ses_failures):
    ses_failures("MessageRejected", "Email address is not verified.")
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed"
    assert email["last_error"]["code"] == "MessageRejected"
    assert email["last_error"]["message"] == "Email address is not verified."
    [parked] = queue_messages("emailhub-dlq")
    assert parked["email_id"] == accepted
    assert parked["error"]["code"] == "MessageRejected"
    assert parked["request"]["subject"] == "Your order" and parked["request"]["text"] == "Thanks!"
    assert email["dlq_message_id"]
    assert [e["type"] for e in email["events"]] == ["accepted", "failed", "parked"]
    assert ses_sent() == []


def test_daily_quota_defers_without_burning_an_attempt(accepted, ses_failures, settings):
    settings.EMAILHUB_QUOTA_RETRY_SECONDS = 0
    ses_failures("LimitExceededException", "Daily message quota exceeded.")
    from emailhub.local.poller import poll_once

    poll_once(wait_seconds=0)
    email = email_get(accepted)
    assert email["status"] == "deferred" and email["attempts"] == 0
    assert email["last_error"]["code"] == "quota_exhausted"
    assert queue_messages("emailhub-dlq") == []
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "sent" and email["attempts"] == 1
    assert [e["type"] for e in email["events"]] == ["accepted", "deferred", "sent"]


def test_exhausted_attempts_fail_and_park_keeping_every_error(accepted, ses_failures, settings):
    settings.EMAILHUB_MAX_ATTEMPTS = 3
    for n in range(3):
        ses_failures("TooManyRequestsException", f"throttled {n}")
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed"
    assert email["last_error"]["code"] == "attempts_exhausted"
    assert "throttled 2" in email["last_error"]["message"]
    messages = [e.get("message") for e in email["events"] if e["type"] in ("attempt_failed", "failed")]
    assert messages[:2] == ["throttled 0", "throttled 1"] and "throttled 2" in messages[2]
    [parked] = queue_messages("emailhub-dlq")
    assert parked["attempts"] == 3
    assert ses_sent() == []


def test_email_held_by_another_worker_is_left_for_later(accepted):
    email_transition(accepted, to_status=model.SENDING, moment=model.now(),
                     set_attrs={"claim_id": "other", "lease_until": model.epoch(model.now()) + 60})
    with pytest.raises(EmailBusy):
        email_deliver(email_id=accepted)
    assert process_outbox_records([_record(accepted)]) == ["m-1"]
    with pytest.raises(BatchFailed):
        outbox_handler({"Records": [_record(accepted)]})
    assert ses_sent() == []


def test_worker_that_died_mid_send_is_parked_not_resent(accepted):
    email_transition(accepted, to_status=model.SENDING, moment=model.now(),
                     set_attrs={"claim_id": "dead", "lease_until": model.epoch(model.now()) - 1})
    assert email_deliver(email_id=accepted) == "failed"
    email = email_get(accepted)
    assert email["last_error"]["code"] == "outcome_unknown"
    assert len(queue_messages("emailhub-dlq")) == 1
    assert ses_sent() == []


def test_interrupted_park_is_completed_on_redelivery(accepted, ses_failures, monkeypatch):
    from emailhub import services
    from emailhub.errors import AwsUnavailable

    ses_failures("MessageRejected", "no")
    real_park = services.email_park
    monkeypatch.setattr(services, "email_park", lambda **k: (_ for _ in ()).throw(AwsUnavailable("sqs down")))
    assert process_outbox_records([_record(accepted)]) == ["m-1"]
    assert email_get(accepted)["status"] == "failed" and not email_get(accepted).get("dlq_message_id")
    monkeypatch.setattr(services, "email_park", real_park)
    assert process_outbox_records([_record(accepted)]) == []
    assert len(queue_messages("emailhub-dlq")) == 1


def test_message_for_unknown_email_is_dropped(aws):
    assert process_outbox_records([_record(model.new_email_id())]) == []


def test_malformed_record_is_dropped_not_retried_forever(aws):
    assert process_outbox_records([{"messageId": "x", "body": "not json"}]) == []


def test_poller_record_shape_matches_lambda(aws):
    record = as_lambda_record({"MessageId": "1", "ReceiptHandle": "h", "Body": "{}", "Attributes": {}})
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "eventSource"}


def test_retry_delay_grows_and_is_capped(settings):
    from emailhub.services import retry_delay

    settings.EMAILHUB_RETRY_BASE_SECONDS = 2
    assert 1 <= retry_delay(1) <= 2
    assert 8 <= retry_delay(4) <= 16
    assert retry_delay(30) <= 900
