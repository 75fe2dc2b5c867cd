"""The read side: what the API and the dashboard show about emails."""

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Optional

from emailhub import model
from emailhub.addresses import InvalidAddress, parse_mailbox
from emailhub.apikeys import FULL
from emailhub.aws import dynamodb
from emailhub.emails import email_get
from emailhub.errors import NotFound
from emailhub.payloads import payload_load


def email_for_key(*, email_id, api_key):
    """The email item `api_key` may see and act on, or NotFound: a `full`
    key any email, a `send` key only the emails sent with it. Another key's
    email is "not found", word for word as a missing one, so a `send` key
    cannot learn which ids exist. Every API operation on one email (GET,
    cancel, PATCH) goes through here."""
    email = email_get(email_id)
    if email is None or (api_key.scope != FULL and email.get("api_key_prefix") != api_key.prefix):
        raise NotFound(f"No email with id {email_id!r}.")
    return email


def email_status(*, email_id=None, email=None):
    """An email's public status record, as `GET /emails/{id}` returns it."""
    if email is None:
        email = email_get(email_id)
    if email is None:
        raise NotFound(f"No email with id {email_id!r}.")
    return email_record(email=email)


def email_record(*, email):
    """An email item as `GET /emails/{id}` shows it."""
    summary = email["summary"]
    request = payload_load(email=email)  # bcc and reply_to are not in the summary
    return {
        "id": email["id"],
        "status": email["status"],
        "created_at": email["created_at"],
        "updated_at": email["updated_at"],
        "sender": summary["sender"],
        "to": summary["to"],
        **{field: request.get(field, []) for field in ("cc", "bcc", "reply_to")},
        "subject": summary["subject"],
        "tags": summary.get("tags", {}),
        "attempts": email.get("attempts", 0),
        "last_error": email.get("last_error"),
        "ses_message_id": email.get("ses_message_id"),
        "sent_at": email.get("sent_at"),
        "parent_id": email.get("parent_id"),
        "resent_as": email.get("resent_as"),
        "send_at": email.get("send_at"),
        "expires_at": email.get("send_by"),
        "events": email.get("events", []),
    }


def email_by_ses_message_id(*, ses_message_id):
    entries, _ = dynamodb.query(
        index=model.SES_MESSAGE_INDEX, key_condition="ses_message_id = :m", values={":m": ses_message_id},
        newest_first=False,
    )
    return dynamodb.get(entries[0]["pk"], entries[0]["sk"]) if entries else None


@dataclass(frozen=True)
class LogFilter:
    """The email log's filters. Dates are inclusive, in UTC."""

    date_from: date
    date_to: date
    status: Optional[str] = None
    recipient: Optional[str] = None
    recipient_domain: Optional[str] = None  # every recipient at this domain
    recipient_prefix: Optional[str] = None  # every recipient whose address starts so (by address, then newest)
    tag: Optional[tuple] = None  # (name, value)
    api_key_prefix: Optional[str] = None  # only the emails sent with this key (a `send` key's search)


# The longest date range one search covers.
MAX_RANGE_DAYS = 92
_DOMAIN = re.compile(r"[^\s@]+\.[^\s@]+")
# The start of an address: printable, no spaces or control characters, at most one @.
_PREFIX = re.compile(r"[^\s@*\x00-\x1f\x7f]+@?[^\s@*\x00-\x1f\x7f]*")


def recipient_filter_parse(value):
    """The log's recipient filter as typed: an address, @domain for every
    recipient at a domain, or the start of addresses and * (ali*). Returns
    (address, domain, prefix), two of them None; ValueError says what is wrong."""
    value = value.strip()
    if value.startswith("@"):
        domain = value[1:].lower()
        if not _DOMAIN.fullmatch(domain):
            raise ValueError("Write a domain as @example.com.")
        return None, domain, None
    if value.endswith("*"):
        prefix = value[:-1].lower()
        if len(prefix) < model.PREFIX_LENGTH or not _PREFIX.fullmatch(prefix):
            raise ValueError(f"Write at least {model.PREFIX_LENGTH} characters of the address before the *, as ali*.")
        return None, None, prefix
    try:
        return parse_mailbox(value).address.lower(), None, None
    except InvalidAddress as err:
        raise ValueError(str(err)) from err


