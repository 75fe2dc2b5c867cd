"""The read side: what the API and the dashboard show about emails."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.emails import email_get
from emailhub.errors import NotFound
from emailhub.payloads import payload_load


def email_for_key(*, email_id, api_key):
    """The email `email_id` as the API key `api_key` may see it (every key
    sees every email today); NotFound otherwise. The API's operations on one
    email (GET, cancel, PATCH) load it through here."""
    email = email_get(email_id)
    if email is None:
        raise NotFound(f"No email with id {email_id!r}.")
    return email


def email_status(*, email_id=None, email=None):
    """An email's public status record, as `GET /emails/{id}` returns it."""
    if email is None:
        email = email_get(email_id)
    if email is None:
        raise NotFound(f"No email with id {email_id!r}.")
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
    tag: Optional[tuple] = None  # (name, value)


# A page over a long, sparse date range (or a rare tag) stops after this many
# reads (Queries and batch reads) and offers "next".
MAX_READS_PER_PAGE = 100


def email_log_page(*, log_filter, position=None, size=50):
    """One page of the email log, newest first: (emails, next position or None).

    Every read is a Query on one partition, chosen by the filter:
    - recipient and status ..... match-status-index, RCPT#<address>#<status>
    - tag and status ........... match-status-index, TAG#<name>=<value>#<status>
    - recipient ................ recipient-index
    - recipient domain ......... recipient-domain-index (a status or tag checked on the emails)
    - tag ...................... tag-index
    - status ................... status-index, per status and day
    - nothing .................. feed-index, per day
    The first four read small items, then the emails with one BatchGetItem
    per Query: one Query and one batch read a page, however rare the match.
    The last two walk back a day at a time. `position` is what the previous
    page returned; it is plain JSON, for the caller to sign.

    Each Query asks for a whole page: DynamoDB's Limit counts the items read,
    not the ones a filter keeps, so asking only for the rows still missing
    would take ever smaller bites. Extra rows are cut, and the next page
    starts after the last row shown."""
    companion_query = _companion_query(log_filter)
    if companion_query:
        return _companion_page(log_filter, companion_query, position, size)
    position = position or {"day": log_filter.date_to.isoformat(), "key": None}
    emails, reads = [], 0
    while position and len(emails) < size and reads < MAX_READS_PER_PAGE:
        day = position["day"]
        page, last_key = _day_query(log_filter, day, position["key"], size)
        reads += 1
        room = size - len(emails)
        if len(page) > room:
            page = page[:room]
            last_key = _start_key(page[-1], "status_day" if log_filter.status else "feed")
        emails += page
        position = {"day": day, "key": last_key} if last_key else _day_before(log_filter, day)
    return emails, position


def _start_key(item, partition_attribute):
    """The ExclusiveStartKey that resumes an index Query right after `item`."""
    return dynamodb.serialize({k: item[k] for k in ("pk", "sk", partition_attribute, "created_at")})


def _day_query(log_filter, day, start_key, limit):
    values = {}
    if log_filter.status:
        index, key_condition = model.STATUS_INDEX, "status_day = :partition"
        values[":partition"] = f"{log_filter.status}#{day}"
    else:
        index, key_condition = model.FEED_INDEX, "feed = :partition"
        values[":partition"] = f"EMAIL#{day}"
    return dynamodb.query(index=index, key_condition=key_condition, values=values, limit=limit, start_key=start_key)


def _day_before(log_filter, day):
    previous = date.fromisoformat(day) - timedelta(days=1)
    return {"day": previous.isoformat(), "key": None} if previous >= log_filter.date_from else None


def _companion_query(log_filter):
    """(index, key attribute, key value) of the small items that serve the
    filter, or None when the email items' own indexes do. Small items keep
    the status an email was claimed from while it is `sending` (see
    emails.email_transition), so `sending` with a recipient or tag reads the
    recipient or tag index and checks the status on the emails."""
    status = log_filter.status if log_filter.status not in model.NOT_ON_COMPANIONS else None
    if log_filter.recipient:
        sk = model.recipient_sk(log_filter.recipient.lower())
        if status:
            return model.MATCH_STATUS_INDEX, "match_status", model.match_status(sk, status)
        return model.RECIPIENT_INDEX, "rcpt", log_filter.recipient.lower()
    if log_filter.recipient_domain:
        return model.DOMAIN_INDEX, "rcpt_domain", log_filter.recipient_domain.lower()
    if log_filter.tag:
        name, value = log_filter.tag
        if status:
            return model.MATCH_STATUS_INDEX, "match_status", model.match_status(model.tag_sk(name, value), status)
        return model.TAG_INDEX, "tag", f"{name}={value}"
    return None


def _companion_page(log_filter, companion_query, position, size):
    """The small items name the emails; one BatchGetItem per Query reads them.
    What the index key does not cover (a tag beside a recipient, `sending`)
    is checked on the emails, so only those combinations read more than a
    page (bounded by MAX_READS_PER_PAGE). The status is checked on the email
    too: the one shown is the email's own."""
    index, attribute, value = companion_query
    start_key = (position or {}).get("key")
    low = log_filter.date_from.isoformat()
    high = (log_filter.date_to + timedelta(days=1)).isoformat()
    emails, reads = [], 0
    while len(emails) < size and reads < MAX_READS_PER_PAGE:
        entries, start_key = dynamodb.query(
            index=index, key_condition=f"{attribute} = :key AND created_at BETWEEN :low AND :high",
            values={":key": value, ":low": low, ":high": high},
            limit=size, start_key=start_key,
        )
        found = dynamodb.batch_get([model.email_key(e["email_id"]) for e in entries]) if entries else {}
        reads += 2
        for entry in entries:
            email = found.get(model.email_key(entry["email_id"])[0])
            if email and _matches(email, log_filter):
                emails.append(email)
                if len(emails) == size:
                    return emails, {"key": _start_key(entry, attribute)}
        if not start_key:
            return emails, None
    return emails, {"key": start_key}


def _matches(email, log_filter):
    if log_filter.status and email["status"] != log_filter.status:
        return False
    if log_filter.tag and email["summary"].get("tags", {}).get(log_filter.tag[0]) != log_filter.tag[1]:
        return False
    return True


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
