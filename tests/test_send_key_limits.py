"""A `send` key's own index items at the limits: the largest email, a batch
that fails half-way, a resend of an email stored before the copies, the
`sending` status, and a cursor of the previous layout."""

from dataclasses import asdict

import pytest

from emailhub import model
from emailhub.apikeys import api_key_create
from emailhub.aws import clients, dynamodb
from emailhub.emails import email_get
from tests.conftest import api_post, drain_outbox, message
from tests.test_log_index_backfill import make_release_2


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def send_key(aws):
    return api_key_create(name="shop", scope="send")


def small_items(email_id):
    return clients.client("dynamodb").query(
        TableName="emailhub", KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"EMAIL#{email_id}"}})["Items"]


def statuses(email_id):
    return {i["sk"]["S"]: i["status"]["S"] for i in small_items(email_id) if i["sk"]["S"] != "EMAIL"}


def long_recipients(count=50):
    """Addresses of 254 characters, each at a long domain of its own."""
    return [f"r{i:02d}{'x' * 61}@" + ".".join([f"d{i:02d}{'y' * 57}", "z" * 63, "w" * 60, "com"])
            for i in range(count)]


def test_the_largest_send_key_email_fits_its_item_and_moves_every_copy(client, send, verified, settings,
                                                                        send_key):
    """50 recipients of 254 characters at 50 domains, 50 tags at SES's limits,
    and a body that keeps the request inline: the email item lists only the
    base small items, so a `send` key's email fits as a `full` key's does."""
    settings.EMAILHUB_SES_SANDBOX = False
    settings.EMAILHUB_INLINE_PAYLOAD_BYTES = 390 * 1024
    key, secret = send_key
    to, tags = long_recipients(), {f"{i:02d}" + "n" * 254: "v" * 256 for i in range(50)}
    body = message(to=to, tags=tags, subject="s" * 998, text="x" * 200_000)
    response = send(body, key=secret, idempotency_key="big-1")
    assert response.status_code == 202, response.content
    email_id = response.json()["id"]
    assert send(body, key=secret, idempotency_key="big-1").json()["id"] == email_id  # a replay
    full = send(body).json()["id"]
    assert email_get(email_id)["companions"] == [sk.replace(full, email_id) for sk in email_get(full)["companions"]]
    assert len(statuses(email_id)) == 2 * len(statuses(full)) + 1  # the KEY# item and a copy of each
    drain_outbox()
    assert set(statuses(email_id).values()) == {"sent"}
    listed = client.get("/emails", {"status": "sent", "recipient": to[3], "tag": f"07{'n' * 254}={'v' * 256}"},
                        **auth(secret)).json()
    assert [e["id"] for e in listed["data"]] == [email_id]


def test_a_batch_failing_after_a_big_emails_first_part_leaves_nothing(client, verified, settings, send_key,
                                                                     monkeypatch):
    """An email of more than 100 items (17 recipients at 17 domains and a tag,
    with a `send` key's copies) is written over two transactions: when the
    second fails, the first is taken back and nothing was accepted."""
    from emailhub import batch
    from emailhub.errors import AwsUnavailable

    settings.EMAILHUB_SES_SANDBOX = False
    _, secret = send_key
    real, calls = batch._transact_retrying_conflicts, []

    def second_fails(chunk, token=None):
        calls.append(len(chunk))
        if len(calls) == 2:
            raise AwsUnavailable("DynamoDB did not answer (injected)")
        return real(chunk, token=token)

    monkeypatch.setattr(batch, "_transact_retrying_conflicts", second_fails)
    emails = [message(to=long_recipients(17), tags={"x": "y"}, subject="big"), message(subject="small")]
    response = api_post(client, "/emails/batch", {"emails": emails}, key=secret)
    assert response.status_code == 503 and len(calls) == 2
    left = clients.client("dynamodb").scan(TableName="emailhub", FilterExpression="begins_with(pk, :e)",
                                           ExpressionAttributeValues={":e": {"S": "EMAIL#"}})["Items"]
    assert left == []


def test_a_resend_of_an_email_stored_before_the_copies_is_the_keys_own(client, send, verified, send_key,
                                                                       ses_failures):
    from emailhub.resends import emails_resend

    _, secret = send_key
    failed = send(message(subject="mine", tags={"type": "alert"}), key=secret).json()["id"]
    ses_failures("MessageRejected", "no")
    drain_outbox()
    make_release_2(failed)  # stored by the previous release, not back-filled yet
    [result] = emails_resend(email_ids=[failed], actor="staff alice")
    listed = [e["id"] for e in client.get("/emails", **auth(secret)).json()["data"]]
    assert result.child_id in listed


def test_a_send_keys_sending_search_reads_only_the_emails_being_sent(client, send, verified, send_key,
                                                                     monkeypatch):
    from emailhub.aws import calls

    _, secret = send_key
    for n in range(30):
        send(message(subject=f"m{n}"), key=secret)
    drain_outbox()
    read, real = [], calls.call

    def spy(service, operation, **kwargs):
        response = real(service, operation, **kwargs)
        if operation == "query":
            read.append(response["ScannedCount"])
        return response

    monkeypatch.setattr("emailhub.aws.dynamodb.call", spy)
    body = client.get("/emails", {"status": "sending", "limit": 5}, **auth(secret)).json()
    assert body == {"data": [], "next_cursor": None}
    assert read == [0]  # one Query of the (empty) `sending` partition, not the key's 30 sent emails


def test_a_cursor_of_the_previous_layout_is_refused(client, send, verified, send_key):
    """A cursor made before the key's own items names an entry of the retired
    index: a 400 asking to start again, not an error from DynamoDB."""
    from emailhub.api.cursors import cursor_sign
    from emailhub.api.search import EmailSearchIn, _log_filter

    key, secret = send_key
    ids = [send(message(subject=f"m{n}"), key=secret).json()["id"] for n in range(3)]
    email = email_get(ids[1])
    made_for = {"op": "search_emails", "filter": asdict(_log_filter(EmailSearchIn(limit=1), model.now().date())),
                "key": key.prefix}
    old = {"keys": [dynamodb.serialize({"pk": email["pk"], "sk": "EMAIL", "api_key_prefix": key.prefix,
                                        "created_at": email["created_at"]})]}
    response = client.get("/emails", {"limit": 1, "cursor": cursor_sign(position=old, made_for=made_for)},
                          **auth(secret))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
