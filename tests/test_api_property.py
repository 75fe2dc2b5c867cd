"""The property behind the API's checks: for any request the API answers 202,
the email ends sent (or failed and parked) within its attempts; anything else
is a 4xx with a documented code, never a 5xx."""

import base64
import json

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from emailhub import model
from emailhub.emails import email_get
from tests.conftest import drain_outbox, queue_messages

# Characters a client might send in a header-bound field: printable text,
# every control character, Unicode line separators, non-ASCII letters.
_tricky = st.sampled_from(list("\t\x00\x0b\x0c\x1c\x1d\x1e\x1f\x7f\x85\u2028\u2029\r\n:;<>\"'@ é漢"))
_clean = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40)
# Mostly what a client means to send, now and then something hostile.
_text = st.one_of(_clean, _clean, _clean, st.text(st.one_of(st.characters(codec="utf-8"), _tricky), max_size=40))
SENDERS = ["alice@example.com", "bob@example.org", "c.d+tag@example.net", "émile@example.com"]
_address = st.sampled_from(SENDERS + SENDERS[:2] + ["not-an-address", "x@localhost"])
_mailbox = st.one_of(_address, st.builds(lambda name, addr: f"{name} <{addr}>", _text, _address))
_mailboxes = st.one_of(_mailbox, st.lists(_mailbox, min_size=1, max_size=3))
_tag_part = st.one_of(st.text(st.sampled_from("aZ09_-"), min_size=1, max_size=6),
                      st.text(st.sampled_from("aZ09_-:. é\x0b"), max_size=6), st.just("n" * 256), st.just("n" * 257))
_header_name = st.one_of(
    st.sampled_from(["X-Order", "List-Unsubscribe", "X-SES-CONFIGURATION-SET", "X-SES-MESSAGE-TAGS",
                     "Received", "DKIM-Signature", "Return-Path", "Bcc", "Content-Type", "Resent-From",
                     "X-Entity-Ref-ID", "In-Reply-To", "References"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x7f), max_size=12),
)
_attachment = st.fixed_dictionaries(
    {"filename": _text, "content": st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())},
    optional={"content_type": st.sampled_from(["text/plain", "application/pdf", "bad", "a/b\x0b"])},
)
requests = st.fixed_dictionaries(
    {"to": _mailboxes, "subject": _text, "text": st.text(min_size=1, max_size=200)},
    optional={
        "from": _mailbox, "cc": _mailboxes, "bcc": _mailboxes, "reply_to": _mailboxes, "html": st.text(max_size=200),
        "tags": st.dictionaries(_tag_part, _tag_part, max_size=4),
        "headers": st.dictionaries(_header_name, _text, max_size=3),
        "attachments": st.lists(_attachment, max_size=2),
    },
)
DOCUMENTED_4XX = {
    "malformed_json", "unknown_field", "missing_field", "invalid_field", "invalid_address", "header_injection",
    "control_character", "too_many_recipients", "missing_body", "invalid_tag", "too_many_tags", "invalid_header",
    "forbidden_header", "too_many_headers", "too_many_reply_to", "field_too_long", "invalid_attachment",
    "invalid_unicode", "payload_too_large", "message_too_large", "item_too_large",
}


@pytest.fixture
def senders(aws):
    """SES refuses a sender that is not a verified identity, sandbox or not."""
    from emailhub.identities import identity_verify

    for address in SENDERS + [django_settings.EMAILHUB_DEFAULT_FROM]:
        identity_verify(identity=address)


@hypothesis_settings(max_examples=120, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=requests)
def test_what_the_api_accepts_ends_sent_or_parked(send, senders, settings, body):
    settings.EMAILHUB_SES_SANDBOX = False
    response = send(body)
    if response.status_code != 202:
        assert 400 <= response.status_code < 500, (response.status_code, response.content)
        assert response.json()["error"]["code"] in DOCUMENTED_4XX, response.content
        return
    email_id = response.json()["id"]
    drain_outbox()
    email = email_get(email_id)
    assert email["attempts"] <= settings.EMAILHUB_MAX_ATTEMPTS
    if email["status"] != model.SENT:
        assert email["status"] == model.FAILED, (email["status"], email.get("last_error"), json.dumps(body))
        assert email.get("dlq_message_id") and email_id in {m["email_id"] for m in queue_messages("emailhub-dlq")}
    # The emulator refuses nothing these checks let through: every accepted email is sent.
    assert email["status"] == model.SENT, (email.get("last_error"), json.dumps(body))
