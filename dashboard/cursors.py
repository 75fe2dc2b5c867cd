"""Opaque, signed cursors for the email log: the DynamoDB position of the next
page plus the trail of earlier pages (for "previous"), tied to the filter they
were made for, so a cursor cannot be forged or reused with other filters."""

import hashlib
import json

from django.core import signing

SALT = "dashboard.email-log.cursor"
MAX_TRAIL = 50


def filter_fingerprint(params):
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def cursor_dump(*, position, trail, fingerprint):
    return signing.dumps({"p": position, "t": trail[-MAX_TRAIL:], "f": fingerprint}, salt=SALT, compress=True)


def cursor_load(token, *, fingerprint):
    """(position, trail) of a cursor; a bad or foreign cursor starts at the top."""
    if not token:
        return None, []
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None, []
    if data.get("f") != fingerprint:
        return None, []
    return data["p"], data["t"]
