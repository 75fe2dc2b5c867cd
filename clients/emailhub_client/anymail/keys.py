"""Idempotency-Keys from the messages themselves.

A message's key is derived from its Message-ID header, so sending the same
message again (a task retried after a timeout, a worker that died after the
POST) gives Emailhub the same key and the same body: it answers the first
email's id instead of sending a second one. A message without a Message-ID
gets one, as Django's own message() does, kept on `extra_headers` so a
retry of that message object reuses it. A batch's key is derived from its
messages' ids, in order.

The header can be up to 998 characters of anything; the key is a hash of it
(Emailhub takes 1-255 printable ASCII)."""

import hashlib

from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME

MESSAGE_PREFIX = "django-msg-"
BATCH_PREFIX = "django-batch-"


def message_id_ensure(message):
    """The message's Message-ID, setting a new one when it has none."""
    headers = message.extra_headers
    for name, value in headers.items():
        if name.lower() == "message-id" and value:
            return str(value)
    value = make_msgid(domain=DNS_NAME)
    headers["Message-ID"] = value
    return value


def _digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def message_key(message_id):
    return MESSAGE_PREFIX + _digest(message_id.strip())


def batch_key(message_ids):
    return BATCH_PREFIX + _digest("\n".join(m.strip() for m in message_ids))
