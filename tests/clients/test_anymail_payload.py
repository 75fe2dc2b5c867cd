"""The anymail backend's mapping of a Django message onto Emailhub's request,
and of Emailhub's webhook events onto anymail's: no server needed."""

import base64
from datetime import datetime, timedelta, timezone
from email.mime.image import MIMEImage

import pytest
from anymail.exceptions import AnymailUnsupportedFeature
from anymail.message import attach_inline_image
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection

from emailhub_client.anymail import keys
from emailhub_client.anymail.backend import EmailhubAPIError
from emailhub_client.anymail.tags import tags_from_emailhub
from emailhub_client.anymail.webhooks import tracking_events

BACKEND = "emailhub_client.anymail.EmailBackend"


@pytest.fixture
def backend(settings):
    settings.ANYMAIL = {"EMAILHUB_API_KEY": "eh_test", "EMAILHUB_API_URL": "http://127.0.0.1:9"}
    return get_connection(BACKEND)


def _body(backend, message):
    return backend.build_message_payload(message, backend.send_defaults).request


def test_a_full_message_becomes_the_send_email_body(backend):
    send_at = datetime(2026, 12, 24, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    message = EmailMultiAlternatives(
        "Your order", "Thanks!", "Shop <shop@example.com>", ["Ann <ann@example.com>"], cc=["cc@example.com"],
        bcc=["bcc@example.com"], reply_to=["help@example.com"],
        headers={"X-Order": 1042, "Message-ID": "<order-1042@shop.example>"})
    message.attach_alternative("<p>Thanks!</p>", "text/html")
    message.attach("invoice.pdf", b"%PDF-1.4 \x00\xff", "application/pdf")
    message.attach(None, b"\x00\x01", "image/png")  # an unnamed attachment gets a name
    message.tags = ["orders", "receipt-v2"]
    message.metadata = {"order_id": 1042, "region": "eu-west"}
    message.send_at = send_at
    body = _body(backend, message)
    assert body == {
        "from": "Shop <shop@example.com>", "to": ["Ann <ann@example.com>"], "cc": ["cc@example.com"],
        "bcc": ["bcc@example.com"], "reply_to": ["help@example.com"], "subject": "Your order", "text": "Thanks!",
        "html": "<p>Thanks!</p>", "headers": {"X-Order": "1042"},  # the Message-ID makes the key, not a header
        "attachments": [
            {"filename": "invoice.pdf", "content_type": "application/pdf",
             "content": base64.b64encode(b"%PDF-1.4 \x00\xff").decode()},
            {"filename": "attachment.png", "content_type": "image/png", "content": "AAE="}],
        "tags": {"tag_orders": "1", "tag_receipt-v2": "1", "meta_order_id": "1042", "meta_region": "eu-west"},
        "send_at": "2026-12-24T09:00:00+01:00",
    }
    assert tags_from_emailhub(body["tags"]) == (["orders", "receipt-v2"], {"order_id": "1042", "region": "eu-west"})


def test_esp_extra_reaches_fields_anymail_has_no_name_for(backend):
    message = EmailMessage("Code", "123456", "a@example.com", ["b@example.com"])
    message.esp_extra = {"expires_at": "2026-12-02T10:15:00+00:00"}
    assert _body(backend, message)["expires_at"] == "2026-12-02T10:15:00+00:00"


def _inline_image(content_id=None):
    image = MIMEImage(b"\x89PNG\r\n\x1a\n", "png")
    if content_id:
        image.add_header("Content-ID", content_id)
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    return image


def test_an_inline_image_keeps_its_content_id(backend):
    message = EmailMultiAlternatives("Hi", "x", "a@example.com", ["b@example.com"])
    cid = attach_inline_image(message, b"\x89PNG\r\n\x1a\n", filename="logo.png", domain="shop.example")
    message.attach_alternative(f'<img src="cid:{cid}">', "text/html")
    message.attach(_inline_image("<banner@shop.example>"))
    [logo, banner] = _body(backend, message)["attachments"]
    assert logo == {"filename": "logo.png", "content_type": "image/png", "content": "iVBORw0KGgo=", "content_id": cid}
    assert banner["content_id"] == "banner@shop.example"


@pytest.mark.parametrize("feature, value", [
    ("envelope_sender", "bounces@example.com"),
    ("merge_data", {"b@example.com": {"name": "B"}}),
    ("merge_metadata", {"b@example.com": {"k": "v"}}),
    ("merge_headers", {"b@example.com": {"X-K": "v"}}),
    ("merge_global_data", {"k": "v"}),
    ("template_id", "welcome"),
    ("track_opens", True),
    ("track_clicks", True),
    ("tags", ["has space"]),
    ("tags", ["x" * 300]),
    ("metadata", {"email": "ann@example.com"}),
    ("metadata", {"bad key": "v"}),
    ("metadata", {"empty": ""}),
    ("metadata", {f"k{i}": "v" for i in range(51)}),
    ("extra_headers", {"Date": "Wed, 02 Dec 2026 10:00:00 +0000"}),
    ("attachments", [_inline_image()]),  # inline, but nothing for the html to refer to
])
def test_what_emailhub_cannot_do_is_anymails_unsupported_feature(backend, settings, feature, value):
    message = EmailMessage("Hi", "x", "a@example.com", ["b@example.com"])
    setattr(message, feature, value)
    with pytest.raises(AnymailUnsupportedFeature, match="Emailhub does not support"):
        _body(backend, message)
    settings.ANYMAIL = {**settings.ANYMAIL, "IGNORE_UNSUPPORTED_FEATURES": True}
    body = _body(get_connection(BACKEND), message)  # sent without it
    assert body["to"] == ["b@example.com"] and "Date" not in body.get("headers", {})


def test_the_idempotency_key_comes_from_the_message_id(backend):
    message = EmailMessage("Hi", "x", "a@example.com", ["b@example.com"])
    first = backend.build_message_payload(message, {}).message_id
    assert message.extra_headers["Message-ID"] == first  # kept: the same message sent again has it
    assert backend.build_message_payload(message, {}).message_id == first
    other = EmailMessage("Hi", "x", "a@example.com", ["b@example.com"])
    assert backend.build_message_payload(other, {}).message_id != first
    fixed = EmailMessage("Hi", "x", "a@example.com", ["b@example.com"], headers={"message-id": "<o-1@shop>"})
    assert backend.build_message_payload(fixed, {}).message_id == "<o-1@shop>"

    key = keys.message_key("<o-1@shop>" + "é" * 2000)  # any header value: a key Emailhub takes
    assert key.isascii() and key.isprintable() and len(key) <= 255
    assert keys.message_key("<o-1@shop>") == keys.message_key("<o-1@shop>") != keys.message_key("<o-2@shop>")
    assert keys.batch_key(["<a>", "<b>"]) != keys.batch_key(["<b>", "<a>"]) != keys.batch_key(["<a>"])


def test_no_answer_from_emailhub_is_an_anymail_api_error(backend):
    backend = get_connection(BACKEND, max_retries=0, requests_timeout=2)
    message = EmailMessage("Hi", "x", "a@example.com", ["b@example.com"])
    with pytest.raises(EmailhubAPIError, match="no answer") as raised:
        backend.send_messages([message])
    assert raised.value.code == "connection_error"
    assert message.anymail_status.status == {"failed"} and message.anymail_status.message_id is None
    assert get_connection(BACKEND, fail_silently=True, max_retries=0).send_messages([message]) == 0


def _event(type_, **data):
    return {"type": type_, "id": "evt_e1_4", "created_at": "2026-12-02T10:00:00.000+00:00",
            "data": {"email_id": "e1", "to": ["Ann <ann@example.com>", "bob@example.com"], "cc": ["cc@example.com"],
                     "tags": {}, "details": {}, **data}}


def test_an_event_is_one_tracking_event_per_recipient_it_names():
    delivered = tracking_events(_event("email.delivered", details={"recipients": ["bob@example.com"]}))
    assert [(e.event_type, e.recipient, e.message_id) for e in delivered] == [("delivered", "bob@example.com", "e1")]
    sent = tracking_events(_event("email.sent"))
    assert [e.recipient for e in sent] == ["ann@example.com", "bob@example.com", "cc@example.com"]
    assert {e.event_id for e in sent} == {"evt_e1_4"}
    assert sent[0].timestamp == datetime(2026, 12, 2, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("type_, data, expected", [
    ("email.accepted", {"status": "scheduled"}, ("queued", None)),
    ("email.delivery_delayed", {}, ("deferred", None)),
    ("email.deferred", {}, ("deferred", None)),
    ("email.bounced", {"details": {"diagnostic": "550 5.1.1 unknown"}}, ("bounced", "bounced")),
    ("email.complained", {}, ("complained", "spam")),
    ("email.failed", {"timeline_event": "reject"}, ("rejected", "other")),
    ("email.failed", {"details": {"code": "suppressed_recipient"}}, ("rejected", "blocked")),
    ("email.failed", {"details": {"code": "MessageRejected"}}, ("failed", None)),
    ("email.expired", {}, ("failed", None)),
    ("email.canceled", {}, ("unknown", None)),
    ("email.something_new", {}, ("unknown", None)),
])
def test_emailhub_event_types_become_anymails(type_, data, expected):
    [first, *_] = tracking_events(_event(type_, **data))
    assert (first.event_type, first.reject_reason) == expected


@pytest.mark.parametrize("data", [None, [], "x", {"to": "not a list", "details": [1]}, {"to": [None, 3, "@@"]}])
def test_a_signed_but_odd_event_still_gives_one_event(data):
    [event] = tracking_events({"type": "email.sent", "id": "evt", "created_at": 5, "data": data})
    assert event.event_type == "sent" and event.recipient is None and event.timestamp is None


def test_batches_are_cut_by_count_and_by_size(backend):
    def payloads(count, text="x"):
        messages = [EmailMessage("Hi", text, "a@example.com", [f"u{i}@example.com"]) for i in range(count)]
        return [(m, backend.build_message_payload(m, {})) for m in messages]

    assert [len(c) for c in backend._chunks(payloads(250))] == [100, 100, 50]
    big = payloads(5, text="x" * (1024 * 1024))  # 1 MiB and a little JSON each: three fit under 4 MiB
    assert [len(c) for c in backend._chunks(big)] == [3, 2]
    assert [len(c) for c in backend._chunks(big)] == [3, 2]  # the same messages, the same cut


def test_a_bad_message_in_a_batch_raises_before_anything_is_sent(backend, monkeypatch):
    posts = []
    monkeypatch.setattr(backend, "_send_chunk", lambda chunk: posts.append(chunk) or (len(chunk), []))
    good = [EmailMessage("Hi", "x", "a@example.com", [f"u{i}@example.com"]) for i in range(150)]
    bad = EmailMessage("Hi", "x", "a@example.com", ["z@example.com"])
    bad.metadata = {"email": "ann@example.com"}
    with pytest.raises(AnymailUnsupportedFeature):
        backend.send_messages(good + [bad])
    assert posts == []
    assert backend.send_messages(good) == 150 and [len(c) for c in posts] == [100, 50]
