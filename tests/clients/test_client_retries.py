"""Retries never duplicate: the client retries lost answers and 503s under
one Idempotency-Key, against the live local stack through a proxy that
breaks the connection on cue (tests/clients/scripted_proxy.py)."""

import socket
from datetime import datetime, timedelta, timezone

import pytest

from emailhub_client import (
    Emailhub, EmailhubConnectionError, NotFoundError, RateLimitError, ServerError, ServiceUnavailableError, ValidationError,
)
from tests.clients.client_fixtures import hub, local_stack, recipient, sent_to, wait_for  # noqa: F401
from tests.clients.scripted_proxy import ScriptedProxy

UNAVAILABLE = {"error": {"code": "aws_unavailable", "field": None,
                         "message": "A service Emailhub depends on is unavailable right now; nothing was accepted."}}


@pytest.fixture
def proxied(local_stack):  # noqa: F811
    """A client whose requests go through a ScriptedProxy: (client, proxy, the waits it made)."""
    base, key = local_stack
    proxies, clients = [], []

    def make(script, **options):
        proxy = ScriptedProxy(base, script)
        client = Emailhub(api_key=key, base_url=proxy.url, **{"timeout": 5.0, "max_retries": 2, **options})
        client.waits = []
        client._sleep = client.waits.append
        proxies.append(proxy)
        clients.append(client)
        return client, proxy

    yield make
    for client in clients:
        client.close()
    for proxy in proxies:
        proxy.close()


def _keys(proxy):
    return [headers.get("idempotency-key") for _, _, headers in proxy.requests]


@pytest.mark.parametrize("lost", ["drop", "stall"])
def test_a_send_whose_answer_is_lost_is_retried_under_its_key_and_the_email_exists_once(proxied, lost):
    """drop: the connection is closed after the server answered; stall: no answer comes
    before the client's read timeout. Either way the server accepted the email."""
    client, proxy = proxied([lost], timeout=3.0)
    to = recipient()
    accepted = client.send(to=to, subject="Your order", text="Thanks!")

    assert proxy.actions == [lost, "relay"]
    assert _keys(proxy) == [accepted.idempotency_key] * 2 and accepted.idempotency_key
    assert accepted.replayed  # the retry's answer is the first attempt's, replayed
    assert len(client.waits) == 1
    [listed] = client.list(recipient=to).data
    assert listed.id == accepted.id
    email = wait_for(client, accepted.id, "delivered")
    assert [e["type"] for e in email.events].count("sent") == 1
    assert sent_to(to) == 1


def test_a_batch_whose_answer_is_lost_is_accepted_once(proxied):
    client, proxy = proxied(["drop"])
    to = recipient()
    result = client.send_batch([{"to": to, "subject": f"Item {n}", "text": "x"} for n in range(3)])
    assert proxy.actions == ["drop", "relay"] and result.replayed
    assert _keys(proxy) == [result.idempotency_key] * 2
    assert sorted(e.id for e in client.list(recipient=to).data) == sorted(i.id for i in result.data)


def test_answers_lost_on_every_attempt_say_the_outcome_is_unknown_and_the_key_finishes_the_job(proxied):
    client, proxy = proxied(["drop", "drop", "drop"])
    to = recipient()
    body = {"to": to, "subject": "Maybe", "text": "x"}
    with pytest.raises(EmailhubConnectionError) as caught:
        client.send(body)
    error = caught.value
    assert error.outcome_unknown and error.attempts == 3 and error.status is None
    assert _keys(proxy) == [error.idempotency_key] * 3
    # The caller tries again later with the key the error carries: the same email, not a new one.
    again = client.send(body, idempotency_key=error.idempotency_key)
    assert again.replayed and [e.id for e in client.list(recipient=to).data] == [again.id]


def test_a_503_is_retried_after_its_retry_after_capped(proxied):
    client, proxy = proxied([(503, {"Retry-After": "1"}, UNAVAILABLE), (503, {"Retry-After": "3600"}, UNAVAILABLE)],
                            retry_after_max=7.0)
    to = recipient()
    accepted = client.send(to=to, subject="Hi", text="x")
    assert client.waits == [1.0, 7.0]
    assert proxy.actions == [503, 503, "relay"] and len(set(_keys(proxy))) == 1
    assert not accepted.replayed  # the server saw it once
    assert [e.id for e in client.list(recipient=to).data] == [accepted.id]
    # A refusal of the server itself is final: sent once.
    with pytest.raises(ValidationError) as caught:
        client.send(to="not an address", subject="Hi", text="x")
    assert caught.value.code == "invalid_address" and proxy.actions == [503, 503, "relay", "relay", "relay"]


