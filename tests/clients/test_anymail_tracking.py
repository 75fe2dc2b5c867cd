"""Emailhub's signed webhooks reach the example project's anymail `tracking`
receiver (its own process, runserver on 127.0.0.1): a bounce from the SES
mailbox simulator arrives once, as anymail's "bounced"; anything not signed
with the endpoint's secret is refused and signals nothing."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from emailhub.webhooks import signing
from tests.clients.anymail_helpers import (  # noqa: F401 (a fixture)
    events_in, example_env, example_server_factory, free_port, send_examples, tracking_url,
)
from tests.test_local_stack import _wait_for, local_stack  # noqa: F401 (a fixture)

BOUNCE = "bounce@simulator.amazonses.com"


def _post(url, body, headers):
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _unsuppress(address):
    from emailhub.suppression import suppression_remove

    suppression_remove(address=address)


def _wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_simulator_bounce_reaches_the_tracking_receiver_once(local_stack, example_server_factory, tmp_path):
    from emailhub.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_update

    base, key = local_stack
    _unsuppress(BOUNCE)  # the emulator's suppression list outlives other tests' bounces
    events_file = tmp_path / "events.jsonl"
    endpoint = None
    try:
        port = free_port()
        endpoint, secret = webhook_endpoint_create(
            url=tracking_url(port), types=["email.accepted", "email.sent", "email.delivered", "email.bounced"])
        example_server_factory(example_env(base_url=base, key=key, events_file=events_file, secret=secret), port)

        [status] = send_examples(example_env(base_url=base, key=key), "alternatives", "--to", BOUNCE,
                                 "--subject", f"bounce {uuid.uuid4().hex[:8]}", "--tag", "welcome",
                                 "--metadata", "user_id=42")
        email_id = status["message_id"]
        _wait_for(base, key, email_id, "bounced")
        assert _wait_until(lambda: any(e["event_type"] == "bounced" for e in events_in(events_file)))
        time.sleep(3)  # time for a duplicate delivery to show, were there one
    finally:
        if endpoint:
            webhook_endpoint_update(endpoint_id=endpoint["id"], enabled=False)
        _unsuppress(BOUNCE)

    events = [e for e in events_in(events_file) if e["message_id"] == email_id]
    bounced = [e for e in events if e["event_type"] == "bounced"]
    assert len(bounced) == 1, bounced
    [bounce] = bounced
    assert bounce["esp_name"] == "Emailhub" and bounce["recipient"] == BOUNCE
    assert bounce["reject_reason"] == "bounced" and "550 5.1.1" in bounce["mta_response"]
    assert bounce["tags"] == ["welcome"] and bounce["metadata"] == {"user_id": "42"}
    assert bounce["event_id"] == bounce["esp_event"]["id"] and bounce["esp_event"]["type"] == "email.bounced"
    assert bounce["timestamp"].startswith(bounce["esp_event"]["created_at"][:19])
    assert {"queued", "sent"} <= {e["event_type"] for e in events}  # email.accepted and email.sent before it


def _signed(secret, body, *, msg_id="evt_1", timestamp=None):
    return signing.signed_headers([secret], msg_id=msg_id, timestamp=timestamp or time.time(), body=body)


def _event(email_id="01abc", type_="email.delivered"):
    return json.dumps({"type": type_, "id": f"evt_{email_id}_3", "created_at": "2026-12-02T10:00:00.000+00:00",
                       "data": {"email_id": email_id, "status": "delivered", "to": ["Ann <ann@example.com>"],
                                "cc": ["bob@example.com"], "tags": {"tag_x": "1", "meta_k": "v", "other": "y"},
                                "timeline_event": "delivery",
                                "details": {"recipients": ["ann@example.com"], "smtp_response": "250 ok"}}}).encode()


def test_forged_unsigned_or_stale_webhooks_are_refused_and_signal_nothing(example_server_factory, tmp_path):
    secret, other = signing.secret_new(), signing.secret_new()
    events_file = tmp_path / "events.jsonl"
    server = example_server_factory(example_env(secret=secret, events_file=events_file))
    url, body = server.tracking_url, _event()
    good = _signed(secret, body)
    refused = {
        "unsigned": (body, {}),
        "another secret": (body, _signed(other, body)),
        "a changed body": (body.replace(b"delivered", b"bounced"), good),
        "another event id": (body, {**good, "webhook-id": "evt_2"}),
        "stale": (body, _signed(secret, body, timestamp=time.time() - 600)),
        "from the future": (body, _signed(secret, body, timestamp=time.time() + 600)),
        "no v1, prefix": (body, {**good, "webhook-signature": good["webhook-signature"][3:]}),
        "not base64": (body, {**good, "webhook-signature": "v1,%%%"}),
        "a huge timestamp": (body, {**good, "webhook-timestamp": "9" * 400}),
        "not a number": (body, {**good, "webhook-timestamp": "nan"}),
        "bytes that are not UTF-8": (b"\xff\xfe" + body, good),
        "a huge signature header": (body, {**good, "webhook-signature": "v1,AAAA " * 1000}),
        "a body over Django's upload limit": (body + b" " * (3 * 1024 * 1024), good),
    }
    for name, (sent, headers) in refused.items():
        assert _post(url, sent, headers) == 400, name
    assert events_in(events_file) == []

    # The same request, signed: accepted and signalled (the refusals above were the signature's doing).
    assert _post(url, body, good) == 200
    [event] = events_in(events_file)
    assert event["event_type"] == "delivered" and event["recipient"] == "ann@example.com"
    assert event["tags"] == ["x"] and event["metadata"] == {"k": "v"} and event["mta_response"] == "250 ok"
    # Emailhub's dashboard "send a test": answered, no tracking event.
    test_body = json.dumps({"type": "webhook.test", "id": "evt_test_1", "created_at": "2026-12-02T10:00:00Z",
                            "data": {"endpoint_id": "we_1", "message": "A test event from Emailhub."}}).encode()
    assert _post(url, test_body, _signed(secret, test_body, msg_id="evt_test_1")) == 200
    assert len(events_in(events_file)) == 1


def test_a_rotated_secret_verifies_with_either_signature(example_server_factory, tmp_path):
    """While Emailhub rotates an endpoint's secret it signs with both: a
    receiver still on the old secret, or already on the new one, accepts."""
    old, new = signing.secret_new(), signing.secret_new()
    body = _event()
    headers = signing.signed_headers([new, old], msg_id="evt_1", timestamp=time.time(), body=body)
    for name, secret in [("old", old), ("new", new)]:
        events_file = tmp_path / f"{name}.jsonl"
        server = example_server_factory(example_env(secret=secret, events_file=events_file))
        assert _post(server.tracking_url, body, headers) == 200
        assert len(events_in(events_file)) == 1


@pytest.mark.parametrize("secret", ["", "not-base64-%%%"])
def test_a_receiver_without_a_usable_secret_accepts_nothing(example_server_factory, tmp_path, secret):
    events_file = tmp_path / "events.jsonl"
    server = example_server_factory(example_env(secret=secret, events_file=events_file))
    body = _event()
    status = _post(server.tracking_url, body, _signed(signing.secret_new(), body))
    assert status >= 400 and events_in(events_file) == []
