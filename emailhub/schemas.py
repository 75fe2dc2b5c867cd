"""Request and response schemas of the REST API (pydantic, served as OpenAPI).

Validation errors carry a machine-readable `type` that the API returns as the
error code: unknown_field, missing_field, invalid_address, header_injection,
too_many_recipients, missing_body, invalid_attachment, invalid_tag, ...

What passes here is what the worker, SES, SQS and DynamoDB can carry: every
limit they impose is checked at the door, each with its own code, so that a
202 can only end `sent` or parked, never in a loop or a 503. The limits and
where they come from are next to each check."""

import base64
import binascii
import re
from typing import Annotated, Literal, Optional

from django.conf import settings
from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, SkipValidation, WithJsonSchema, field_validator, model_validator,
)
from pydantic_core import PydanticCustomError

from emailhub.addresses import InvalidAddress, has_line_break, parse_mailbox
from emailhub.scheduling.timing import parse_instant

# The codes our validators raise; the API passes them through as error codes.
ERROR_CODES = {
    "invalid_address", "header_injection", "too_many_recipients", "missing_body", "missing_field",
    "invalid_attachment", "invalid_tag", "invalid_header", "control_character", "too_many_tags",
    "forbidden_header", "too_many_headers", "too_many_reply_to", "field_too_long", "invalid_datetime",
    "too_many_emails", "empty_batch",
}
# SES message tags (MessageTag in the SES API reference): names and values of
# 1-256 ASCII letters, digits, '_' or '-', and at most 50 tags on one email.
# Emailhub adds no tags of its own (SES's automatic `ses:*` tags do not count).
_TAG = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")
MAX_TAGS = 50
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII except ':'
_CONTENT_TYPE = re.compile(r"^[\w.+\-]+/[\w.+\-]+$")
# RFC 5322's line limit: a header field (subject, one address with its display
# name, a header value) longer than this is refused rather than folded.
MAX_HEADER_CHARS = 998
MAX_HEADERS = 50
MAX_REPLY_TO = 50
# Headers the message builder sets itself; a request may not override them.
RESERVED_HEADERS = {
    "from", "to", "cc", "bcc", "subject", "reply-to", "sender", "date", "message-id",
    "mime-version", "content-type", "content-transfer-encoding",
}
# Headers SES or the receiving servers act on: SES honours X-SES-* (the
# configuration set, message tags, source ARN: a client could route around
# event tracking and the suppression list); trace, authentication and
# envelope headers are the receiving servers' to write (Received, DKIM, ARC,
# Return-Path, ...); Resent-* and Content-* change what the message is.
FORBIDDEN_HEADERS = {
    "return-path", "received", "received-spf", "dkim-signature", "domainkey-signature",
    "authentication-results", "delivered-to", "x-original-to", "envelope-to", "errors-to",
    "feedback-id", "bounces-to", "x-failed-recipients",
}
FORBIDDEN_HEADER_PREFIXES = ("x-ses-", "x-amz-", "arc-", "resent-", "content-")
# Every control character but tab, and the Unicode line/paragraph separators:
# Python's email package splits header values on str.splitlines(), which breaks
# on \v, \f, \x1c-\x1e and \x85 as well as CR/LF (so "Order\vX-Injected: yes"
# fails the MIME build on every attempt), and NUL or DEL would reach SES raw.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _no_line_breaks(value):
    if isinstance(value, str):
        if has_line_break(value):
            raise PydanticCustomError("header_injection", "Line breaks are not allowed in header fields.")
        if _CONTROL.search(value):
            raise PydanticCustomError(
                "control_character", "Control characters (other than tab) are not allowed in header fields.")
    return value


def _header_text(value):
    _no_line_breaks(value)
    if isinstance(value, str) and len(value) > MAX_HEADER_CHARS:
        raise PydanticCustomError("field_too_long", "A header field is at most {limit} characters.",
                                  {"limit": MAX_HEADER_CHARS})
    return value


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise PydanticCustomError("invalid_field", "Give an address (a string) or a list of addresses.")
    return value


def _mailbox(value):
    if not isinstance(value, str):
        # A before-validator sees the raw JSON: anything but a string is refused here, as a 400.
        raise PydanticCustomError("invalid_address", "An address is a string, e.g. alice@example.com.")
    _header_text(value)
    try:
        return str(parse_mailbox(value))
    except InvalidAddress as err:
        raise PydanticCustomError("invalid_address", str(err)) from err


def _instant(value):
    """ISO 8601 with an offset, kept as given (it is part of the request that
    is hashed for idempotency); its range is checked when accepting."""
    if value is None:
        return value
    try:
        parse_instant(value)
    except ValueError as err:
        raise PydanticCustomError("invalid_datetime", str(err)) from err
    return value


HeaderText = Annotated[str, BeforeValidator(_header_text)]
Instant = Annotated[Optional[str], BeforeValidator(_instant),
                    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})]
