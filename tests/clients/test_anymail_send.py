"""Django's send_mail(), EmailMultiAlternatives and send_messages() through
the anymail backend (in the example project's own process), against the live
local stack: what SES got, one batch request, a retried send sent once."""

import email
import email.policy
import json
import os
import uuid

import pytest

from tests.clients.anymail_helpers import SENDER, example_env, send_examples
from tests.conftest import ses_sent
from tests.test_local_stack import _request, _wait_for, local_stack  # noqa: F401 (a fixture)

CC = "success@simulator.amazonses.com"


def _sent_with_subject(subject):
    """What SES got: a raw MIME message (attachments, headers) or simple content."""
    found = [m for m in ses_sent()
             if getattr(m, "subject", None) == subject or f"Subject: {subject}" in getattr(m, "raw_data", "")]
    assert len(found) == 1, f"{len(found)} messages with subject {subject!r}"
    return found[0]


def _attachments(mime):
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
            for part in mime.walk() if part.get_filename()}


def test_send_mail_and_alternatives_with_attachments_arrive_intact(local_stack, tmp_path):
    base, key = local_stack
    env = example_env(base_url=base, key=key)
    pdf = bytes(range(256)) * 40 + os.urandom(4096)  # every byte value, and noise
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
    # text/* parts travel in MIME's canonical line form: one kind of line ending survives as it was.
    text = "Grüße aus Köln — line one\nline two\n".encode()
    for name, content in [("report.pdf", pdf), ("pixel.png", png), ("notes.txt", text)]:
        (tmp_path / name).write_bytes(content)

    plain_subject = f"send_mail {uuid.uuid4().hex[:8]}"
    [plain] = send_examples(env, "mail", "--to", SENDER, "--subject", plain_subject)
    assert plain["status"] == ["queued"] and plain["recipients"][SENDER]["message_id"] == plain["message_id"]

    subject = f"alternatives {uuid.uuid4().hex[:8]}"
    [rich] = send_examples(env, "alternatives", "--to", SENDER, "--subject", subject,
                           "--attach", str(tmp_path / "report.pdf"), "--attach", str(tmp_path / "pixel.png"),
                           "--attach", str(tmp_path / "notes.txt"), "--inline", str(tmp_path / "pixel.png"),
                           "--tag", "welcome", "--metadata", "order=1042")
    assert rich["message_id"] and rich["message_id"] != plain["message_id"]

    _wait_for(base, key, plain["message_id"], "delivered")
    email_json = _wait_for(base, key, rich["message_id"], "delivered")
    assert email_json["tags"] == {"tag_welcome": "1", "meta_order": "1042"}

    sent = _sent_with_subject(plain_subject)  # no attachment or header: SES's simple content
    assert SENDER in sent.source and "A plain text email." in sent.body

    sent = _sent_with_subject(subject)
    # moto keeps the MIME as the UTF-8 text it decoded: its bytes again, as SES got them.
    mime = email.message_from_bytes(sent.raw_data.encode("utf-8"), policy=email.policy.default)
    assert mime["Reply-To"] == "replies@example.com" and mime["X-Example"] == "alternatives"
    html = mime.get_body(("html",)).get_content()
    assert html.startswith("<p>The <b>html</b> part.</p>")
    assert mime.get_body(("plain",)).get_content().strip() == "The text part."
    attached = _attachments(mime)
    assert attached["report.pdf"] == ("application/pdf", pdf)
    assert attached["pixel.png"] == ("image/png", png)
    assert attached["notes.txt"] == ("text/plain", text)
    [inline] = [p for p in mime.walk() if p.get_content_disposition() == "inline" and p.get_filename()]
    assert f'src="cid:{inline["Content-ID"].strip("<>")}"' in html  # the html's image is this part
    assert inline.get_content_type() == "image/png" and inline.get_payload(decode=True) == png


