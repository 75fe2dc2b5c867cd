"""anymail's `tags` and `metadata` as Emailhub tags, and back.

Emailhub's tags are SES message tags: a name -> value map whose names and
values are 1-256 ASCII letters, digits, '_' or '-', at most 50 on an email.
They are what every webhook event carries back (`data.tags`), so both anymail
fields travel in them, told apart by a prefix:

    tags=["welcome", "onboarding"]  ->  {"tag_welcome": "1", "tag_onboarding": "1"}
    metadata={"user_id": 42}        ->  {"meta_user_id": "42"}

Metadata values come back as strings (as with most of anymail's ESPs). A tag,
key or value outside SES's characters is an unsupported feature (anymail's
error, or dropped with IGNORE_UNSUPPORTED_FEATURES) rather than silently
rewritten: a rewritten value would not be the one the tracking signal gives
back, nor the one `GET /emails?tag=` finds."""

import re

TAG_PREFIX = "tag_"
METADATA_PREFIX = "meta_"
TAG_VALUE = "1"
MAX_TAGS = 50
_SES_TEXT = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")
RULE = "1-256 ASCII letters, digits, '_' or '-'"


def is_ses_text(value):
    return isinstance(value, str) and bool(_SES_TEXT.match(value))


def tags_as_emailhub(tags):
    """(Emailhub tags, the anymail tags that cannot be one)."""
    mapped, refused = {}, []
    for tag in tags:
        name = f"{TAG_PREFIX}{tag}"
        if is_ses_text(tag) and is_ses_text(name):
            mapped[name] = TAG_VALUE
        else:
            refused.append(tag)
    return mapped, refused


def metadata_as_emailhub(metadata):
    """(Emailhub tags, the metadata keys that cannot be one)."""
    mapped, refused = {}, []
    for key, value in metadata.items():
        name, text = f"{METADATA_PREFIX}{key}", str(value)
        if is_ses_text(str(key)) and is_ses_text(name) and is_ses_text(text):
            mapped[name] = text
        else:
            refused.append(key)
    return mapped, refused


def tags_from_emailhub(emailhub_tags):
    """(anymail tags, metadata) recovered from an event's `data.tags`; tags
    set by other senders (no prefix) are left to `esp_event`."""
    tags, metadata = [], {}
    for name, value in sorted((emailhub_tags or {}).items()):
        if not isinstance(name, str):
            continue
        if name.startswith(TAG_PREFIX) and len(name) > len(TAG_PREFIX):
            tags.append(name[len(TAG_PREFIX):])
        elif name.startswith(METADATA_PREFIX) and len(name) > len(METADATA_PREFIX):
            metadata[name[len(METADATA_PREFIX):]] = value
    return tags, metadata