def tag_filter_parse(value):
    """The log's tag filter, name=value, as (name, value); ValueError otherwise."""
    name, sep, tag_value = value.strip().partition("=")
    if not sep or not name.strip() or not tag_value.strip():
        raise ValueError("Write a tag as name=value.")
    return name.strip(), tag_value.strip()


# A page over a long, sparse date range (or a rare tag) stops after this many
# reads (Queries and batch reads) and offers "next".
MAX_READS_PER_PAGE = 100


def email_log_page(*, log_filter, position=None, size=50):
    """One page of the email log, newest first: (emails, next position or None).

    Every read is a Query on one partition (or, with EMAILHUB_INDEX_SHARDS,
    its shards), chosen by the filter, with the date range on its sort key:
    - nothing ................... feed-index: every email
    - a status .................. email-status-index
    - a recipient, a domain or a tag, with or without a status and with or
      without a tag beside the recipient or domain: the partition of the
      small items that carry exactly that combination (see model), then the
      emails with one BatchGetItem. A recipient or domain with a tag also
      reads the partition of the emails with too many tags to combine (one
      more Query, usually empty);
    - an address prefix ......... recipient-prefix-index, by address, then newest;
    - a `send` key's search ..... its KEY# items (tag-index, or the
      match-status-index with a status), and beside any other filter the
      key's own copies of the small items: the same partitions as above,
      prefixed with the key.
    Partitions read together are merged in order. So a page is one Query
    per partition and shard and at most one batch read, however rare the
    match or large the table. `position` is what the previous page
    returned; it is plain JSON, for the caller to sign.

    Each Query asks for its share of a whole page: DynamoDB's Limit counts
    the items read, not the ones a filter keeps, so asking only for the rows
    still missing would take ever smaller bites. Extra rows are cut, and the
    next page starts after the last row shown."""
    streams = _streams(log_filter)
    resume = list((position or {}).get("keys") or [None] * len(streams))
    if len(resume) != len(streams):  # written with another number of shards: start again
        resume = [None] * len(streams)
    more = [key != "done" for key in resume]
    resume = [None if key == "done" else key for key in resume]
    buffers = [[] for _ in streams]
    limit = size if len(streams) <= 2 else min(size, -(-2 * size // len(streams)) + 1)
    emails, seen, reads = [], set(), 0
    while len(emails) < size and reads < MAX_READS_PER_PAGE:
        for i, stream in enumerate(streams):
            if not buffers[i] and more[i]:
                buffers[i], last_key = stream.query(log_filter, resume[i], limit)
                more[i] = last_key is not None
                if not buffers[i]:
                    resume[i] = last_key  # a filtered Query can read a page and keep nothing
                reads += 1
        taken = _merge(streams, buffers, more, size - len(emails))
        if not taken:
            break
        found = _emails_of(taken, streams)
        reads += any(not streams[i].emails for _, i in taken)
        for n, (entry, i) in enumerate(taken):
            if len(emails) == size:  # the page is full: the rest go back, for the next page
                for later, j in reversed(taken[n:]):
                    buffers[j].insert(0, later)
                break
            resume[i] = streams[i].start_key(entry)
            email = found.get(_email_id(entry))
            if email and email["id"] not in seen and _matches(email, log_filter):
                seen.add(email["id"])
                emails.append(email)
    keys = [key if more[i] or buffers[i] else "done" for i, key in enumerate(resume)]
    return emails, None if all(key == "done" for key in keys) else {"keys": keys}


def _emails_of(taken, streams):
    """The emails the taken entries name, by id: the entries themselves when
    their index projects what a list shows, else one BatchGetItem."""
    found = {entry["id"]: entry for entry, i in taken if streams[i].emails}
    wanted = [model.email_key(_email_id(entry)) for entry, i in taken if not streams[i].emails]
    if wanted:
        found.update({email["id"]: email for email in dynamodb.batch_get(wanted).values()})
    return found


def _start_key(item, *attributes):
    """The ExclusiveStartKey that resumes an index Query right after `item`."""
    return dynamodb.serialize({k: item[k] for k in ("pk", "sk", *attributes)})


def _date_range(log_filter):
    """The :low and :high of a created_at BETWEEN: the filter's days, inclusive."""
    return {":low": log_filter.date_from.isoformat(), ":high": (log_filter.date_to + timedelta(days=1)).isoformat()}


@dataclass(frozen=True)
class _Stream:
    """One index partition (one shard of it): email items, or small items
    each naming an email."""

    index: str
    attribute: str  # the partition key
    value: str
    sort: str = "created_at"
    prefix: Optional[str] = None  # begins_with on the sort key, instead of the date range
    wildcard: bool = False  # emails with too many tags to combine: most will not have the one asked for
    emails: bool = False  # the entries are the email items themselves

    def query(self, log_filter, start_key, limit):
        values = {":key": self.value}
        if self.prefix is None:
            condition, filter_expression = f"{self.attribute} = :key AND created_at BETWEEN :low AND :high", None
        else:
            condition = f"{self.attribute} = :key AND begins_with({self.sort}, :prefix)"
            filter_expression = "created_at BETWEEN :low AND :high"
            values[":prefix"] = self.prefix
        return dynamodb.query(
            index=self.index, key_condition=condition, filter_expression=filter_expression,
            values={**values, **_date_range(log_filter)}, limit=limit, start_key=start_key,
            newest_first=self.prefix is None,
        )

    def start_key(self, entry):
        return _start_key(entry, self.attribute, self.sort)


def _streams(log_filter):
    """The partitions, each in every shard, that serve the filter. Small
    items keep the status an email was claimed from while it is `sending`
    (see emails.email_transition), so `sending` with a recipient or tag
    reads the partitions without a status and checks it on the emails. A
    `send` key reads its own copies of the same partitions."""
    key = log_filter.api_key_prefix
    if not key:
        return _log_streams(log_filter)
    if log_filter.recipient or log_filter.recipient_domain or log_filter.recipient_prefix or log_filter.tag:
        # The key's own copy of each of those partitions.
        return [replace(s, value=model.key_scoped(key, s.value)) for s in _log_streams(log_filter)]
    if log_filter.status and log_filter.status not in model.NOT_ON_COMPANIONS:
        return _sharded(model.MATCH_STATUS_INDEX, "match_status",
                        model.match_status(model.key_sk(key), log_filter.status))
    return _sharded(model.TAG_INDEX, "tag", model.key_sk(key))


def _log_streams(log_filter):
    status = log_filter.status if log_filter.status not in model.NOT_ON_COMPANIONS else None
    if log_filter.recipient_prefix:
        prefix = log_filter.recipient_prefix.lower()
        return _sharded(model.PREFIX_INDEX, "rcpt_prefix", prefix[:model.PREFIX_LENGTH], sort="rcpt_order",
                        prefix=prefix)
    if log_filter.recipient:
        who = model.recipient_sk(log_filter.recipient.lower())
    elif log_filter.recipient_domain:
        who = model.domain_sk(log_filter.recipient_domain.lower())
    else:
        who = None
    tag = "=".join(log_filter.tag) if log_filter.tag else None
    if not who and not tag:
        if log_filter.status:
            return _sharded(model.STATUS_INDEX, "email_status", log_filter.status, emails=True)
        return _sharded(model.FEED_INDEX, "feed", model.EMAIL_FEED, emails=True)
    if who and tag:
        keys = [model.combination_sk(who, tag), model.combination_sk(who, model.ANY_TAG)]
    else:
        keys = [who or model.tag_sk(*log_filter.tag)]
    if status:
        return [stream for n, key in enumerate(keys)
                for stream in _sharded(model.MATCH_STATUS_INDEX, "match_status", model.match_status(key, status),
                                       wildcard=n == 1)]
    if len(keys) == 2:
        return [stream for n, key in enumerate(keys) for stream in _sharded(model.TAG_INDEX, "tag", key,
                                                                           wildcard=n == 1)]
    if log_filter.recipient:
        return _sharded(model.RECIPIENT_INDEX, "rcpt", log_filter.recipient.lower())
    if log_filter.recipient_domain:
        return _sharded(model.DOMAIN_INDEX, "rcpt_domain", log_filter.recipient_domain.lower())
    return _sharded(model.TAG_INDEX, "tag", tag)


def _sharded(index, attribute, value, **options):
    return [_Stream(index, attribute, key, **options) for key in model.shard_keys(value)]


def _merge(streams, buffers, more, room):
    """(entry, stream index) pairs, in order across the streams' buffers,
    stopping when a stream with more to read is empty (what it holds next
    could come first) or `room` entries are taken. A wildcard stream's
    entries do not count: they are read with the others in the same batch,
    as most will not match."""
    taken = []
    while sum(not streams[i].wildcard for _, i in taken) < room:
        if any(more[i] and not buffers[i] for i in range(len(streams))):
            break
        heads = [i for i in range(len(streams)) if buffers[i]]
        if not heads:
            break
        if len(heads) == 1:
            i = heads[0]
        elif streams[0].prefix is None:  # newest first
            i = max(heads, key=lambda n: buffers[n][0]["created_at"])
        else:  # by address, and each address newest first (its sort key says both)
            i = min(heads, key=lambda n: buffers[n][0]["rcpt_order"])
        taken.append((buffers[i].pop(0), i))
    return taken


def _email_id(entry):
    """A small item names its email in `email_id`; an email item's index entry is the email's own id."""
    return entry.get("email_id") or entry["id"]


def _matches(email, log_filter):
    if log_filter.status and email["status"] != log_filter.status:
        return False
    if log_filter.api_key_prefix and email.get("api_key_prefix") != log_filter.api_key_prefix:
        return False
    if log_filter.tag and email["summary"].get("tags", {}).get(log_filter.tag[0]) != log_filter.tag[1]:
        return False
    return True


def email_search(*, log_filter, api_key, position=None, size=25):
    """`GET /emails`: one page of the log as `api_key` may see it. A `send`
    key sees only its own emails, through its own copies of the log's
    partitions (see _streams)."""
    if api_key.scope != FULL:
        log_filter = replace(log_filter, api_key_prefix=api_key.prefix)
    return email_log_page(log_filter=log_filter, position=position, size=size)


def email_list_record(*, email):
    """An email as a list shows it (an email item or an index entry of one)."""
    summary = email["summary"]
    return {
        "id": email["id"], "status": email["status"], "created_at": email["created_at"],
        "updated_at": email["updated_at"], "sender": summary["sender"], "to": summary["to"],
        "cc": summary.get("cc", []), "subject": summary["subject"], "tags": summary.get("tags", {}),
        "attempts": email.get("attempts", 0), "last_error": email.get("last_error"),
        "ses_message_id": email.get("ses_message_id"),
        "send_at": summary.get("send_at"), "expires_at": summary.get("expires_at"),
    }


def email_log_all(*, log_filter, page_size=200):
    """Every email matching the filter, page by page (CSV export, bulk resend)."""
    position = None
    while True:
        emails, position = email_log_page(log_filter=log_filter, position=position, size=page_size)
        yield from emails
        if not position:
            return


def outbox_depth():
    """Emails waiting for the worker: ready, delayed (retries with backoff) and being sent."""
    from django.conf import settings

    from emailhub.aws import sqs

    return sqs.depth(settings.EMAILHUB_OUTBOX_QUEUE)
