"""POST /emails/batch: strict and permissive, idempotency, limits, AWS calls."""


import pytest

from emailhub import identities, model
from emailhub.emails import email_get
from emailhub.suppression import suppression_add
from tests.conftest import api_post, drain_outbox, message, queue_messages, ses_sent


@pytest.fixture
def batch(client, api_key):
    def _batch(body, *, idempotency_key=None, raw=None):
        return api_post(client, "/emails/batch", body, key=api_key, idempotency_key=idempotency_key, raw=raw)

    return _batch


def hundred(bad_index=None, bad=None):
    emails = [message(subject=f"Order {i}") for i in range(100)]
    if bad_index is not None:
        emails[bad_index] = bad
    return emails


def test_a_batch_of_100_is_accepted_and_every_email_sent(batch, verified):
    response = batch({"emails": hundred()})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 100 and body["rejected"] == 0
    assert [entry["index"] for entry in body["data"]] == list(range(100))
    assert len({entry["id"] for entry in body["data"]}) == 100
    drain_outbox()
    assert len(ses_sent()) == 100
    assert email_get(body["data"][42]["id"])["status"] == model.SENT


def test_strict_with_one_invalid_email_among_100_accepts_nothing(batch, verified):
    response = batch({"emails": hundred(57, message(to=["not an address"]))})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_batch" and "nothing was accepted" in error["message"]
    assert [(e["index"], e["code"], e["field"]) for e in error["errors"]] == [(57, "invalid_address", "to.0")]
    assert queue_messages("emailhub-outbox") == []


def test_permissive_accepts_the_99_valid_and_names_the_invalid_one(batch, verified):
    response = batch({"mode": "permissive", "emails": hundred(3, message(text=None))})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 99 and body["rejected"] == 1
    assert body["data"][3]["error"] == {"code": "missing_body", "message": "Give 'text', 'html' or both.",
                                        "field": None}
    assert "id" not in body["data"][3] and all("id" in body["data"][i] for i in range(100) if i != 3)
    drain_outbox()
    assert len(ses_sent()) == 99


def test_permissive_reports_suppressed_and_unverified_recipients_per_index(batch, verified):
    identities.identity_verify(identity="gone@example.com")
    suppression_add(address="gone@example.com", reason="bounce", actor="tests")
    emails = [message(), message(to=["gone@example.com"]), message(to=["stranger@example.com"])]
    body = batch({"mode": "permissive", "emails": emails}).json()
    assert "id" in body["data"][0]
    assert body["data"][1]["error"]["code"] == "suppressed_recipient"
    assert body["data"][2]["error"]["code"] == "unverified_identity"


def test_the_same_key_and_body_replay_the_same_ids_and_another_body_is_a_conflict(batch, verified):
    body = {"emails": [message(subject=f"Order {i}") for i in range(5)]}
    first = batch(body, idempotency_key="orders-1")
    again = batch(body, idempotency_key="orders-1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert [e["id"] for e in again.json()["data"]] == [e["id"] for e in first.json()["data"]]
    conflict = batch({"emails": body["emails"][:4]}, idempotency_key="orders-1")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_key_reused"
    drain_outbox()
    assert len(ses_sent()) == 5  # the replay sent nothing more


def test_scheduled_emails_in_a_batch_wait(batch, verified, clock):
    send_at = (clock.now + clock.minutes(5)).isoformat()
    body = batch({"emails": [message(), message(send_at=send_at)]}).json()
    assert [e["status"] for e in body["data"]] == ["queued", "scheduled"]
    drain_outbox()
    assert len(ses_sent()) == 1


@pytest.mark.parametrize("emails, code", [
    ([message()] * 101, "too_many_emails"),
    ([], "empty_batch"),
    ("not a list", "invalid_field"),
])
def test_hostile_batches_are_refused_before_any_email_is_read(batch, verified, emails, code):
    response = batch({"emails": emails})
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_a_huge_batch_body_is_refused_by_size(batch, verified, settings):
    settings.EMAILHUB_MAX_REQUEST_BYTES = 10_000
    response = batch({"emails": [message(text="x" * 200) for _ in range(80)]})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_a_batch_item_that_is_not_an_object_is_an_error_at_its_index(batch, verified):
    body = batch({"mode": "permissive", "emails": [message(), 7, None]}).json()
    assert [("id" in e, e.get("error", {}).get("code")) for e in body["data"]] == [
        (True, None), (False, "invalid_field"), (False, "invalid_field")]


def test_per_email_limits_apply_inside_a_batch(batch, verified, settings):
    settings.EMAILHUB_MAX_RECIPIENTS = 2
    response = batch({"mode": "permissive", "emails": [
        message(to=["a@example.com", "b@example.com", "c@example.com"]),
        message(headers={"X-SES-CONFIGURATION-SET": "other"}),
        message(send_at="2020-01-01T00:00:00Z"),
        message(send_at="tomorrow"),
    ]})
    # Permissive with nothing valid accepts nothing either: a 400 listing each error.
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["errors"]] == [
        "too_many_recipients", "forbidden_header", "send_at_in_past", "invalid_datetime"]


