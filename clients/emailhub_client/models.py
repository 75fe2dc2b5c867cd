"""The API's answers as dataclasses.

Each keeps the JSON it was made from in `.raw`, and reads only the fields
it knows: a field the server adds later is ignored here (and is in `.raw`),
a field it leaves out takes its default. Times are the API's ISO 8601 UTC
strings ("2026-11-27T10:00:00.000000Z"), as it spells them."""

from dataclasses import dataclass, fields
from dataclasses import field as _field  # "field" is also an attribute of ErrorInfo
from typing import Optional

__all__ = ["Accepted", "Email", "EmailPage", "BatchItem", "BatchResult", "ErrorInfo", "Suppression",
           "SuppressionPage"]


def _object(data):
    return data if isinstance(data, dict) else {}


def _items(data, name):
    items = _object(data).get(name)
    return items if isinstance(items, list) else []


def _known(cls, data):
    """The keyword arguments of `cls` found in `data` (unknown keys left out)."""
    names = {f.name for f in fields(cls) if f.init and f.name != "raw"}
    return {name: data[name] for name in names if name in data and data[name] is not None}


class _FromJson:
    @classmethod
    def from_json(cls, data):
        data = _object(data)
        return cls(**_known(cls, data), raw=data)


@dataclass
class Accepted(_FromJson):
    """202 of POST /send-email: the email is stored and will be sent (or parked for a human)."""

    id: str = ""
    status: str = ""
    created_at: Optional[str] = None
    send_at: Optional[str] = None
    expires_at: Optional[str] = None
    # The key the request was sent with, and whether the answer is a replay of
    # an earlier request with that key (nothing new was accepted).
    idempotency_key: Optional[str] = None
    replayed: bool = False
    raw: dict = _field(default_factory=dict, repr=False)


@dataclass
class Email(_FromJson):
    """GET /emails/{id} (everything), or an entry of GET /emails (no bcc, reply_to, events)."""

    id: str = ""
    status: str = ""
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    sender: Optional[str] = None
    to: list = _field(default_factory=list)
    cc: list = _field(default_factory=list)
    bcc: list = _field(default_factory=list)
    reply_to: list = _field(default_factory=list)
    subject: Optional[str] = None
    tags: dict = _field(default_factory=dict)
    attempts: int = 0
    last_error: Optional[dict] = None
    ses_message_id: Optional[str] = None
    sent_at: Optional[str] = None
    parent_id: Optional[str] = None
    resent_as: Optional[str] = None
    send_at: Optional[str] = None
    expires_at: Optional[str] = None
    # The timeline: [{"at", "type", ...}], oldest first (GET /emails/{id} only).
    events: list = _field(default_factory=list)
    raw: dict = _field(default_factory=dict, repr=False)


@dataclass
class _Page:
    """A page of a list: `data`, and `next_cursor` (None on the last page)."""

    data: list
    next_cursor: Optional[str] = None
    raw: dict = _field(default_factory=dict, repr=False)
    item = None  # what `data` holds: set by each kind of page

    @classmethod
    def from_json(cls, data):
        data = _object(data)
        return cls(data=[cls.item.from_json(e) for e in _items(data, "data")],
                   next_cursor=data.get("next_cursor") or None, raw=data)


class EmailPage(_Page):
    """A page of GET /emails."""

    item = Email


@dataclass
class ErrorInfo(_FromJson):
    """An error inside a successful answer (an email of a permissive batch)."""

    code: Optional[str] = None
    message: str = ""
    field: Optional[str] = None
    addresses: list = _field(default_factory=list)
    raw: dict = _field(default_factory=dict, repr=False)


@dataclass
class BatchItem:
    """One email of a batch, at its index: its id and status, or its error."""

    index: int
    id: Optional[str] = None
    status: Optional[str] = None
    created_at: Optional[str] = None
    send_at: Optional[str] = None
    expires_at: Optional[str] = None
    error: Optional[ErrorInfo] = None
    raw: dict = _field(default_factory=dict, repr=False)

    @property
    def ok(self):
        return self.id is not None

    @classmethod
    def from_json(cls, data):
        data = _object(data)
        known = _known(cls, data)
        if isinstance(data.get("error"), dict):
            known["error"] = ErrorInfo.from_json(data["error"])
        known.setdefault("index", -1)
        return cls(**known, raw=data)


@dataclass
class BatchResult:
    """202 of POST /emails/batch: `data[i]` is the email sent at index i."""

    mode: str
    accepted: int
    rejected: int
    data: list
    idempotency_key: Optional[str] = None
    replayed: bool = False
    raw: dict = _field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data, **extra):
        data = _object(data)
        return cls(mode=data.get("mode", ""), accepted=data.get("accepted", 0), rejected=data.get("rejected", 0),
                   data=[BatchItem.from_json(item) for item in _items(data, "data")], raw=data, **extra)


@dataclass
class Suppression(_FromJson):
    """An address on the suppression list: Emailhub refuses emails to it (422 suppressed_recipient)."""

    address: str = ""
    reason: str = ""
    created_at: Optional[str] = None
    source_email_id: Optional[str] = None  # the email whose bounce or complaint added it
    added_by: Optional[str] = None  # the staff member or API key that added it
    # add_suppression only: True when this call put it on the list (201), False if it already was (200).
    created: Optional[bool] = None
    raw: dict = _field(default_factory=dict, repr=False)


class SuppressionPage(_Page):
    """A page of GET /suppressions."""

    item = Suppression