def test_503s_beyond_the_retries_raise_service_unavailable_with_the_key(proxied):
    client, proxy = proxied([(503, {}, UNAVAILABLE)] * 3, backoff_base=0.4)
    to = recipient()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.send(to=to, subject="Hi", text="x")
    error = caught.value
    assert (error.status, error.code) == (503, "aws_unavailable") and error.idempotency_key
    assert proxy.actions == [503, 503, 503]
    # No Retry-After: exponential backoff with jitter, between half and all of 0.4 * 2**(n-1).
    first, second = client.waits
    assert 0.2 <= first <= 0.4 and 0.4 <= second <= 0.8
    assert client.list(recipient=to).data == []


@pytest.mark.parametrize("answer, raised", [
    ((500, {}, {"error": {"code": "internal_error", "message": "Something went wrong", "field": None}}), ServerError),
    ((429, {"Retry-After": "1"}, {"message": "Too Many Requests"}), RateLimitError),
    ((400, {}, {"error": {"code": "invalid_address", "message": "Not an address", "field": "to.0"}}), ValidationError),
])
def test_other_error_answers_are_not_retried(answer, raised):
    with ScriptedProxy("http://127.0.0.1:9", [answer, answer]) as server:
        client = Emailhub(api_key="eh_x", base_url=server.url, max_retries=3)
        waits = []
        client._sleep = waits.append
        with pytest.raises(raised) as caught:
            client.send(to="alice@example.com", subject="Hi", text="x")
    assert caught.value.status == answer[0] and server.actions == [answer[0]] and waits == []
    assert caught.value.code in ("internal_error", "invalid_address", f"http_{answer[0]}")


def test_a_gateways_502_and_504_are_retried_under_the_same_key():
    """API Gateway answers these when the function failed or timed out: the
    send may have been accepted, so it is tried again as for a lost answer."""
    accepted = {"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "status": "queued", "created_at": "2026-12-02T10:00:00Z"}
    script = [(504, {}, b"Endpoint request timed out"), (502, {}, b"Internal server error"), (202, {}, accepted)]
    with ScriptedProxy("http://127.0.0.1:9", script) as server:
        client = Emailhub(api_key="eh_x", base_url=server.url, max_retries=3)
        client._sleep = lambda seconds: None
        result = client.send(to="alice@example.com", subject="Hi", text="x")
    assert result.id == accepted["id"] and server.actions == [504, 502, 202]
    keys = {headers["idempotency-key"] for _, _, headers in server.requests}
    assert keys == {result.idempotency_key}


def test_no_server_at_all_runs_out_of_retries_with_nothing_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = Emailhub(api_key="eh_x", base_url=f"http://127.0.0.1:{port}", timeout=2.0, max_retries=3)
    waits = []
    client._sleep = waits.append
    with pytest.raises(EmailhubConnectionError) as caught:
        client.send(to="alice@example.com", subject="Hi", text="x")
    assert caught.value.attempts == 4 and not caught.value.outcome_unknown
    assert len(waits) == 3 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1 and 1 <= waits[2] <= 2
    client = Emailhub(api_key="eh_x", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(EmailhubConnectionError) as caught:
        client.get("any")
    assert caught.value.attempts == 1


def test_reads_cancel_reschedule_and_suppression_calls_are_safe_to_retry(proxied):
    client, proxy = proxied(["drop", "relay"] * 6)
    scheduled = client.send(to=recipient(), subject="Later", text="x",
                            send_at=datetime.now(timezone.utc) + timedelta(hours=2))  # drop, relay
    assert client.get(scheduled.id).status == "scheduled"  # drop, relay
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    assert client.reschedule(scheduled.id, later).status == "scheduled"  # drop, relay (the same send_at again)
    assert client.cancel(scheduled.id).status == "canceled"  # drop, relay: canceling again answers 200
    address = recipient("suppressed")
    assert not client.add_suppression(address, reason="retried").created  # drop, relay: already there, 200
    # drop, relay: the first attempt removed it, the retry is a 404, which is what was asked: removed.
    assert client.remove_suppression(address) is None
    assert proxy.actions == ["drop", "relay"] * 6
    with pytest.raises(NotFoundError):
        client.get_suppression(address)
    with pytest.raises(NotFoundError):  # not on the list before the call: a 404 on its first attempt says so
        client.remove_suppression(address)
