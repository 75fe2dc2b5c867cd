"""emailhub_client against the live local stack: every call, as an application uses it."""

import base64
from email import message_from_string
from datetime import datetime, timedelta, timezone

import pytest

from emailhub_client import (
    Accepted, BatchResult, ConflictError, Email, Emailhub, NotFoundError, Suppression, ValidationError,
)
from tests.clients.client_fixtures import hub, local_stack, recipient, sent_to, wait_for  # noqa: F401
from tests.conftest import ses_sent


def test_send_then_get_follows_the_email_to_delivered(hub):
    to = recipient()
    accepted = hub.send({"to": [to], "subject": "Your order", "text": "Thanks!", "tags": {"type": "order"},
                         "attachments": [{"filename": "a.txt", "content_type": "text/plain",
                                          "content": base64.b64encode(b"hello").decode()}]})
    assert isinstance(accepted, Accepted) and accepted.status == "queued" and accepted.id
    assert accepted.raw["id"] == accepted.id and accepted.idempotency_key and not accepted.replayed

    email = wait_for(hub, accepted.id, "delivered")
    assert isinstance(email, Email)
    assert email.to == [to] and email.subject == "Your order" and email.tags == {"type": "order"}
    assert email.ses_message_id and email.attempts == 1
    assert [e["type"] for e in email.events][:2] == ["accepted", "sent"]
    assert sent_to(to) == 1


def test_send_takes_keyword_fields_and_bytes_attachments(local_stack):  # noqa: F811
    base, key = local_stack
    with pytest.raises(ValueError):
        Emailhub(api_key="", base_url=base)
    to = recipient()
    with Emailhub(api_key=key, base_url=base + "/") as hub:  # a trailing slash is fine
        accepted = hub.send(to=to, subject="Keywords", text="Hi", from_="no-reply@example.com",
                            cc=[recipient()], attachments=[{"filename": "b.bin", "content": b"\x00\xffraw"}])
        email = hub.get(accepted.id)
    assert email.to == [to] and email.sender == "no-reply@example.com" and len(email.cc) == 1
    # The bytes arrived as they were given, in the MIME that SES got.
    wait_for(Emailhub(api_key=key, base_url=base), accepted.id, "delivered")
    [mime] = [message_from_string(m.raw_data) for m in ses_sent() if to in str(getattr(m, "destinations", ""))]
    [attachment] = [part for part in mime.walk() if part.get_filename() == "b.bin"]
    assert attachment.get_payload(decode=True) == b"\x00\xffraw"


def test_an_idempotency_key_given_twice_makes_one_email_and_none_given_makes_two(hub):
    to = recipient()
    body = {"to": to, "subject": "Once", "text": "x"}
    first = hub.send(body, idempotency_key="client-test-" + to)
    again = hub.send(body, idempotency_key="client-test-" + to)
    assert again.id == first.id and again.replayed and again.idempotency_key == first.idempotency_key
    # Without a key the client makes a new one per call: two calls are two emails, as asked.
    one, two = hub.send(body), hub.send(body)
    assert one.id != two.id and one.idempotency_key != two.idempotency_key
    assert len(hub.list(recipient=to).data) == 3


def test_list_pages_with_the_cursor_and_iter_emails_reads_them_all(hub):
    to = recipient()
    ids = [hub.send(to=to, subject=f"Page {n}", text="x", tags={"batch": "paging"}).id for n in range(3)]
    first = hub.list(recipient=to, limit=2)
    assert len(first.data) == 2 and first.next_cursor
    second = hub.list(recipient=to, limit=2, cursor=first.next_cursor)
    assert len(second.data) == 1 and second.next_cursor is None
    listed = [e.id for e in first.data + second.data]
    assert sorted(listed) == sorted(ids) and len(set(listed)) == 3
    assert sorted(e.id for e in hub.iter_emails(recipient=to, limit=1)) == sorted(ids)
    today = datetime.now(timezone.utc)
    assert len(hub.list(recipient=to, tag=("batch", "paging"), since=today - timedelta(days=1),
                        until=today.date()).data) == 3
    assert hub.list(recipient=to, tag="batch=other").data == []


def test_cancel_twice_answers_the_canceled_email_and_it_is_never_sent(hub):
    to = recipient()
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    accepted = hub.send(to=to, subject="Later", text="x", send_at=later)
    assert accepted.status == "scheduled" and accepted.send_at
    canceled = hub.cancel(accepted.id)
    assert canceled.status == "canceled"
    assert hub.cancel(accepted.id).status == "canceled"  # why the client may retry a cancel
    assert sent_to(to) == 0


