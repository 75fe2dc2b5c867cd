"""Every error the API documents reaches the caller as the exception its
status means, carrying the API's code, message, field and addresses: a
representative set driven by real requests against the live local stack,
and every documented (status, code) pair of the OpenAPI document the stack
serves (plus emailhub/schemas.py's ERROR_CODES) answered by a scripted
server. The results tolerate fields the server adds later."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from emailhub.schemas import ERROR_CODES
from emailhub_client import (
    Accepted, AuthenticationError, BatchResult, ConflictError, Email, Emailhub, EmailhubError, NotFoundError,
    PermissionDeniedError, RateLimitError, ServerError, ServiceUnavailableError, ValidationError,
)
from tests.clients.client_fixtures import hub, local_stack, recipient, wait_for  # noqa: F401
from tests.clients.scripted_proxy import ScriptedProxy

# What each status means to a caller (the client's promise, written out independently of its code).
EXPECTED_CLASS = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
                  409: ConflictError, 413: ValidationError, 422: ValidationError, 429: RateLimitError,
                  500: ServerError, 503: ServiceUnavailableError}


def _documented(document):
    """{(status, code)} named in the descriptions of every operation's error answers."""
    pairs = set()
    for methods in document["paths"].values():
        for operation in methods.values():
            for status, answer in operation["responses"].items():
                description = answer.get("description", "")
                if "`error.code`" in description:
                    codes = re.findall(r"`([a-z_]+)`", description.split("`error.code`", 1)[1])
                    pairs.update((int(status), code) for code in codes)
    return pairs


def _refusals(hub, settings):  # noqa: F811
    """(status, code, the call) for a representative set of the API's refusals, in real requests."""
    from emailhub.apikeys import api_key_create

    base = hub.base_url
    now = datetime.now(timezone.utc)
    ok = {"to": recipient(), "subject": "Hi", "text": "x"}
    many = [recipient() for _ in range(51)]
    scheduled = hub.send(ok, send_at=now + timedelta(hours=1))
    canceled = hub.cancel(hub.send({**ok, "to": recipient()}, send_at=now + timedelta(hours=1)).id)
    delivered = hub.send({**ok, "to": recipient()})
    suppressed = recipient("suppressed")
    hub.add_suppression(suppressed)
    _, send_key = api_key_create(name="client errors", scope="send")
    raw_post = dict(headers={"Content-Type": "application/json"})
    yield 400, "invalid_address", "to.0", lambda: hub.send(ok, to="not an address")
    yield 400, "missing_body", None, lambda: hub.send(to=ok["to"], subject="Hi")
    yield 400, "missing_field", "to", lambda: hub.send(subject="Hi", text="x")
    yield 400, "unknown_field", "colour", lambda: hub.send(ok, colour="red")
    yield 400, "invalid_field", "tags", lambda: hub.send(ok, tags="red")
    yield 400, "header_injection", "subject", lambda: hub.send(ok, subject="Hi\r\nBcc: eve@example.com")
    yield 400, "control_character", "subject", lambda: hub.send(ok, subject="Hi\x0bthere")
    yield 400, "field_too_long", "subject", lambda: hub.send(ok, subject="x" * 999)
    yield 400, "too_many_tags", "tags", lambda: hub.send(ok, tags={f"t{n}": "v" for n in range(51)})
    yield 400, "invalid_tag", "tags", lambda: hub.send(ok, tags={"a b": "c"})
    yield 400, "forbidden_header", "headers", lambda: hub.send(ok, headers={"X-SES-Configuration-Set": "x"})
    yield 400, "invalid_header", "headers", lambda: hub.send(ok, headers={"From": "eve@example.com"})
    yield 400, "too_many_headers", "headers", lambda: hub.send(ok, headers={f"X-H{n}": "v" for n in range(51)})
    yield 400, "too_many_reply_to", None, lambda: hub.send(ok, reply_to=many)
    yield 400, "too_many_recipients", None, lambda: hub.send(ok, to=many)
    yield 400, "invalid_attachment", "attachments.0.content", lambda: hub.send(
        ok, attachments=[{"filename": "a.txt", "content": "not base64!"}])
    yield 400, "invalid_idempotency_key", "Idempotency-Key", lambda: hub.send(ok, idempotency_key="k" * 256)
    yield 400, "invalid_datetime", "send_at", lambda: hub.send(ok, send_at="tomorrow morning")
    yield 400, "send_at_in_past", "send_at", lambda: hub.reschedule(scheduled.id, now - timedelta(hours=1))
    yield 400, "send_at_too_far", "send_at", lambda: hub.reschedule(scheduled.id, now + timedelta(days=40))
    yield 400, "malformed_json", None, lambda: hub._request("POST", "/send-email", data=b'{"to": ', **raw_post)
    yield 400, "invalid_unicode", None, lambda: hub._request(
        "POST", "/send-email", data=b'{"to": "a@example.com", "subject": "\\ud800", "text": "x"}', **raw_post)
    yield 400, "empty_batch", None, lambda: hub.send_batch([])
    yield 400, "too_many_emails", None, lambda: hub.send_batch([ok] * 101)
    yield 400, "invalid_batch", "emails", lambda: hub.send_batch([ok, {"to": "nope", "subject": "x", "text": "x"}])
    yield 400, "invalid_cursor", "cursor", lambda: hub.list(cursor="not-a-cursor")
    yield 400, "invalid_date_range", "date_from", lambda: hub.list(since=now.date(), until=now - timedelta(days=2))
    yield 400, "invalid_address", "address", lambda: hub.get_suppression("Eve <eve@example.com>")
    yield 401, "unauthorized", None, lambda: Emailhub(api_key="eh_0000_wrong", base_url=base).get(scheduled.id)
    yield 403, "insufficient_scope", None, lambda: Emailhub(api_key=send_key, base_url=base).list_suppressions()
    yield 404, "not_found", None, lambda: hub.get("01a237b6-0000-7000-8000-000000000000")
    yield 404, "not_found", None, lambda: hub.get_suppression(recipient())
    yield 409, "idempotency_key_reused", "Idempotency-Key", lambda: hub.send(
        {**ok, "subject": "Other"}, idempotency_key=scheduled.idempotency_key)
    yield 409, "not_reschedulable", None, lambda: hub.reschedule(canceled.id, now + timedelta(hours=2))
    wait_for(hub, delivered.id, "delivered")
    yield 409, "not_cancelable", None, lambda: hub.cancel(delivered.id)
    yield 422, "unverified_identity", "to", lambda: hub.send(ok, to=["stranger@unverified.example"])
    yield 422, "suppressed_recipient", "to", lambda: hub.send(ok, to=[suppressed])
    settings.EMAILHUB_MAX_REQUEST_BYTES = 4096
    yield 413, "payload_too_large", None, lambda: hub.send(ok, text="x" * 5000)
    hub.remove_suppression(suppressed)  # the emulator's state outlives the test


