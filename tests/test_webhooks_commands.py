"""The webhook management commands, /health and the overview when an
endpoint was disabled."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from standardwebhooks import Webhook

from emailhub import model
from emailhub.webhooks.endpoints import endpoint_disable_failing, webhook_endpoint_get, webhook_endpoint_list
from tests.conftest import message
from tests.webhook_helpers import work_webhooks


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_commands_create_list_update_rotate_and_replay(aws, send, receiver, dns):
    created = run("create_webhook", receiver.url, "--events", "email.accepted,email.sent")
    secret = created.strip().splitlines()[-1]
    endpoint = webhook_endpoint_list()[0]
    assert secret.startswith("whsec_") and endpoint["event_types"] == ["email.accepted", "email.sent"]
    assert endpoint["id"] in run("list_webhooks") and "enabled" in run("list_webhooks")

    run("update_webhook", endpoint["id"], "--disable")
    assert webhook_endpoint_get(endpoint_id=endpoint["id"])["enabled"] is False
    run("update_webhook", endpoint["id"], "--enable", "--events", "email.accepted")
    assert webhook_endpoint_get(endpoint_id=endpoint["id"])["event_types"] == ["email.accepted"]

    new = run("rotate_webhook_secret", endpoint["id"]).strip().splitlines()[-1]
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    headers, body = receiver.received[0]
    event = Webhook(new).verify(body, headers)
    assert Webhook(secret).verify(body, headers) == event

    run("replay_webhooks", endpoint["id"], "--event", event["id"])
    with pytest.raises(CommandError, match="not delivered or parked"):
        run("replay_webhooks", endpoint["id"], "--event", event["id"])
    work_webhooks()
    assert [e["id"] for e in receiver.events()] == [event["id"], event["id"]]
    now = model.now()
    out = run("replay_webhooks", endpoint["id"], "--since", model.iso(now - timedelta(hours=1)),
              "--until", model.iso(now))
    assert out.startswith("0 parked")


def test_create_webhook_refuses_a_private_address(aws, dns):
    with pytest.raises(CommandError, match="private"):
        run("create_webhook", "http://10.0.0.1/hook")
    assert webhook_endpoint_list() == []


def test_a_disabled_endpoint_shows_on_health_and_the_overview(aws, client, admin_client, receiver, dns):
    run("create_webhook", receiver.url)
    endpoint = webhook_endpoint_list()[0]
    assert client.get("/health").json()["status"] == "ok"
    endpoint_disable_failing(endpoint_id=endpoint["id"], moment=model.now(), reason="failing since yesterday")
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["checks"]["webhooks"]["disabled"] == [endpoint["id"]]
    overview = admin_client.get("/admin/").content.decode()
    assert "Disabled" in overview and receiver.url in overview and "failing since yesterday" in overview
