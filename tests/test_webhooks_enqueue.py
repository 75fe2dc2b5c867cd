"""The hook at each status change: no endpoint, no AWS call; a queue that
refuses the event parks it as unsent instead of losing it or failing the email."""

from emailhub.aws import calls
from emailhub.emails import email_get
from emailhub.webhooks.endpoints import webhook_endpoint_create
from emailhub.webhooks.enqueue import webhooks_unsent, webhooks_unsent_flush
from tests.conftest import drain_outbox, message, queue_messages
from tests.webhook_helpers import work_webhooks


def _spy(monkeypatch):
    seen = []
    real = calls.call

    def spy(service, operation, **kwargs):
        seen.append(f"{service}.{operation}")
        return real(service, operation, **kwargs)

    for module in ("dynamodb", "sqs"):
        monkeypatch.setattr(f"emailhub.aws.{module}.call", spy)
    return seen


def test_without_endpoints_a_sent_email_costs_no_extra_call(aws, send, monkeypatch):
    send(message(to=["success@simulator.amazonses.com"]))  # warm: the empty endpoint list is cached
    drain_outbox()
    seen = _spy(monkeypatch)
    send(message(to=["success@simulator.amazonses.com"]))
    drain_outbox()
    assert not any("webhooks" in str(c) for c in seen)
    assert "dynamodb.query" not in seen  # no endpoint lookup: the cached list answers
    assert queue_messages("emailhub-webhooks") == []


def test_with_an_endpoint_each_change_is_one_batch_call(aws, send, receiver, dns, monkeypatch):
    webhook_endpoint_create(url=receiver.url, types=["email.accepted", "email.sent"])
    send(message(to=["success@simulator.amazonses.com"]))
    seen = _spy(monkeypatch)
    drain_outbox()  # the worker's sent write returns the item: no extra read
    assert seen.count("sqs.send_message_batch") == 1
    assert len(queue_messages("emailhub-webhooks")) == 2


def test_a_refused_enqueue_parks_the_event_and_the_email_goes_on(aws, send, receiver, dns, monkeypatch):
    from emailhub.aws import sqs

    webhook_endpoint_create(url=receiver.url, types=["email.accepted", "email.sent"])
    real = sqs.send_batch

    def refusing(queue, bodies):
        if "webhooks" in queue:
            return list(range(len(bodies)))
        return real(queue, bodies)

    monkeypatch.setattr(sqs, "send_batch", refusing)
    email_id = send(message(to=["success@simulator.amazonses.com"])).json()["id"]
    drain_outbox()
    assert email_get(email_id)["status"] == "sent"  # the email does not suffer for its webhook
    assert sorted(u["summary"]["event_type"] for u in webhooks_unsent()) == ["email.accepted", "email.sent"]

    monkeypatch.setattr(sqs, "send_batch", real)
    assert webhooks_unsent_flush() == (2, 0)
    assert webhooks_unsent() == []
    work_webhooks()
    assert [e["type"] for e in receiver.events()] == ["email.accepted", "email.sent"]


def test_a_large_event_for_many_endpoints_is_not_one_oversized_batch(aws, send, receiver, dns, monkeypatch):
    for _ in range(10):
        webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    batches = []
    real = calls.call

    def spy(service, operation, **kwargs):
        if operation == "send_message_batch":
            batches.append(sum(len(e["MessageBody"].encode()) for e in kwargs["Entries"]))
        return real(service, operation, **kwargs)

    monkeypatch.setattr("emailhub.aws.sqs.call", spy)
    # About 45 KB of addresses, subject and tags: ten such messages are far over a batch's 256 KiB.
    addresses = [f"{'N' * 250} <recipient-{n}@simulator.amazonses.com>" for n in range(50)]
    response = send(message(to=addresses, subject="s" * 900, tags={f"t{n:03d}{'k' * 250}": "v" * 256
                                                                   for n in range(50)}))
    assert response.status_code == 202, response.json()
    assert all(size <= 256 * 1024 for size in batches), batches  # SQS refuses a larger batch
    assert webhooks_unsent() == []
    assert len(queue_messages("emailhub-webhooks")) == 10