MailboxStr = Annotated[str, BeforeValidator(_mailbox)]
# One address or a list: the schema says so, the validator makes it a list.
MailboxList = Annotated[
    list[MailboxStr], BeforeValidator(_as_list),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                    "description": "An address (alice@example.com or Alice <alice@example.com>) or a list of them."}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)

    @model_validator(mode="wrap")
    @classmethod
    def _type_errors_are_invalid_fields(cls, data, handler):
        """Before-validators see raw JSON, and pydantic turns only ValueErrors
        into validation errors: a TypeError from a value of an unexpected type
        (an object where an address goes) would be a 500. It is a 400."""
        try:
            return handler(data)
        except TypeError as err:
            raise PydanticCustomError("invalid_field", "A field has a value of the wrong type: {detail}.",
                                      {"detail": str(err)}) from err


class AttachmentIn(Strict):
    filename: HeaderText = Field(min_length=1, max_length=255)
    content_type: HeaderText = Field("application/octet-stream", max_length=255)
    content: str = Field(description="The file's bytes, base64-encoded.")

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value):
        if not _CONTENT_TYPE.match(value):
            raise PydanticCustomError("invalid_attachment", "content_type must look like type/subtype.")
        return value

    @field_validator("content")
    @classmethod
    def _base64(cls, value):
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise PydanticCustomError("invalid_attachment", "content must be base64.") from err
        return value


class SendEmailIn(Strict):
    sender: Optional[MailboxStr] = Field(None, alias="from", description="Defaults to the configured sender.")
    to: MailboxList = Field(description="One address or a list.")
    # default_factory: the schema declares no default, so a generated client
    # leaves an unset list out instead of sending its default as text ("[]").
    cc: MailboxList = Field(default_factory=list)
    bcc: MailboxList = Field(default_factory=list)
    reply_to: MailboxList = Field(default_factory=list)
    subject: HeaderText = Field(min_length=1, max_length=998)
    text: Optional[str] = None
    html: Optional[str] = None
    tags: dict[str, str] = Field({}, description="SES message tags, name to value.")
    headers: dict[str, str] = Field({}, description="Extra headers, e.g. List-Unsubscribe.")
    attachments: list[AttachmentIn] = []
    send_at: Instant = Field(None, description="Send later: ISO 8601 with an offset (2026-12-01T09:00:00+01:00), "
                             "from now to EMAILHUB_MAX_SCHEDULE_DAYS (30) days ahead. The email is `scheduled` "
                             "until then and can be canceled or rescheduled.")
    expires_at: Instant = Field(None, description="Never send after this (ISO 8601 with an offset): an email not "
                                "sent by then ends `expired`. For one-time codes and alerts that go stale.")

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags):
        if len(tags) > MAX_TAGS:
            raise PydanticCustomError("too_many_tags", "{count} tags; SES takes at most {limit} on one email.",
                                      {"count": len(tags), "limit": MAX_TAGS})
        for name, value in tags.items():
            if not _TAG.match(name) or not _TAG.match(value):
                raise PydanticCustomError(
                    "invalid_tag", "Tag names and values are 1-256 letters, digits, '_' or '-'."
                )
        return tags

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers):
        if len(headers) > MAX_HEADERS:
            raise PydanticCustomError("too_many_headers", "{count} headers; at most {limit}.",
                                      {"count": len(headers), "limit": MAX_HEADERS})
        for name, value in headers.items():
            _no_line_breaks(name)
            _header_text(value)
            lowered = name.lower()
            if not _HEADER_NAME.match(name):
                raise PydanticCustomError(
                    "invalid_header", f"{name!r} is not a valid header name: 1 to 76 printable ASCII "
                    "characters, without spaces or ':'.")
            if lowered in RESERVED_HEADERS:
                raise PydanticCustomError(
                    "invalid_header", f"Header {name!r} is set from the request's own fields "
                    "(from, to, cc, bcc, reply_to, subject) or by Emailhub; use those instead.")
            if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_HEADER_PREFIXES):
                raise PydanticCustomError(
                    "forbidden_header", f"Header {name!r} is for SES or the receiving servers to set.")
        return headers

    @field_validator("to")
    @classmethod
    def _some_recipient(cls, to):
        if not to:
            raise PydanticCustomError("missing_field", "At least one 'to' address is required.")
        return to

    @model_validator(mode="after")
    def _whole_message(self):
        total = len(self.to) + len(self.cc) + len(self.bcc)
        limit = settings.EMAILHUB_MAX_RECIPIENTS
        if total > limit:
            raise PydanticCustomError(
                "too_many_recipients", "{total} recipients; at most {limit} in to, cc and bcc together.",
                {"total": total, "limit": limit},
            )
        if len(self.reply_to) > MAX_REPLY_TO:
            raise PydanticCustomError("too_many_reply_to", "At most {limit} reply_to addresses.",
                                      {"limit": MAX_REPLY_TO})
        if not (self.text or self.html):
            raise PydanticCustomError("missing_body", "Give 'text', 'html' or both.")
        return self

    def as_request(self):
        """The canonical request that is stored and hashed for idempotency
        (send_at and expires_at only when given, so the hash of a request
        without them is what it always was)."""
        request = self.model_dump(by_alias=False)
        for name in ("send_at", "expires_at"):
            if request[name] is None:
                del request[name]
        return request


