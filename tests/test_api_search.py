"""GET /emails: the log's filters over the API, page by page with a signed
cursor, exactly the emails a brute-force read finds, never a Scan."""

from itertools import product

import pytest

from emailhub.apikeys import api_key_create
from tests.conftest import drain_outbox, message
from tests.test_log_filters import all_emails


@pytest.fixture
def domain(verified):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.org")


@pytest.fixture
def send_key(aws):
    _, secret = api_key_create(name="shop-backend", scope="send")
    return secret


def search(client, key, **params):
    return client.get("/emails", {k: v for k, v in params.items() if v is not None},
                      HTTP_AUTHORIZATION=f"Bearer {key}")


def page_through(client, key, dynamodb_calls, **params):
    """Every page's ids (limit 2), and the most DynamoDB calls one page made."""
    ids, cursor, most = [], None, 0
    while True:
        before = len(dynamodb_calls)
        response = search(client, key, limit=2, cursor=cursor, **params)
        assert response.status_code == 200, response.content
        assert "scan" not in dynamodb_calls[before:]
        reads = [c for c in dynamodb_calls[before:] if c in ("query", "batch_get_item")]  # not the key's lookup
        most = max(most, len(reads))
        body = response.json()
        ids += [e["id"] for e in body["data"]]
        assert len(body["data"]) <= 2
        cursor = body["next_cursor"]
        if not cursor:
            return ids, most


def brute_force(*, status=None, recipient=None, tag=None, api_key_prefix=None):
    def matches(email):
        summary = email["summary"]
        addresses = {a.lower() for a in summary["to"] + summary["cc"]}
        if recipient and recipient.startswith("@"):
            wanted = any(a.endswith(recipient) for a in addresses)
        else:
            wanted = not recipient or recipient in addresses
        name, _, value = (tag or "").partition("=")
        return ((not status or email["status"] == status) and wanted
                and (not tag or summary["tags"].get(name) == value)
                and (not api_key_prefix or email["api_key_prefix"] == api_key_prefix))

    return [e["id"] for e in sorted(all_emails(), key=lambda e: e["created_at"], reverse=True) if matches(e)]


def test_each_filter_pages_through_exactly_what_a_brute_force_read_finds(
        client, send, api_key, send_key, domain, ses_failures, dynamodb_calls):
    plan = [  # (key, to, cc, tags)
        (api_key, ["alice@example.com"], [], {"type": "order"}),
        (send_key, ["bob@example.org"], ["alice@example.com"], {"type": "alert"}),
        (api_key, ["bob@example.org"], [], {"type": "alert"}),
        (send_key, ["carol@example.org"], [], {"type": "order"}),
        (send_key, ["alice@example.com"], [], {"type": "alert"}),
        (api_key, ["alice@example.com"], ["bob@example.org"], {"type": "signup"}),
        (send_key, ["carol@example.org"], [], {"type": "alert"}),
        (api_key, ["alice@example.com"], [], {"type": "alert"}),
        (send_key, ["alice@example.com"], [], {"type": "order"}),
    ]
    for n, (key, to, cc, tags) in enumerate(plan):
        assert send(message(to=to, cc=cc, tags=tags, subject=f"n{n}"), key=key).status_code == 202
        if n in (1, 4, 6):
            ses_failures("MessageRejected", "no")
        if n == 6:
            drain_outbox()  # the first seven are sent or failed; the last two stay queued
    assert {e["status"] for e in all_emails()} == {"sent", "failed", "queued"}
    send_prefix = send_key.split("_")[1]

    combinations = product([None, "sent", "failed", "queued"], [None, "alice@example.com", "@example.org"],
                           [None, "type=alert"])
    for status, recipient, tag in combinations:
        params = {"status": status, "recipient": recipient, "tag": tag}
        found, most = page_through(client, api_key, dynamodb_calls, **params)
        assert found == brute_force(**params), params
        mine, most_mine = page_through(client, send_key, dynamodb_calls, **params)
        assert mine == brute_force(api_key_prefix=send_prefix, **params), params
        if (recipient or tag) and not (recipient and tag) and not (status and recipient == "@example.org"):
            # One Query of the small items and one batch read of the emails they name; a
            # `send` key reads its own copies of the same partitions.
            assert most <= 2 and most_mine <= 2, (params, most, most_mine)
        elif not (recipient or tag):
            # The status and feed indexes are walked a day at a time: at most the range's seven days.
            assert most <= 7 + 1, (params, most)
            assert most_mine <= 2, (params, most_mine)  # the key's KEY# items, one batch read


