"""The suppression list over the API with a `full` key: list, read, add,
remove, each audited with the key as the actor; hostile addresses are 400s."""

import json

import pytest

from emailhub.audit import audit_page
from emailhub.aws import dynamodb
from emailhub.model import now
from tests.conftest import message


def call(client, method, path, key, body=None, raw=None):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method == "put":
        kwargs.update(data=raw if raw is not None else json.dumps(body or {}), content_type="application/json")
    return getattr(client, method)(path, **kwargs)


def audit_entries():
    entries, _ = audit_page(month=now().strftime("%Y-%m"))
    return [dynamodb.get(e["pk"], "AUDIT")["summary"] for e in entries]


def test_add_read_list_and_remove_with_a_full_key(client, send, api_key, verified):
    prefix = api_key.split("_")[1]
    actor = f"api key tests ({prefix})"
    added = call(client, "put", "/suppressions/Alice%40Example.com", api_key, {"reason": "asked to stop"})
    assert added.status_code == 201
    assert added.json() == {"address": "alice@example.com", "reason": "asked to stop",
                            "created_at": added.json()["created_at"], "source_email_id": None, "added_by": actor}
    # Sending to it is refused now, as for a bounced address.
    refused = send(message())
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "suppressed_recipient"
    again = call(client, "put", "/suppressions/alice@example.com", api_key, {"reason": "other"})
    assert again.status_code == 200 and again.json()["reason"] == "asked to stop"  # the first reason stays
    assert call(client, "get", "/suppressions/alice@example.com", api_key).json()["reason"] == "asked to stop"

    for n in range(3):
        assert call(client, "put", f"/suppressions/user{n}@example.org", api_key, {}).status_code == 201
    listed, cursor = [], None
    while True:
        page = call(client, "get", "/suppressions?limit=2" + (f"&cursor={cursor}" if cursor else ""), api_key).json()
        assert len(page["data"]) <= 2
        listed += [e["address"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == ["user2@example.org", "user1@example.org", "user0@example.org", "alice@example.com"]

    assert call(client, "delete", "/suppressions/alice@example.com", api_key).status_code == 204
    assert send(message()).status_code == 202
    gone = call(client, "get", "/suppressions/alice@example.com", api_key)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert call(client, "delete", "/suppressions/alice@example.com", api_key).status_code == 404

    trail = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in audit_entries()]
    assert trail[:2] == [(actor, "suppression.remove", "alice@example.com", "was not suppressed"),
                         (actor, "suppression.remove", "alice@example.com", "removed")]
    assert (actor, "suppression.add", "alice@example.com", "already suppressed") in trail
    assert (actor, "suppression.add", "alice@example.com", "added") in trail


def test_a_changed_cursor_is_a_400(client, api_key):
    for n in range(3):
        call(client, "put", f"/suppressions/user{n}@example.org", api_key, {})
    cursor = call(client, "get", "/suppressions?limit=1", api_key).json()["next_cursor"]
    response = call(client, "get", f"/suppressions?limit=1&cursor={cursor[:-3]}abc", api_key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("address, code", [
    ("not-an-address", "invalid_address"),
    ("alice%40", "invalid_address"),
    ("Alice%20%3Calice%40example.com%3E", "invalid_address"),  # a display name: give the bare address
    ("alice%0D%0ABcc%3A%20x%40example.com", "control_character"),
    ("ali%00ce%40example.com", "control_character"),
    ("al%E2%80%A8ice%40example.com", "control_character"),  # U+2028, a line separator
    ("a" * 5000 + "%40example.com", "field_too_long"),
    ("%FF%FE%40", "invalid_address"),  # not UTF-8 (Django keeps such bytes %-encoded)
])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_hostile_addresses_are_clear_400s(client, api_key, address, code, method):
    response = call(client, method, f"/suppressions/{address}", api_key, {"reason": "x"})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code and response.json()["error"]["field"] == "address"
    entries, _ = audit_page(month=now().strftime("%Y-%m"))
    assert entries == []  # nothing was done, so nothing is audited


@pytest.mark.parametrize("raw, code", [
    ('{"reason": "line\\r\\nbreak"}', "header_injection"),
    ('{"reason": "' + "r" * 201 + '"}', "field_too_long"),
    ('{"reason": ""}', "invalid_field"),
    ('{"reason": 5}', "invalid_field"),
    ('{"reason": "x", "extra": 1}', "unknown_field"),
    ('[]', "malformed_json"),
    ('{', "malformed_json"),
])
def test_hostile_bodies_are_clear_400s(client, api_key, raw, code):
    response = call(client, "put", "/suppressions/alice@example.com", api_key, raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert dynamodb.get("SUPPRESSED#alice@example.com", "SUPPRESSED") is None
