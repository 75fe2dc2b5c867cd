"""Endpoints: the SSRF guard at creation and at delivery, secret rotation,
replay (one, and every parked one in a time range), the test event."""

from datetime import timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from emailhub import model
from emailhub.webhooks import delivery
from emailhub.webhooks.deliveries import (
    NotReplayable, deliveries_recent, deliveries_replay_parked, delivery_get, delivery_replay,
)
from emailhub.webhooks.endpoints import (
    InvalidEndpoint, webhook_endpoint_create, webhook_endpoint_get, webhook_endpoint_rotate, webhook_endpoint_update,
)
from emailhub.webhooks.enqueue import webhook_test_send
from emailhub.webhooks.ssrf import UnsafeUrl, url_resolve
from tests.conftest import message, queue_messages
from tests.webhook_helpers import work_webhooks


@pytest.mark.parametrize("url", [
    "http://10.0.0.5/hook", "http://192.168.1.20/hook", "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/", "http://[::ffff:10.1.2.3]/", "http://100.64.0.1/", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://[fe80::1]/",
])
def test_private_metadata_and_reserved_addresses_are_refused_at_creation(aws, dns, url):
    with pytest.raises(UnsafeUrl):
        webhook_endpoint_create(url=url, types=["email.sent"])


def test_a_name_resolving_to_a_private_address_is_refused(aws, dns):
    dns["hooks.example.com"] = ["93.184.216.34", "10.0.0.7"]  # one bad address is enough
    dns["metadata.example.com"] = ["169.254.169.254"]
    with pytest.raises(UnsafeUrl, match="10.0.0.7"):
        webhook_endpoint_create(url="https://hooks.example.com/in", types=["email.sent"])
    with pytest.raises(UnsafeUrl, match="169.254.169.254"):
        webhook_endpoint_create(url="https://metadata.example.com/", types=["email.sent"])


def test_production_wants_https_and_refuses_loopback(aws, dns, settings):
    settings.PRODUCTION = True
    dns["hooks.example.com"] = ["93.184.216.34"]
    dns["sneaky.example.com"] = ["127.0.0.1"]
    with pytest.raises(UnsafeUrl, match="https://"):
        webhook_endpoint_create(url="http://hooks.example.com/", types=["email.sent"])
    for url in ("https://127.0.0.1/", "https://[::1]/", "https://sneaky.example.com/", "https://[::ffff:127.0.0.1]/"):
        with pytest.raises(UnsafeUrl):
            webhook_endpoint_create(url=url, types=["email.sent"])
    endpoint, _ = webhook_endpoint_create(url="https://hooks.example.com/in", types=["email.sent"])
    assert endpoint["url"] == "https://hooks.example.com/in"


@pytest.mark.parametrize("url", [
    "", "ftp://example.com/", "https://user:pw@example.com/", "https://exa mple.com/", "https://example.com/\r\nX: y",
    "https://example.com/" + "a" * 3000, "https://example.com/\x00", "https:///nohost", "https://example.com:99999/",
    "https://example.com/#frag", "javascript:alert(1)", "https://exa\\mple.com/",
])
def test_hostile_urls_are_refused_before_any_lookup(aws, dns, url):
    with pytest.raises(UnsafeUrl):
        url_resolve(url)


def test_unknown_event_types_are_refused(aws, receiver, dns):
    with pytest.raises(InvalidEndpoint):
        webhook_endpoint_create(url=receiver.url, types=["email.sent", "email.<script>"])
    with pytest.raises(InvalidEndpoint):
        webhook_endpoint_create(url=receiver.url, types=[])


def test_each_delivery_checks_the_address_again_and_connects_to_the_checked_one(aws, send, receiver, dns):
    port = receiver.server.server_port
    dns["hooks.example.test"] = ["127.0.0.1"]  # only the stub knows this name: the POST goes to the checked IP
    endpoint, _ = webhook_endpoint_create(url=f"http://hooks.example.test:{port}/in", types=["email.accepted"])
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    assert len(receiver.received) == 1
    assert receiver.received[0][0]["Host"] == f"hooks.example.test:{port}"

    dns["hooks.example.test"] = ["169.254.169.254"]  # the name now points at the metadata service
    send(message(to=["success@simulator.amazonses.com"], subject="second"))
    from emailhub.local.poller import poll_webhooks_once

    poll_webhooks_once(wait_seconds=0)
    assert len(receiver.received) == 1  # nothing went out
    refused = [d for d in deliveries_recent(endpoint_id=endpoint["id"]) if d["status"] == "retrying"]
    assert refused and "169.254.169.254" in refused[0]["last_error"]["message"]


