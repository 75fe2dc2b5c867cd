"""Scoped API keys: a `send` key sends and reads only its own emails and may
not touch the suppression list; a `full` key (and a key stored before scopes
existed) does everything."""

from io import StringIO

import pytest
from django.core.management import call_command

from emailhub.apikeys import api_key_authenticate, api_key_create, api_key_list, cache_clear
from emailhub.aws import dynamodb
from tests.conftest import message


@pytest.fixture
def send_key(aws):
    _, secret = api_key_create(name="shop-backend", scope="send")
    return secret


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_send_key_reads_its_own_emails_and_not_another_keys(client, send, api_key, send_key, verified):
    mine = send(message(subject="mine"), key=send_key).json()["id"]
    theirs = send(message(subject="theirs")).json()["id"]
    assert client.get(f"/emails/{mine}", **auth(send_key)).json()["subject"] == "mine"
    other = client.get(f"/emails/{theirs}", **auth(send_key))
    missing = client.get(f"/emails/{theirs[:-4]}0000", **auth(send_key))
    # Not a 403: the answer is the same as for an id that does not exist, so ids do not leak.
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert other.json()["error"]["message"].replace(theirs, "ID") == missing.json()["error"]["message"].replace(
        theirs[:-4] + "0000", "ID")
    # A full key reads both.
    assert client.get(f"/emails/{mine}", **auth(api_key)).status_code == 200
    assert client.get(f"/emails/{theirs}", **auth(api_key)).status_code == 200
    listed = client.get("/emails", **auth(send_key)).json()["data"]
    assert [e["id"] for e in listed] == [mine]


def test_a_resent_copy_of_a_send_keys_email_is_still_its_own(client, send, send_key, verified, ses_failures):
    """Staff resend a `send` key's failed email: the key reads, lists and
    can cancel the copy as it could the original."""
    from emailhub.resends import emails_resend
    from tests.conftest import drain_outbox

    failed = send(message(subject="mine", tags={"type": "alert"}), key=send_key).json()["id"]
    ses_failures("MessageRejected", "no")
    drain_outbox()
    [result] = emails_resend(email_ids=[failed], actor="staff alice")
    copy = result.child_id
    assert client.get(f"/emails/{copy}", **auth(send_key)).json()["parent_id"] == failed
    for query in ({}, {"status": "queued"}, {"tag": "type=alert"}, {"recipient": "alice@example.com"}):
        listed = client.get("/emails", query, **auth(send_key)).json()["data"]
        assert copy in [e["id"] for e in listed], query
    assert client.post(f"/emails/{copy}/cancel", **auth(send_key)).json()["status"] == "canceled"


@pytest.mark.parametrize("method, path", [
    ("get", "/suppressions"), ("get", "/suppressions/alice@example.com"),
    ("put", "/suppressions/alice@example.com"), ("delete", "/suppressions/alice@example.com"),
])
def test_a_send_key_may_not_touch_the_suppression_list(client, send_key, method, path):
    kwargs = {"data": '{"reason": "x"}', "content_type": "application/json"} if method == "put" else {}
    response = getattr(client, method)(path, **kwargs, **auth(send_key))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert dynamodb.get("SUPPRESSED#alice@example.com", "SUPPRESSED") is None


def test_a_key_stored_before_scopes_is_full(client, send, verified, aws):
    key, secret = api_key_create(name="old")
    dynamodb.update(f"APIKEY#{key.prefix}", "APIKEY", expression="REMOVE #scope, summary.#scope",
                    names={"#scope": "scope"})
    cache_clear()
    assert api_key_authenticate(presented=secret).scope == "full"
    assert client.get("/suppressions", **auth(secret)).status_code == 200
    assert send(message(), key=secret).status_code == 202


def test_create_api_key_takes_a_scope_and_defaults_to_full(aws):
    out = StringIO()
    call_command("create_api_key", "reports", "--scope", "send", stdout=out)
    send_secret = out.getvalue().strip().splitlines()[-1]
    assert "scope send" in out.getvalue()
    call_command("create_api_key", "ops", stdout=StringIO())
    scopes = {k.name: k.scope for k in api_key_list()}
    assert scopes == {"reports": "send", "ops": "full"}
    assert api_key_authenticate(presented=send_secret).scope == "send"


def test_the_dashboard_creates_a_send_key_and_lists_scopes(admin_client, staff_client, aws):
    from emailhub.staff.roles import OPERATOR

    response = admin_client.post("/admin/keys/", {"name": "shop", "scope": "send"}, follow=True)
    secret = response.context["created"]
    assert api_key_authenticate(presented=secret).scope == "send"
    listing = admin_client.get("/admin/keys/").content.decode()
    assert "<td>send</td>" in listing
    # Creating keys stays an admin's action.
    operator = staff_client(OPERATOR)
    assert operator.post("/admin/keys/", {"name": "sneaky", "scope": "full"}).status_code == 403
    assert [k.name for k in api_key_list()] == ["shop"]
