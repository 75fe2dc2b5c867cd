"""The outbox worker: claims, retries, failures and the dead-letter queue."""

import json

import pytest

from emailhub import model
from emailhub.emails import email_get, email_transition
from emailhub.local.poller import as_lambda_record
from emailhub.errors import EmailBusy
from emailhub.services import email_deliver
from emailhub.worker import outbox_handler, process_outbox_records
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


def test_permanent_error_fails_and_parks_the_email(accepted, ses_failures):
    ses_failures("MessageRejected", "Email address is not verified.")
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed"
    assert email["last_error"]["code"] == "MessageRejected"
    assert email["last_error"]["message"] == "Email address is not verified."
    [parked] = queue_messages("emailhub-dlq")
    assert parked["email_id"] == accepted
    assert parked["error"]["code"] == "MessageRejected"
    # The parked message is small (id and error); the request stays with the email.
    assert set(parked) == {"email_id", "error", "attempts", "failed_at"}
    assert email["request"]["subject"] == "Your order" and email["request"]["text"] == "Thanks!"
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
    assert outbox_handler({"Records": [_record(accepted)]}) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
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


# --- any error uses an attempt; the claim comes last ---------------------------

def _accept_unchecked(request):
    """Store an email the way the API would, without the API's checks: what an
    older release, a bug or a hand-edited item can leave for the worker."""
    from emailhub.services import email_accept, outbox_enqueue

    email_id = email_accept(request=request, api_key_prefix="tests").body["id"]
    outbox_enqueue(email_id=email_id)
    return email_id


def test_a_request_the_mime_builder_refuses_fails_and_parks_at_once(verified):
    # The reproduction: a vertical tab once looped `retrying` with 0 attempts.
    email_id = _accept_unchecked(message(subject="Order\u000bX-Injected: yes", headers={"X-Order": "1"}))
    drain_outbox()
    email = email_get(email_id)
    assert email["status"] == "failed" and email["attempts"] == 1
    assert email["last_error"]["code"] == "invalid_message" and "HeaderParseError" in email["last_error"]["message"]
    [parked] = queue_messages("emailhub-dlq")
    assert parked["email_id"] == email_id and parked["error"]["code"] == "invalid_message"
    assert ses_sent() == []


def test_an_unknown_error_uses_every_attempt_then_parks(accepted, monkeypatch, settings):
    from emailhub import services

    settings.EMAILHUB_MAX_ATTEMPTS = 3
    monkeypatch.setattr(services, "ses_arguments", lambda **k: (_ for _ in ()).throw(LookupError("odd")))
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed" and email["attempts"] == 3
    assert email["last_error"]["code"] == "attempts_exhausted" and "LookupError: odd" in email["last_error"]["message"]
    assert [e["type"] for e in email["events"]].count("attempt_failed") == 2
    assert len(queue_messages("emailhub-dlq")) == 1 and ses_sent() == []


def test_parking_an_email_with_a_large_summary_fits_on_the_queue(verified, ses_failures):
    tags = {f"{i:03d}" + "n" * 253: "v" * 256 for i in range(230)}  # a ~120 KB summary
    email_id = _accept_unchecked(message(tags=tags, text="x" * 90_000))
    ses_failures("MessageRejected", "no")
    drain_outbox()
    assert email_get(email_id)["status"] == "failed"
    [parked] = queue_messages("emailhub-dlq")
    assert parked["email_id"] == email_id and len(json.dumps(parked)) < 2000


def test_a_long_error_is_recorded_shortened(accepted, ses_failures):
    ses_failures("MessageRejected", "x" * 300_000)
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed" and len(email["last_error"]["message"]) <= 1001
    [parked] = queue_messages("emailhub-dlq")
    assert len(json.dumps(parked)) < 2000


def test_the_claim_comes_after_loading_building_and_pacing(accepted, monkeypatch):
    from emailhub import services

    seen = []

    def slot(**kwargs):
        seen.append(email_get(accepted)["status"])
        return 0.0

    monkeypatch.setattr(services.pacing, "wait_for_slot", slot)
    drain_outbox()
    assert seen == ["queued"] and email_get(accepted)["status"] == "sent"


class Killed(BaseException):
    """Stands in for SIGKILL in-process (tests/test_crash_drills.py kills for real)."""


def _die_at(monkeypatch, step):
    from emailhub import services

    def fault_point(name):
        if name == step:
            raise Killed(name)

    monkeypatch.setattr(services, "fault_point", fault_point)


def test_a_crash_before_the_claim_is_retried_as_if_nothing_happened(accepted, monkeypatch):
    _die_at(monkeypatch, "before_claim")
    with pytest.raises(Killed):
        process_outbox_records([_record(accepted)])
    email = email_get(accepted)
    assert email["status"] == "queued" and email["attempts"] == 0 and "claim_id" not in email
    monkeypatch.undo()
    assert process_outbox_records([_record(accepted)]) == []
    email = email_get(accepted)
    assert email["status"] == "sent" and email["attempts"] == 1 and len(ses_sent()) == 1


def test_a_crash_after_the_ses_call_is_an_unknown_outcome(accepted, monkeypatch, settings):
    _die_at(monkeypatch, "after_ses_call")
    with pytest.raises(Killed):
        process_outbox_records([_record(accepted)])
    assert email_get(accepted)["status"] == "sending" and len(ses_sent()) == 1
    monkeypatch.undo()
    settings.EMAILHUB_CLAIM_LEASE_SECONDS = -1  # the lease has run out
    email_transition(accepted, moment=model.now(), set_attrs={"lease_until": 0})
    assert process_outbox_records([_record(accepted)]) == []
    email = email_get(accepted)
    assert email["status"] == "failed" and email["last_error"]["code"] == "outcome_unknown"
    assert len(ses_sent()) == 1


def test_an_email_retried_twice_counts_once_as_retrying(send, verified, ses_failures):
    from emailhub.stats import stats_overview

    ses_failures("TooManyRequestsException", "slow down")
    ses_failures("ServiceUnavailable", "down", status=503)
    email_id = send(message()).json()["id"]
    drain_outbox()
    assert [e["type"] for e in email_get(email_id)["events"]].count("attempt_failed") == 2
    counts = stats_overview()["last_24h"]
    assert (counts["retrying"], counts["sent"]) == (1, 1)
