"""Where an email's full request is kept: inline in its DynamoDB item when
small, in S3 (through django-storages) when large."""

import json

from django.conf import settings
from django.core.files.base import ContentFile

from emailhub.aws.s3 import payload_storage


def payload_store(*, email_id, request, room=None):
    """Attributes to put on the email item for `request`: the request itself
    when it is at most EMAILHUB_INLINE_PAYLOAD_BYTES (and `room`, the bytes
    the item has left for it), else a reference to its copy in S3."""
    encoded = json.dumps(request, separators=(",", ":")).encode()
    limit = settings.EMAILHUB_INLINE_PAYLOAD_BYTES if room is None else min(room, settings.EMAILHUB_INLINE_PAYLOAD_BYTES)
    if len(encoded) <= limit:
        return {"request": request, "payload_bytes": len(encoded)}
    name = f"payloads/{email_id}.json"
    payload_storage().save(name, ContentFile(encoded))
    return {"payload_ref": name, "payload_bytes": len(encoded)}


def payload_load(*, email):
    if "request" in email:
        return email["request"]
    with payload_storage().open(email["payload_ref"], "rb") as handle:
        return json.loads(handle.read())