def test_a_send_keys_list_is_one_query_and_one_batch_read(client, send, api_key, send_key, verified,
                                                          dynamodb_calls):
    mine = [send(message(subject=f"mine {n}"), key=send_key).json()["id"] for n in range(3)]
    for n in range(5):
        send(message(subject=f"other {n}"))
    before = len(dynamodb_calls)
    body = search(client, send_key, limit=3).json()
    assert [e["id"] for e in body["data"]] == mine[::-1]
    # The key's own emails: a Query of its KEY# items (after the key's lookup), one batch read.
    assert dynamodb_calls[before:][-2:] == ["query", "batch_get_item"]
    assert "scan" not in dynamodb_calls[before:]
    everything = search(client, api_key, limit=100).json()["data"]
    assert len(everything) == 8


def test_a_send_keys_filtered_pages_read_only_its_own_matches(client, send, api_key, send_key, verified,
                                                               ses_failures, monkeypatch):
    """What a `send` key's page reads does not grow with what other keys
    send, nor with its own emails of other statuses."""
    from emailhub.aws import calls

    read = []
    real = calls.call

    def spy(service, operation, **kwargs):
        response = real(service, operation, **kwargs)
        if operation == "query":
            read.append(response.get("ScannedCount", len(response.get("Items", []))))
        return response

    for n in range(12):  # another key's emails to the same address, with the same tag
        send(message(subject=f"other {n}", tags={"type": "alert"}), key=api_key)
    drain_outbox()
    mine = []
    for n in range(8):  # the first of mine fails, the others are sent
        mine.append(send(message(subject=f"mine {n}", tags={"type": "alert"}), key=send_key).json()["id"])
        if n == 0:
            ses_failures("MessageRejected", "no")
        drain_outbox()
    monkeypatch.setattr("emailhub.aws.dynamodb.call", spy)
    for params, expected in [({"status": "failed"}, mine[:1]), ({"status": "sent"}, mine[1:][::-1]),
                             ({"recipient": "alice@example.com"}, mine[::-1]), ({"tag": "type=alert"}, mine[::-1]),
                             ({"recipient": "alice@example.com", "tag": "type=alert", "status": "failed"}, mine[:1]),
                             ({"recipient": "ali*"}, mine[::-1])]:
        read.clear()
        body = search(client, send_key, limit=50, **params).json()
        assert [e["id"] for e in body["data"]] == expected, params
        assert sum(read) == len(expected), (params, read)  # no item read of another key's or another status


def test_a_changed_or_foreign_cursor_is_a_400(client, send, api_key, send_key, verified):
    for n in range(3):
        send(message(subject=f"n{n}"))
    cursor = search(client, api_key, limit=1).json()["next_cursor"]
    assert cursor
    assert search(client, api_key, limit=1, cursor=cursor).status_code == 200
    for bad, params, key in [
        (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), {}, api_key),  # tampered signature
        ("not-a-cursor", {}, api_key),
        ("x" * 100_000, {}, api_key),
        (cursor, {"status": "sent"}, api_key),  # made for other filters
        (cursor, {}, send_key),  # made for another key
    ]:
        response = search(client, key, limit=1, cursor=bad, **params)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid_cursor" and response.json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("params, code, field", [
    ({"recipient": "not an address"}, "invalid_address", "recipient"),
    ({"recipient": "alice\r\nBcc: x@example.com"}, "invalid_address", "recipient"),
    ({"recipient": "@nodot"}, "invalid_address", "recipient"),
    ({"recipient": "a*"}, "invalid_address", "recipient"),  # a prefix needs two characters
    ({"recipient": "a" * 5000 + "@example.com"}, "field_too_long", "recipient"),
    ({"tag": "novalue"}, "invalid_tag", "tag"),
    ({"tag": "type=al\x00ert"}, "invalid_tag", "tag"),
    ({"tag": "t" * 5000 + "=x"}, "field_too_long", "tag"),
    ({"status": "lost"}, "invalid_field", "status"),
    ({"limit": "0"}, "invalid_field", "limit"),
    ({"limit": "101"}, "invalid_field", "limit"),
    ({"limit": "ten"}, "invalid_field", "limit"),
    ({"date_from": "2026-13-01"}, "invalid_field", "date_from"),
    ({"date_from": "2026-01-10", "date_to": "2026-01-01"}, "invalid_date_range", "date_from"),
    ({"date_from": "2025-01-01", "date_to": "2026-01-01"}, "invalid_date_range", "date_from"),
    ({"colour": "red"}, None, None),  # an unknown parameter is ignored, as on any search page
])
def test_hostile_search_parameters_are_clear_400s(client, api_key, params, code, field):
    response = search(client, api_key, **params)
    if code is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code and response.json()["error"]["field"] == field


def test_search_needs_a_key(client, aws):
    assert client.get("/emails").status_code == 401