class RescheduleIn(Strict):
    send_at: str = Field(description="The new time: ISO 8601 with an offset, from now to "
                         "EMAILHUB_MAX_SCHEDULE_DAYS (30) days ahead.")

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value):
        return _instant(value)


def _batch_emails(value):
    """The list's size is checked before any email in it is read."""
    if not isinstance(value, list):
        raise PydanticCustomError("invalid_field", "Give the emails as a list of objects.")
    limit = settings.EMAILHUB_MAX_BATCH
    if not value:
        raise PydanticCustomError("empty_batch", "The batch has no emails.")
    if len(value) > limit:
        raise PydanticCustomError("too_many_emails", "{count} emails; a batch takes at most {limit} "
                                  "(EMAILHUB_MAX_BATCH).", {"count": len(value), "limit": limit})
    return value


class BatchIn(Strict):
    # Documented as SendEmailIn objects, read as they came: each is validated
    # on its own (api/batch.py), so one invalid email becomes an error at its
    # index instead of failing the whole request.
    emails: Annotated[list[SendEmailIn], SkipValidation] = Field(
        description="Up to EMAILHUB_MAX_BATCH (100) emails, each what POST /send-email takes.")
    mode: Literal["strict", "permissive"] = Field(
        "strict", description="strict: one invalid email and nothing is accepted (400 listing every error by "
        "index). permissive: the valid emails are accepted; `data` gives each index its id or its error.")

    @model_validator(mode="before")
    @classmethod
    def _size_first(cls, data):
        if isinstance(data, dict) and "emails" in data:
            _batch_emails(data["emails"])
        return data


class ErrorBody(BaseModel):
    code: str
    message: str
    field: Optional[str] = None


class ErrorOut(BaseModel):
    error: ErrorBody


class AcceptedOut(BaseModel):
    id: str
    status: str
    created_at: str
    send_at: Optional[str] = Field(None, description="When a scheduled email will be sent (UTC).")
    expires_at: Optional[str] = Field(None, description="When it stops being sent (UTC).")


class EventOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str
    type: str


class EmailOut(BaseModel):
    id: str
    status: str
    created_at: str
    updated_at: str
    sender: str
    to: list[str]
    cc: list[str] = []
    bcc: list[str] = []
    reply_to: list[str] = []
    subject: str
    tags: dict[str, str]
    attempts: int
    last_error: Optional[dict] = None
    ses_message_id: Optional[str] = None
    sent_at: Optional[str] = None
    parent_id: Optional[str] = Field(None, description="The email this one resends.")
    resent_as: Optional[str] = Field(None, description="The email that resent this one.")
    send_at: Optional[str] = Field(None, description="When it is (or was) to be sent, for a scheduled email.")
    expires_at: Optional[str] = Field(None, description="Never sent after this (then it is `expired`).")
    events: list[EventOut]


class BatchItemOut(BaseModel):
    index: int
    id: Optional[str] = None
    status: Optional[str] = None
    created_at: Optional[str] = None
    send_at: Optional[str] = None
    expires_at: Optional[str] = None
    error: Optional[ErrorBody] = None


class BatchOut(BaseModel):
    mode: Literal["strict", "permissive"]
    accepted: int
    rejected: int
    data: list[BatchItemOut] = Field(description="One entry per email, in the order sent: its id or its error.")


class BatchErrorItem(ErrorBody):
    index: int


class BatchErrorBody(ErrorBody):
    errors: list[BatchErrorItem] = []


class BatchErrorOut(BaseModel):
    error: BatchErrorBody


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, dict]


# --- lists: email search, suppression list -----------------------------------

MAX_PAGE = 100
DEFAULT_PAGE = 25


class EmailSummaryOut(BaseModel):
    """An email in a list: what the log shows without loading its body."""

    id: str
    status: str
    created_at: str
    updated_at: str
    sender: str
    to: list[str]
    cc: list[str] = []
    subject: str
    tags: dict[str, str] = {}
    attempts: int = 0
    last_error: Optional[dict] = None
    ses_message_id: Optional[str] = None
    send_at: Optional[str] = Field(None, description="When it is (or was) to be sent, for a scheduled email.")
    expires_at: Optional[str] = Field(None, description="Never sent after this (then it is `expired`).")


class EmailPageOut(BaseModel):
    data: list[EmailSummaryOut]
    next_cursor: Optional[str] = Field(None, description="Pass as `cursor` (with the same filters) for the next "
                                                         "page; null on the last page.")


class SuppressionIn(Strict):
    reason: HeaderText = Field("added through the API", min_length=1, max_length=200,
                               description="Why the address is suppressed; shown to staff.")


class SuppressionOut(BaseModel):
    address: str
    reason: str
    created_at: str
    source_email_id: Optional[str] = Field(None, description="The email whose bounce or complaint added it.")
    added_by: Optional[str] = Field(None, description="The staff member or API key that added it.")


class SuppressionPageOut(BaseModel):
    data: list[SuppressionOut]
    next_cursor: Optional[str] = None
