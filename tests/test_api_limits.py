"""Every limit of the worker, SES, SQS and DynamoDB is checked at the API:
what a client can send either gets a clear 4xx with its own code, or a 202
that ends `sent` (or parked) — never a loop, never a 503."""

import json

import pytest

from emailhub.emails import email_get
from emailhub.selectors import email_status
from tests.conftest import drain_outbox, message, queue_messages, ses_sent


def _refused(response, status, code, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert error["field"] == field
    assert queue_messages("emailhub-outbox") == []


@pytest.mark.parametrize("char", ["\u000b", "\u000c", "\u001c", "\u001d", "\u001e", "\u0085", "\u2028",
                                  "\u2029", "\u0000", "\u001f", "\u007f"])
def test_control_characters_in_the_subject_are_refused(send, verified, char):
    # The reproduction: a vertical tab passed the CR/LF check and failed the MIME build on every attempt.
    _refused(send(message(subject=f"Order{char}X-Injected: yes", headers={"X-Order": "1"})),
             400, "control_character", "subject")


@pytest.mark.parametrize("body, field", [
    (message(headers={"X-Order": "1\u000bX-Injected: yes"}), "headers"),
    (message(to=["\"Order\u000bX-Injected: yes\" <alice@example.com>"]), "to.0"),
    (message(**{"from": "Shop\u000c <shop@example.com>"}), "from"),
    (message(attachments=[{"filename": "a\u000b.txt", "content": "eA=="}]), "attachments.0.filename"),
])
def test_control_characters_in_any_header_bound_field_are_refused(send, verified, body, field):
    _refused(send(body), 400, "control_character", field)


def test_a_tab_in_the_subject_is_sent(send, verified):
    response = send(message(subject="Order\t1042", headers={"X-Order": "a\tb"}))
    assert response.status_code == 202
    drain_outbox()
    assert email_status(email_id=response.json()["id"])["status"] == "sent"


@pytest.mark.parametrize("count", [51, 1100, 10_000])
def test_more_than_fifty_tags_are_refused(send, verified, count):
    _refused(send(message(tags={f"t{i}": "v" for i in range(count)})), 400, "too_many_tags", "tags")


def test_two_thousand_long_tags_are_a_400_not_a_503(send, verified):
    tags = {f"{i:04d}" + "n" * 252: "v" * 256 for i in range(2000)}
    _refused(send(message(tags=tags)), 400, "too_many_tags", "tags")


def test_fifty_tags_at_ses_limits_are_sent(send, verified):
    tags = {f"{i:02d}" + "n" * 254: "v" * 256 for i in range(50)}
    response = send(message(tags=tags))
    assert response.status_code == 202
    drain_outbox()
    assert email_status(email_id=response.json()["id"])["status"] == "sent"


@pytest.mark.parametrize("tags", [{"n" * 257: "v"}, {"n": "v" * 257}, {"": "v"}, {"ses:x": "v"}, {"a b": "v"}])
def test_tags_outside_ses_rules_are_refused(send, verified, tags):
    _refused(send(message(tags=tags)), 400, "invalid_tag", "tags")


@pytest.mark.parametrize("name", [
    "X-SES-CONFIGURATION-SET", "x-ses-message-tags", "X-SES-SOURCE-ARN", "X-SES-RETURN-PATH-ARN",
    "Received", "DKIM-Signature", "Return-Path", "ARC-Seal", "Authentication-Results", "Resent-To",
    "Content-Disposition", "Feedback-ID", "X-Amz-Anything",
])
def test_headers_ses_or_receiving_servers_act_on_are_refused(send, verified, name):
    _refused(send(message(headers={name: "value"})), 400, "forbidden_header", "headers")


def test_list_unsubscribe_is_still_allowed(send, verified):
    response = send(message(headers={"List-Unsubscribe": "<https://example.com/u>"}))
    assert response.status_code == 202
    drain_outbox()
    assert "List-Unsubscribe: <https://example.com/u>" in ses_sent()[0].raw_data


def test_too_many_headers_are_refused(send, verified):
    _refused(send(message(headers={f"X-H{i}": "v" for i in range(51)})), 400, "too_many_headers", "headers")


@pytest.mark.parametrize("body, field", [
    (message(to=[f"\"{'N' * 450_000}\" <alice@example.com>"]), "to.0"),
    (message(headers={"X-Long": "v" * 999}), "headers"),
    (message(subject="s" * 999), "subject"),
])
def test_header_fields_over_the_line_limit_are_refused(send, verified, settings, body, field):
    settings.EMAILHUB_MAX_REQUEST_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    _refused(send(body), 400, "field_too_long", field)


def test_too_many_reply_to_addresses_are_refused(send, verified):
    _refused(send(message(reply_to=[f"r{i}@example.com" for i in range(51)])), 400, "too_many_reply_to")


def test_a_lone_surrogate_is_refused(send, verified):
    raw = json.dumps(message(text="x")).replace('"x"', '"\\ud800"')
    _refused(send(None, raw=raw), 400, "invalid_unicode")


def test_escaped_emoji_is_fine(send, verified):
    raw = json.dumps(message(text="x")).replace('"x"', '"\\ud83d\\ude00"')
    assert send(None, raw=raw).status_code == 202


def test_a_message_over_ses_size_limit_is_a_413(send, verified, settings):
    settings.EMAILHUB_MAX_REQUEST_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
    _refused(send(message(text="é" * 2_000_000)), 413, "message_too_large")


def test_largest_summary_fits_in_the_item_and_is_sent(send, verified, settings):
    """Fifty recipients with display names at the line limit, fifty tags at
    SES's limits and the longest subject: the item stays under 400 KB, even
    when the inline payload limit is raised past what the item can hold."""
    settings.EMAILHUB_SES_SANDBOX = False
    settings.EMAILHUB_INLINE_PAYLOAD_BYTES = 390 * 1024
    to = [f"\"{'N' * 960}\" <r{i:02d}@example.com>" for i in range(50)]
    tags = {f"{i:02d}" + "n" * 254: "v" * 256 for i in range(50)}
    response = send(message(to=to, tags=tags, subject="s" * 998, text="x" * 200_000))
    assert response.status_code == 202, response.content
    item = email_get(response.json()["id"])
    assert "payload_ref" in item  # the request went to S3: it would not have fitted beside the summary
    drain_outbox()
    assert email_status(email_id=response.json()["id"])["status"] == "sent"
    assert len(ses_sent()[0].destinations["ToAddresses"]) == 50


WRONG_TYPES = [{}, [], [{}], [[]], [None], [1], 1, 1.5, True, None]


@pytest.mark.parametrize("field", ["from", "to", "cc", "bcc", "reply_to", "subject", "text", "html", "tags",
                                   "headers", "attachments"])
@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_a_value_of_the_wrong_type_in_any_field_is_a_400_never_a_500(send, verified, field, value):
    # The reproduction: "reply_to": [{}] reached the address parser's cache as a dict, a TypeError, a 500.
    response = send(message(**{field: value}))
    if response.status_code == 202:  # null or empty where that means "none"
        assert value in (None, [], {}) or field in ("text", "html"), response.content
        return
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in {"invalid_field", "invalid_address", "missing_field", "missing_body"}, error
    assert error["message"] and (error["field"] or "").split(".")[0] in (field, "")


def test_an_unexpected_error_is_a_json_500_in_the_error_shape(client, api_key, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("emailhub.api.search.email_search", broken)
    response = client.get("/emails", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error" and "a bug" not in response.content.decode()