def test_the_api_refusals_raise_their_exceptions(hub, settings):  # noqa: F811
    wrong = []
    seen = set()
    for status, code, field, call in _refusals(hub, settings):
        try:
            call()
        except EmailhubError as caught:
            got = (type(caught), caught.status, caught.code, caught.field)
            if got != (EXPECTED_CLASS[status], status, code, field) or not caught.message or not caught.raw:
                wrong.append(((status, code, field), got, caught.message))
            if code in ("unverified_identity", "suppressed_recipient") and not caught.addresses:
                wrong.append(((status, code), "no addresses", caught.body))
            seen.add((status, code))
        else:
            wrong.append(((status, code), "nothing raised"))
    assert not wrong, "\n".join(map(str, wrong))
    assert len(seen) >= 35


def test_every_documented_error_maps_to_its_exception(local_stack):  # noqa: F811
    base, key = local_stack
    document = Emailhub(api_key=key, base_url=base)._request("GET", "/api/openapi.json").json()
    documented = _documented(document)
    # The validators' codes (all 400s), and the answer to a bug, which no operation lists.
    pairs = sorted(documented | {(400, code) for code in ERROR_CODES} | {(500, "internal_error")})
    assert len(documented) >= 40 and {(401, "unauthorized"), (503, "aws_unavailable")} <= documented
    assert {status for status, _ in pairs} <= set(EXPECTED_CLASS)

    answers = [(status, {"Retry-After": "1"} if status == 503 else {},
                {"error": {"code": code, "message": f"About {code}.", "field": "to",
                           **({"addresses": ["eve@example.com"]} if status == 422 else {})}})
               for status, code in pairs]
    with ScriptedProxy("http://127.0.0.1:9", answers) as server:
        client = Emailhub(api_key=key, base_url=server.url, max_retries=0)
        for status, code in pairs:
            with pytest.raises(EmailhubError) as caught:
                client.send(to="alice@example.com", subject="Hi", text="x", idempotency_key="table")
            error = caught.value
            assert type(error) is EXPECTED_CLASS[status], (status, code, type(error))
            assert (error.status, error.code, error.message, error.field) == (status, code, f"About {code}.", "to")
            assert error.addresses == (["eve@example.com"] if status == 422 else [])
            assert error.idempotency_key == "table" and error.body["error"]["code"] == code


