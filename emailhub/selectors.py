"""The read side: what the API and the dashboard show about emails."""

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.emails import email_get
from emailhub.errors import NotFound


def email_status(*, email_id):
    """An email's public status record, as `GET /emails/{id}` returns it."""
    email = email_get(email_id)
    if email is None:
        raise NotFound(f"No email with id {email_id!r}.")
    summary = email["summary"]
    return {
        "id": email["id"],
        "status": email["status"],
        "created_at": email["created_at"],
        "updated_at": email["updated_at"],
        "sender": summary["sender"],
        "to": summary["to"],
        "subject": summary["subject"],
        "tags": summary.get("tags", {}),
        "attempts": email.get("attempts", 0),
        "last_error": email.get("last_error"),
        "ses_message_id": email.get("ses_message_id"),
        "sent_at": email.get("sent_at"),
        "events": email.get("events", []),
    }


def emails_by_status(*, status, day, limit=50, start_key=None):
    """One page of emails with `status` created on `day` (YYYY-MM-DD), newest first."""
    return dynamodb.query(
        index=model.STATUS_INDEX, key_condition="status_day = :sd",
        values={":sd": f"{status}#{day}"}, limit=limit, start_key=start_key,
    )


def emails_by_day(*, day, limit=50, start_key=None):
    """One page of all emails created on `day`, newest first."""
    return dynamodb.query(
        index=model.FEED_INDEX, key_condition="feed = :feed",
        values={":feed": f"EMAIL#{day}"}, limit=limit, start_key=start_key,
    )


def emails_by_recipient(*, address, limit=50, start_key=None):
    """One page of emails sent to `address` (to, cc or bcc), newest first."""
    entries, next_key = dynamodb.query(
        index=model.RECIPIENT_INDEX, key_condition="rcpt = :rcpt",
        values={":rcpt": address.lower()}, limit=limit, start_key=start_key,
    )
    found = dynamodb.batch_get([model.email_key(entry["email_id"]) for entry in entries])
    emails = [found[f"EMAIL#{entry['email_id']}"] for entry in entries if f"EMAIL#{entry['email_id']}" in found]
    return emails, next_key


def email_by_ses_message_id(*, ses_message_id):
    entries, _ = dynamodb.query(
        index=model.SES_MESSAGE_INDEX, key_condition="ses_message_id = :m", values={":m": ses_message_id},
        newest_first=False,
    )
    return dynamodb.get(entries[0]["pk"], entries[0]["sk"]) if entries else None