def test_a_batch_of_100_takes_few_aws_calls(batch, verified, dynamodb_calls):
    warm = batch({"emails": [message()]})  # warm the caches (API key, identities, queue URL)
    items_per_email = 1 + len(email_get(warm.json()["data"][0]["id"])["companions"])
    dynamodb_calls.clear()
    assert batch({"emails": hundred()}).status_code == 202
    # One batch read of the suppression list, then as many whole emails as
    # fit in each 100-item transaction (never one per email).
    transactions = -(-100 // (100 // items_per_email))
    assert dynamodb_calls.count("transact_write_items") == transactions < 10
    assert dynamodb_calls.count("batch_get_item") == 1
    assert len(dynamodb_calls) == transactions + 1


def _outbox_refuses(monkeypatch, *, after=0):
    """SQS takes the first `after` SendMessageBatch calls, then is unreachable."""
    from emailhub.aws import sqs
    from emailhub.errors import AwsUnavailable

    real, made = sqs._sqs, []

    def failing(operation, **kwargs):
        if operation == "send_message_batch":
            made.append(1)
            if len(made) > after:
                raise AwsUnavailable("SQS send_message_batch: injected")
        return real(operation, **kwargs)

    monkeypatch.setattr(sqs, "_sqs", failing)
    return lambda: monkeypatch.setattr(sqs, "_sqs", real)


def test_outbox_down_with_a_key_is_a_503_and_the_retry_finishes_the_batch(batch, verified, monkeypatch):
    body = {"emails": [message(subject=f"Order {i}") for i in range(15)]}
    restore = _outbox_refuses(monkeypatch, after=1)  # 10 on the outbox, the last 5 not
    failed = batch(body, idempotency_key="orders-9")
    assert failed.status_code == 503 and failed["Retry-After"]
    restore()
    retried = batch(body, idempotency_key="orders-9")
    assert retried.status_code == 202 and retried["Idempotent-Replayed"] == "true"
    drain_outbox()
    assert len(ses_sent()) == 15  # every email once, none twice
    assert {email_get(e["id"])["status"] for e in retried.json()["data"]} == {"sent"}


def test_outbox_down_without_a_key_withdraws_what_it_could_not_enqueue(batch, verified, monkeypatch):
    _outbox_refuses(monkeypatch, after=1)
    response = batch({"emails": [message(subject=f"Order {i}") for i in range(15)]})
    assert response.status_code == 202
    data = response.json()["data"]
    assert [("id" in d) for d in data] == [True] * 10 + [False] * 5
    assert {d["error"]["code"] for d in data[10:]} == {"queue_unavailable"}
    drain_outbox()
    assert len(ses_sent()) == 10


def test_dynamodb_down_mid_batch_accepts_nothing_and_a_retry_starts_afresh(batch, verified, monkeypatch):
    from emailhub.aws import dynamodb
    from emailhub.errors import AwsUnavailable

    real, made = dynamodb._dynamo, []

    def second_transaction_fails(operation, **kwargs):
        if operation == "transact_write_items" and any("Put" in i for i in kwargs["TransactItems"]):
            made.append(1)
            if len(made) == 2:
                raise AwsUnavailable("DynamoDB transact_write_items: injected")
        return real(operation, **kwargs)

    monkeypatch.setattr(dynamodb, "_dynamo", second_transaction_fails)
    body = {"emails": hundred()}
    assert batch(body, idempotency_key="orders-10").status_code == 503
    monkeypatch.setattr(dynamodb, "_dynamo", real)
    drain_outbox()
    assert ses_sent() == []
    retried = batch(body, idempotency_key="orders-10")
    assert retried.status_code == 202 and "Idempotent-Replayed" not in retried
    drain_outbox()
    assert len(ses_sent()) == 100