def test_answers_outside_the_error_shape_still_raise_by_status():
    answers = [(404, {}, b"<html><h1>Not Found</h1></html>"), (403, {}, {"message": "Forbidden"}),
               (400, {}, {"error": {"code": "invalid_batch", "message": "1 of 2", "field": "emails",
                                    "errors": [{"index": 1, "code": "missing_body"}]}}),
               (409, {}, {"error": {"code": "not_cancelable", "message": "Too late", "email_status": "sent"}})]
    with ScriptedProxy("http://127.0.0.1:9", answers) as server:
        client = Emailhub(api_key="eh_x", base_url=server.url, max_retries=0)
        with pytest.raises(NotFoundError) as caught:
            client.get("x")
        assert caught.value.code == "http_404" and "Not Found" in caught.value.message and caught.value.body is None
        with pytest.raises(PermissionDeniedError) as caught:
            client.list_suppressions()  # an API Gateway's own answer
        assert (caught.value.code, caught.value.message) == ("http_403", "Forbidden")
        with pytest.raises(ValidationError) as caught:
            client.send_batch([{"to": "a@example.com"}])
        assert caught.value.errors == [{"index": 1, "code": "missing_body"}]
        with pytest.raises(ConflictError) as caught:
            client.cancel("x")
        assert caught.value.details == {"email_status": "sent"} and "409 not_cancelable" in str(caught.value)


def test_results_tolerate_fields_the_server_adds_and_leaves_out():
    future = {"id": "e1", "status": "quarantined", "created_at": "2026-12-01T00:00:00.000000Z",
              "priority": "high", "to": ["a@example.com"], "events": [{"at": "x", "type": "new-kind", "extra": 1}]}
    answers = [(202, {}, future), (200, {}, future), (202, {}, {"mode": "strict", "accepted": 1, "rejected": 0,
                                                                "data": [{"index": 0, "id": "e1", "lane": "fast"}],
                                                                "region": "eu"})]
    with ScriptedProxy("http://127.0.0.1:9", answers) as server:
        client = Emailhub(api_key="eh_x", base_url=server.url, max_retries=0)
        accepted = client.send(to="a@example.com", subject="Hi", text="x")
        assert isinstance(accepted, Accepted) and (accepted.id, accepted.status) == ("e1", "quarantined")
        assert accepted.raw["priority"] == "high" and accepted.send_at is None
        email = client.get("e1")
        assert isinstance(email, Email) and email.events[0]["type"] == "new-kind" and email.cc == []
        assert email.raw["priority"] == "high" and email.attempts == 0
        batch = client.send_batch([{"to": "a@example.com", "subject": "Hi", "text": "x"}])
        assert isinstance(batch, BatchResult) and batch.data[0].id == "e1" and batch.data[0].raw["lane"] == "fast"


def test_a_broken_or_hostile_answer_is_an_emailhub_error_not_a_crash():
    answers = [(400, {}, {"error": "just text"}), (422, {}, {"error": {"code": 7, "message": "x", "addresses": "abc"}}),
               (200, {}, b"<html>login page</html>"), (200, {}, ["a", "list"]),
               (200, {}, {"data": ["not an object", {"id": "e1", "status": "sent"}], "next_cursor": None}),
               (500, {}, {"error": {"code": "internal_error", "message": "m" * 100_000}})]
    with ScriptedProxy("http://127.0.0.1:9", answers) as server:
        client = Emailhub(api_key="eh_x", base_url=server.url, max_retries=0)
        with pytest.raises(ValidationError) as caught:
            client.get("x")
        assert caught.value.code == "http_400" and caught.value.status == 400
        with pytest.raises(ValidationError) as caught:
            client.get("x")
        assert (caught.value.code, caught.value.addresses) == ("7", [])
        for _ in range(2):
            with pytest.raises(EmailhubError) as caught:
                client.get("x")
            assert caught.value.code == "invalid_response" and caught.value.status == 200
        page = client.list()
        assert [e.id for e in page.data] == ["", "e1"] and page.data[0].raw == {}
        with pytest.raises(ServerError) as caught:
            client.get("x")
        assert len(caught.value.message) == 100_000
