"""Standard Webhooks signatures (https://www.standardwebhooks.com/):

    webhook-id: <event id>   webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

A secret is `whsec_` + base64 of 32 random bytes. While a rotated secret
is still valid the header carries one signature per secret, space-separated,
as the specification allows. A few lines of hmac, so the Lambda package needs
no library for it; the tests verify with the `standardwebhooks` package."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def secret_new():
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret):
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret, *, msg_id, timestamp, body):
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(secrets_, *, msg_id, timestamp, body):
    """The three headers for `body` (bytes), signed with every secret given."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signature(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_),
    }
