"""The webhooks pages per role: viewers and operators see endpoints and
deliveries but cannot manage endpoints; operators replay; admins create
(secret shown once, kept in the server-side session), rotate, send a test."""

import re
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from emailhub import model
from emailhub.audit import audit_page
from emailhub.staff.roles import ADMIN, OPERATOR, VIEWER
from emailhub.webhooks.deliveries import deliveries_recent
from emailhub.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_get, webhook_endpoint_list
from tests.conftest import message
from tests.webhook_helpers import work_webhooks

LEVEL = {VIEWER: 0, OPERATOR: 1, ADMIN: 2}


def _actions():
    return [e["summary"]["action"] for e in audit_page(month=model.iso(model.now())[:7])[0]]


@pytest.fixture
def hooked(aws, send, receiver, dns, settings):
    """An endpoint with one delivered and one parked event."""
    settings.EMAILHUB_WEBHOOK_RETRY_SECONDS = []
    endpoint, secret = webhook_endpoint_create(url=receiver.url, types=["email.accepted"])
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    receiver.status = 500
    send(message(to=["success@simulator.amazonses.com"], subject="<script>x</script>"))
    work_webhooks()
    receiver.status = 200
    by_state = {d["status"]: d for d in deliveries_recent(endpoint_id=endpoint["id"])}
    return {"endpoint": endpoint, "secret": secret, "delivered": by_state["delivered"]["id"],
            "parked": by_state["parked"]["id"]}


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_each_role_on_the_webhook_pages(role, staff_client, hooked, receiver):
    client = staff_client(role, "me")
    endpoint_id = hooked["endpoint"]["id"]
    detail = f"/admin/webhooks/{endpoint_id}/"
    listing = client.get("/admin/webhooks/").content.decode()
    assert receiver.url in listing and ("Add an endpoint" in listing) is (role == ADMIN)
    page = client.get(detail).content.decode()
    assert "email.accepted" in page and "500" in page and "&lt;b&gt;nope" in page and "<b>nope" not in page
    assert hooked["secret"] not in page
    for url, needs in ((f"{detail}test/", ADMIN), (f"{detail}rotate/", ADMIN),
                       (f"{detail}replay/{hooked['parked']}/", OPERATOR)):
        assert client.get(url).status_code == (200 if LEVEL[role] >= LEVEL[needs] else 403), url

    created = client.post("/admin/webhooks/", {"url": receiver.url, "event_types": ["email.sent"]})
    assert created.status_code == (302 if role == ADMIN else 403)
    assert len(webhook_endpoint_list()) == (2 if role == ADMIN else 1)
    edited = client.post(detail, {"url": receiver.url, "event_types": ["email.bounced"], "enabled": "on"})
    assert edited.status_code == (302 if role == ADMIN else 403)
    assert webhook_endpoint_get(endpoint_id=endpoint_id)["event_types"] == (
        ["email.bounced"] if role == ADMIN else ["email.accepted"])
    replay = client.post(f"{detail}replay/{hooked['parked']}/")
    assert replay.status_code == (302 if role != VIEWER else 403)
    work_webhooks()
    assert len(receiver.received) == (3 if role != VIEWER else 2)


def test_admin_creates_an_endpoint_and_sees_its_secret_once(admin_client, aws, receiver, dns, send):
    response = admin_client.post("/admin/webhooks/", {"url": receiver.url, "event_types": ["email.accepted"],
                                                      "enabled": "on", "description": "shop"}, follow=True)
    endpoint = webhook_endpoint_list()[0]
    assert response.redirect_chain == [(f"/admin/webhooks/{endpoint['id']}/", 302)]
    secret = re.search(r'id="eh-new-key">([^<]+)<', response.content.decode()).group(1)
    assert secret.startswith("whsec_")
    assert all(secret not in morsel.value for morsel in admin_client.cookies.values())
    assert secret not in admin_client.get(f"/admin/webhooks/{endpoint['id']}/").content.decode()
    assert "webhook.create" in _actions()
    send(message(to=["success@simulator.amazonses.com"]))
    work_webhooks()
    Webhook(secret).verify(*reversed(receiver.received[0]))


@pytest.mark.parametrize("url", ["http://10.1.1.1/", "http://169.254.169.254/", "not a url"])
def test_the_form_refuses_unsafe_urls(admin_client, aws, dns, url):
    page = admin_client.post("/admin/webhooks/", {"url": url, "event_types": ["email.sent"]})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert webhook_endpoint_list() == []


def test_rotate_shows_the_new_secret_once_and_both_sign(admin_client, hooked, receiver):
    detail = f"/admin/webhooks/{hooked['endpoint']['id']}/"
    response = admin_client.post(f"{detail}rotate/", follow=True)
    new = re.search(r'id="eh-new-key">([^<]+)<', response.content.decode()).group(1)
    admin_client.post(f"{detail}test/")
    work_webhooks()
    headers, body = receiver.received[-1]
    assert Webhook(new).verify(body, headers)["type"] == "webhook.test"
    assert Webhook(hooked["secret"]).verify(body, headers)["type"] == "webhook.test"
    assert {"webhook.rotate_secret", "webhook.test"} <= set(_actions())


def test_replay_of_a_range_is_confirmed_then_audited_and_sent_once(staff_client, hooked, receiver):
    client = staff_client(OPERATOR, "op")
    detail = f"/admin/webhooks/{hooked['endpoint']['id']}/"
    now = model.now()
    window = {"since": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
              "until": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    confirm = client.get(f"{detail}replay/", window)
    assert confirm.status_code == 200 and "Replay 1" in confirm.content.decode()
    client.post(f"{detail}replay/", window)
    client.post(f"{detail}replay/", window)  # a second click: nothing parked any more
    work_webhooks()
    assert len(receiver.received) == 3  # the delivered one, the failed try, and the replay: once
    assert _actions().count("webhook.replay_range") == 2
