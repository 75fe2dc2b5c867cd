"""One Django EmailMessage as the JSON body of Emailhub's POST /send-email."""

import mimetypes

from anymail.backends.base import BasePayload
from anymail.utils import BASIC_NUMERIC_TYPES

from emailhub_client.anymail import tags as tag_mapping

# Emailhub writes these itself (and refuses them in `headers`); the
# Message-ID is kept for the Idempotency-Key instead (keys.py).
_MESSAGE_ID = "message-id"
_DATE = "date"


class EmailhubPayload(BasePayload):
    def __init__(self, message, defaults, backend, *, message_id):
        self.message_id = message_id
        super().__init__(message, defaults, backend)
        # Complete before anything is sent: a batch raises for a bad message before its first POST.
        self.request = self.body()

    def init_payload(self):
        self.data = {}
        self.recipients = []  # every to, cc and bcc address: anymail_status has one entry each
        self.emailhub_tags = {}

    def body(self):
        """The request body, with the tags from `tags` and `metadata` merged."""
        body = dict(self.data)
        tags = {**self.emailhub_tags, **body.get("tags", {})}  # esp_extra's own tags win
        if len(tags) > tag_mapping.MAX_TAGS:
            self.unsupported_feature(f"more than {tag_mapping.MAX_TAGS} tags and metadata keys together")
        if tags:
            body["tags"] = tags
        return body

    # Addresses, subject, bodies

    def _formatted(self, emails):
        return [email.format(idna_encode=self.backend.idna_encode) for email in emails]

    def set_from_email(self, email):
        self.data["from"] = email.format(idna_encode=self.backend.idna_encode)

    def set_recipients(self, recipient_type, emails):
        if emails:
            self.data[recipient_type] = self._formatted(emails)
            self.recipients += emails

    def set_subject(self, subject):
        self.data["subject"] = subject

    def set_reply_to(self, emails):
        if emails:
            self.data["reply_to"] = self._formatted(emails)

    def set_extra_headers(self, headers):
        headers = {name: value for name, value in headers.items() if name.lower() != _MESSAGE_ID}
        if any(name.lower() == _DATE for name in headers):
            self.unsupported_feature("a Date header (Emailhub dates each email when it sends it)")
            headers = {name: value for name, value in headers.items() if name.lower() != _DATE}
        if headers:
            self.data.setdefault("headers", {}).update(
                {name: str(value) if isinstance(value, BASIC_NUMERIC_TYPES) else value
                 for name, value in headers.items()})

    def set_text_body(self, body):
        self.data["text"] = body

    def set_html_body(self, body):
        if "html" in self.data:
            self.unsupported_feature("multiple html parts")
        self.data["html"] = body

    # Attachments

    def set_attachments(self, attachments):
        if attachments:
            self.data["attachments"] = [self._attachment(attachment) for attachment in attachments]

    def _attachment(self, attachment):
        filename = attachment.name
        if not filename:
            filename = "attachment" + (mimetypes.guess_extension(attachment.mimetype) or ".bin")
        part = {"filename": filename, "content_type": attachment.mimetype, "content": attachment.b64content}
        if attachment.inline:
            if not attachment.cid:
                self.unsupported_feature("inline attachments without a Content-ID")
            else:
                part["content_id"] = attachment.cid  # the html's cid: reference
        return part

    # anymail's own fields

    def set_tags(self, tags):
        mapped, refused = tag_mapping.tags_as_emailhub(tags)
        if refused:
            self.unsupported_feature(f"tags outside {tag_mapping.RULE} ({', '.join(map(repr, refused))[:200]})")
        self.emailhub_tags.update(mapped)

    def set_metadata(self, metadata):
        mapped, refused = tag_mapping.metadata_as_emailhub(metadata)
        if refused:
            self.unsupported_feature(
                f"metadata keys or values outside {tag_mapping.RULE} ({', '.join(map(repr, refused))[:200]})")
        self.emailhub_tags.update(mapped)

    def set_send_at(self, send_at):
        try:
            self.data["send_at"] = send_at.isoformat()
        except AttributeError:  # a string: the caller's own ISO 8601
            self.data["send_at"] = send_at

    def set_merge_data(self, merge_data):
        # anymail's batch send (one message per `to`, each with its own
        # data) has no Emailhub counterpart: send one message per recipient.
        self.unsupported_feature("merge_data (batch sending)")

    def set_esp_extra(self, extra):
        # Fields of POST /send-email anymail has no name for, e.g. expires_at.
        self.data.update(extra)