def test_rotation_signs_with_both_secrets_for_a_day_then_only_the_new(aws, send, receiver, dns, monkeypatch):
    endpoint, old = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    new = webhook_endpoint_rotate(endpoint_id=endpoint["id"])
    assert new != old and new.startswith("whsec_")
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    headers, body = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)

    later = model.now() + timedelta(hours=25)
    monkeypatch.setattr(delivery, "_now", lambda: later)
    send(message(to=["success@simulator.amazonses.com"], subject="later"))
    work_webhooks()
    headers, body = receiver.received[-1]
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)
    assert "secrets" not in webhook_endpoint_get(endpoint_id=endpoint["id"])  # never shown again


def test_replay_sends_the_same_event_again_and_never_two_at_once(aws, send, receiver, dns):
    endpoint, secret = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    first = receiver.events()[0]
    delivery_replay(endpoint_id=endpoint["id"], event_id=first["id"])
    with pytest.raises(NotReplayable):  # already on its way
        delivery_replay(endpoint_id=endpoint["id"], event_id=first["id"])
    assert len(queue_messages("emailhub-webhooks")) == 1
    work_webhooks()
    again = Webhook(secret).verify(*reversed(receiver.received[-1]))
    assert again == first and len(receiver.received) == 2
    item = delivery_get(endpoint_id=endpoint["id"], event_id=first["id"])
    assert item["status"] == "delivered" and item["replays"] == 1 and item["attempts"] == 2


def test_replay_of_a_time_range_resends_only_its_parked_deliveries(aws, send, receiver, dns, settings):
    settings.EMAILHUB_WEBHOOK_RETRY_SECONDS = []  # the first failure parks
    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    receiver.status = 500
    for i in range(3):
        send(message(to=["success@simulator.amazonses.com"], subject=f"s{i}"))
    work_webhooks()
    assert len(queue_messages("emailhub-webhooks-dlq")) == 3
    receiver.status, receiver.received = 200, []
    send(message(to=["success@simulator.amazonses.com"], subject="fine"))
    work_webhooks()
    assert len(receiver.received) == 1
    moment = model.now()
    replayed, refused = deliveries_replay_parked(endpoint_id=endpoint["id"], since=moment - timedelta(hours=1),
                                                 until=moment + timedelta(minutes=1))
    assert len(replayed) == 3 and refused == []
    again, _ = deliveries_replay_parked(endpoint_id=endpoint["id"], since=moment - timedelta(hours=1),
                                        until=moment + timedelta(minutes=1))
    assert again == []  # queued now, not parked: a second range replay sends no second copy
    work_webhooks()
    assert len(receiver.received) == 4 and len({e["id"] for e in receiver.events()}) == 4
    nothing, _ = deliveries_replay_parked(endpoint_id=endpoint["id"], since=moment - timedelta(days=3),
                                          until=moment - timedelta(days=2))
    assert nothing == []


def test_test_event_reaches_the_endpoint_signed(aws, receiver, dns):
    endpoint, secret = webhook_endpoint_create(url=receiver.url, types=["email.bounced"])
    webhook_test_send(endpoint_id=endpoint["id"])
    work_webhooks()
    event = Webhook(secret).verify(*reversed(receiver.received[0]))
    assert event["type"] == "webhook.test" and event["data"]["endpoint_id"] == endpoint["id"]


def test_a_disabled_endpoint_parks_what_was_already_queued(aws, send, receiver, dns):
    endpoint, _ = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    send(message(to=["success@simulator.amazonses.com"]))
    webhook_endpoint_update(endpoint_id=endpoint["id"], enabled=False)
    work_webhooks()
    assert receiver.received == [] and len(queue_messages("emailhub-webhooks-dlq")) == 1
    assert deliveries_recent(endpoint_id=endpoint["id"])[0]["status"] == "parked"
