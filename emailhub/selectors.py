"""The read side: what the API and the dashboard show about emails."""

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