def test_reschedule_moves_send_at_and_a_sent_email_cannot_move(hub):
    accepted = hub.send(to=recipient(), subject="Later", text="x",
                        send_at=(datetime.now(timezone.utc) + timedelta(hours=2)).isoformat())
    new_time = (datetime.now(timezone.utc) + timedelta(hours=5)).replace(microsecond=0)
    moved = hub.reschedule(accepted.id, new_time)
    assert moved.status == "scheduled" and moved.send_at.startswith(new_time.strftime("%Y-%m-%dT%H:%M:%S"))
    assert moved.events[-1]["type"] == "rescheduled"

    sent = hub.send(to=recipient(), subject="Now", text="x")
    wait_for(hub, sent.id, "delivered")
    with pytest.raises(ConflictError) as caught:
        hub.reschedule(sent.id, new_time)
    assert caught.value.code == "not_reschedulable" and caught.value.details["email_status"] == "delivered"
    with pytest.raises(ConflictError) as caught:
        hub.cancel(sent.id)
    assert caught.value.code == "not_cancelable"


def test_a_naive_send_at_is_refused_before_anything_is_sent():
    client = Emailhub(api_key="eh_x", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ValueError, match="timezone"):
        client.send(to=recipient(), subject="x", text="x", send_at=datetime.now() + timedelta(hours=1))


def test_batch_permissive_accepts_the_valid_ones_and_says_why_not_the_others(hub):
    good, also_good = recipient(), recipient()
    emails = [{"to": good, "subject": "A", "text": "x"}, {"to": "not an address", "subject": "B", "text": "x"},
              {"to": also_good, "subject": "C", "text": "x"}]
    result = hub.send_batch(emails, mode="permissive")
    assert isinstance(result, BatchResult) and (result.accepted, result.rejected) == (2, 1)
    assert [item.index for item in result.data] == [0, 1, 2]
    assert result.data[0].ok and result.data[2].ok and not result.data[1].ok
    assert result.data[1].error.code == "invalid_address" and result.data[1].error.field.startswith("to")
    assert hub.get(result.data[0].id).to == [good]
    again = hub.send_batch(emails, mode="permissive", idempotency_key=result.idempotency_key)
    assert again.replayed and [i.id for i in again.data] == [i.id for i in result.data]


def test_batch_strict_accepts_nothing_and_lists_each_invalid_email(hub):
    to = recipient()
    with pytest.raises(ValidationError) as caught:
        hub.send_batch([{"to": to, "subject": "A", "text": "x"}, {"to": to, "subject": "B"},
                        {"to": "nope", "subject": "C", "text": "x"}])
    error = caught.value
    assert (error.status, error.code, error.field) == (400, "invalid_batch", "emails")
    assert [(e["index"], e["code"]) for e in error.errors] == [(1, "missing_body"), (2, "invalid_address")]
    assert error.idempotency_key and hub.list(recipient=to).data == []


def test_suppressions_add_get_list_remove(hub):
    # A '/' and a '+' in local parts: the client quotes the address in the path. The last one
    # is sent to (a simulator address: the SES sandbox lets it through to the suppression check).
    token = recipient().split("@")[0]
    addresses = [f"client/0+{token}@example.org", f"client/1+{token}@example.org", recipient("sent")]
    try:
        added = [hub.add_suppression(a, reason="asked to stop") for a in addresses]
        assert all(isinstance(s, Suppression) and s.created for s in added)
        assert [s.address for s in added] == addresses
        again = hub.add_suppression(addresses[0], reason="another reason")
        assert not again.created and again.reason == "asked to stop"  # keeps its first reason
        got = hub.get_suppression(addresses[1])
        assert got.reason == "asked to stop" and got.added_by and got.created_at

        first = hub.list_suppressions(limit=2)
        assert len(first.data) == 2 and first.next_cursor
        listed = [s.address for s in hub.iter_suppressions(limit=2)]
        assert set(addresses) <= set(listed) and len(listed) == len(set(listed))

        with pytest.raises(ValidationError) as caught:
            hub.send(to=addresses[2], subject="x", text="x")
        assert caught.value.code == "suppressed_recipient" and caught.value.addresses == [addresses[2]]
    finally:
        for address in addresses:
            hub.remove_suppression(address)
    with pytest.raises(NotFoundError):
        hub.get_suppression(addresses[0])
    with pytest.raises(NotFoundError):
        hub.remove_suppression(addresses[0])


def test_the_client_imports_without_django():
    """An application without Django installs it: importing it must not need Django."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import emailhub_client

    here = str(Path(emailhub_client.__file__).resolve().parent.parent)
    code = ("import sys; sys.modules['django'] = None\n"  # any import of django now fails
            "import emailhub_client; from emailhub_client import Emailhub, EmailhubError\n"
            "assert emailhub_client.__file__.startswith(sys.argv[1]), emailhub_client.__file__")
    env = {**os.environ, "PYTHONPATH": here}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-c", code, here], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