def test_send_messages_is_one_batch_request_with_an_id_per_message(local_stack, monkeypatch):
    from emailhub.api import batch as batch_api
    from emailhub import services

    calls = {"batch": 0, "single": 0}
    batch_send, single_send = batch_api.emails_send_batch, services.email_send

    def counted_batch(**kwargs):
        calls["batch"] += 1
        return batch_send(**kwargs)

    def counted_single(**kwargs):
        calls["single"] += 1
        return single_send(**kwargs)

    monkeypatch.setattr(batch_api, "emails_send_batch", counted_batch)
    monkeypatch.setattr(services, "email_send", counted_single)
    base, key = local_stack
    env = example_env(base_url=base, key=key)
    subject = f"batch {uuid.uuid4().hex[:8]}"
    recipients = [SENDER, CC, "delivered@simulator.amazonses.com"]
    args = ["batch", "--subject", subject, "--tag", "digest"]
    for to in recipients:
        args += ["--to", to]
    statuses = send_examples(env, *args)
    assert calls == {"batch": 1, "single": 0}

    ids = [s["message_id"] for s in statuses]
    assert len(set(ids)) == 3 and all(ids)
    assert [s["esp_response"]["index"] for s in statuses] == [0, 1, 2]
    for to, status in zip(recipients, statuses):
        assert status["recipients"] == {to: {"message_id": status["message_id"], "status": "queued"}}
        _, stored = _request(f"{base}/emails/{status['message_id']}", key=key)
        assert stored["to"] == [to] and stored["tags"] == {"tag_digest": "1"}

    # The same messages again (the task retried): the same ids, nothing sent twice.
    again = send_examples(env, *args)
    assert calls == {"batch": 2, "single": 0}
    assert [s["message_id"] for s in again] != ids  # a fresh EmailMessage has a fresh Message-ID...
    fixed = args + ["--message-id", f"<digest-{uuid.uuid4().hex}@example.com>"]
    first, second = send_examples(env, *fixed), send_examples(env, *fixed)
    assert [s["message_id"] for s in first] == [s["message_id"] for s in second]  # ...a stable one answers the same


def test_a_retried_send_with_the_same_message_id_sends_one_email(local_stack):
    base, key = local_stack
    env = example_env(base_url=base, key=key)
    subject = f"retried {uuid.uuid4().hex[:8]}"
    message_id = f"<order-1042.{uuid.uuid4().hex}@shop.example>"
    args = ["alternatives", "--to", SENDER, "--subject", subject, "--message-id", message_id]
    [first] = send_examples(env, *args)
    [second] = send_examples(env, *args)  # the task ran again after a lost answer
    assert second["message_id"] == first["message_id"]
    _wait_for(base, key, first["message_id"], "delivered")
    _sent_with_subject(subject)  # exactly one message reached SES

    [other] = send_examples(env, *args[:-2])  # without a fixed Message-ID: a new message, a new email
    assert other["message_id"] != first["message_id"]


def test_a_refused_message_in_a_batch_does_not_hold_back_the_others(local_stack):
    from tests.clients.anymail_helpers import manage

    base, key = local_stack
    refused = "nobody@unverified.example"
    done = manage(example_env(base_url=base, key=key), "send_examples", "batch", "--to", SENDER, "--to", refused,
                  "--to", CC)
    assert done.returncode == 1 and "unverified_identity" in done.stderr  # send_messages raised, afterwards
    first, second, third = [json.loads(line) for line in done.stdout.splitlines()]
    assert second["message_id"] is None and second["recipients"][refused]["status"] == "failed"
    assert second["esp_response"]["error"]["code"] == "unverified_identity"
    for status in (first, third):
        assert status["status"] == ["queued"]
        _wait_for(base, key, status["message_id"], "delivered")


@pytest.mark.parametrize("kind", ["mail", "alternatives"])
def test_a_refused_message_is_anymails_error_with_emailhubs_code(local_stack, kind):
    base, key = local_stack
    done = __import__("tests.clients.anymail_helpers", fromlist=["manage"]).manage(
        example_env(base_url=base, key=key), "send_examples", kind, "--to", "nobody@unverified.example")
    assert done.returncode != 0
    assert "EmailhubAPIError" in done.stderr and "unverified_identity" in done.stderr
