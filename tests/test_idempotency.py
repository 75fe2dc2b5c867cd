"""Idempotency-Key: replays send nothing, conflicts are refused, races make one email."""

import threading

from django.test import Client

from emailhub.emails import email_get
from tests.conftest import drain_outbox, message, queue_messages, ses_sent


def test_same_key_and_body_replays_the_first_response(send, verified):
    first = send(message(), idempotency_key="order-1042")
    again = send(message(), idempotency_key="order-1042")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    drain_outbox()
    assert len(ses_sent()) == 1


def test_same_key_with_another_body_is_a_409(send, verified):
    send(message(), idempotency_key="order-1042")
    response = send(message(subject="Another"), idempotency_key="order-1042")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_scoped_per_api_key(send, verified):
    from emailhub.apikeys import api_key_create

    _, other = api_key_create(name="other app")
    a = send(message(), idempotency_key="k1")
    b = send(message(), key=other, idempotency_key="k1")
    assert a.json()["id"] != b.json()["id"]


def test_overlong_key_is_a_400(send, verified):
    response = send(message(), idempotency_key="k" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


def test_expired_record_no_longer_replays(send, verified, api_key):
    from emailhub.aws import dynamodb
    from emailhub.services import _idempotency_key

    first = send(message(), idempotency_key="k").json()
    record_key = _idempotency_key(api_key.split("_")[1], "k")
    dynamodb.update(*record_key, expression="SET expires_at = :past", values={":past": 1})
    second = send(message(), idempotency_key="k").json()
    assert second["id"] != first["id"]


def test_replay_of_an_email_stranded_before_enqueue_puts_it_back(send, verified):
    email_id = send(message(), idempotency_key="k").json()["id"]
    queue_messages("emailhub-outbox")
    from emailhub.aws import sqs

    sqs.delete("emailhub-outbox", [m["ReceiptHandle"] for m in sqs.receive("emailhub-outbox")])
    assert queue_messages("emailhub-outbox") == []  # as if the process died before enqueuing
    send(message(), idempotency_key="k")
    drain_outbox()
    assert email_get(email_id)["status"] == "sent"
    assert len(ses_sent()) == 1


def test_twenty_concurrent_identical_requests_make_one_email(api_key, verified):
    results = []
    barrier = threading.Barrier(20)

    def post():
        barrier.wait()
        response = Client().post(
            "/send-email", data=message(), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api_key}", HTTP_IDEMPOTENCY_KEY="race-1",
        )
        results.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [202] * 20
    assert len({email_id for _, email_id in results}) == 1
    drain_outbox()
    assert len(ses_sent()) == 1


def test_enqueue_failure_accepts_nothing_and_a_retry_succeeds(send, verified, monkeypatch):
    from emailhub import services
    from emailhub.errors import AwsUnavailable

    real = services.sqs.send
    monkeypatch.setattr(services.sqs, "send", lambda *a, **k: (_ for _ in ()).throw(AwsUnavailable("down")))
    failed = send(message(), idempotency_key="k")
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "queue_unavailable"
    monkeypatch.setattr(services.sqs, "send", real)
    retried = send(message(), idempotency_key="k")
    assert retried.status_code == 202 and "Idempotent-Replayed" not in retried
    drain_outbox()
    assert len(ses_sent()) == 1


def test_transaction_conflicts_are_retried_then_replayed(send, verified, monkeypatch):
    """Real DynamoDB cancels racing transactions on one item as TransactionConflict
    (moto never does); the loser tries again and replays the winner's answer."""
    from emailhub.aws import dynamodb
    from emailhub.errors import TransactionConflict

    first = send(message(), idempotency_key="race").json()
    real = dynamodb.transact
    conflicts = []

    def conflicting(writes, **kwargs):
        if len(conflicts) < 2:
            conflicts.append(1)
            raise TransactionConflict("Transaction is ongoing for the item")
        return real(writes, **kwargs)

    monkeypatch.setattr(dynamodb, "transact", conflicting)
    again = send(message(), idempotency_key="race")
    assert again.status_code == 202 and again.json() == first and len(conflicts) == 2
