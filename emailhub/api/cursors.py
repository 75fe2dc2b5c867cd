"""Opaque, signed cursors for the API's lists (GET /emails, GET /suppressions).

A cursor is the DynamoDB position of the next page, signed with the
deployment's secret and tied to what it was made for (the operation, its
filters and the API key): a forged, damaged or foreign cursor is a 400
`invalid_cursor`, never a read somewhere else."""

import hashlib
import json

from django.core import signing

SALT = "emailhub.api.cursor"
# A real cursor is a few hundred characters; anything much longer is not one.
MAX_CURSOR_CHARS = 2048


class InvalidCursor(ValueError):
    pass


def _fingerprint(made_for):
    return hashlib.sha256(json.dumps(made_for, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cursor_sign(*, position, made_for):
    """The cursor of `position`, valid only with the same `made_for` (a JSON-able dict)."""
    return signing.dumps({"p": position, "f": _fingerprint(made_for)}, salt=SALT, compress=True)


def cursor_open(token, *, made_for):
    """The position in a cursor, or None for no cursor; InvalidCursor says why it cannot be used."""
    if token is None or token == "":
        return None
    if len(token) > MAX_CURSOR_CHARS:
        raise InvalidCursor("The cursor is not one this API made (too long).")
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, UnicodeError) as err:
        raise InvalidCursor("The cursor is not one this API made, or it was changed: "
                            "start again without a cursor.") from err
    if not isinstance(data, dict) or data.get("f") != _fingerprint(made_for):
        raise InvalidCursor("The cursor was made for other filters or another API key: "
                            "pass the same filters as the page it came from, or start again without a cursor.")
    return data.get("p")
