"""Turn a stored request into SES send arguments.

Plain emails use SES's simple content. Attachments or custom headers need a
raw MIME message, built with Django's email classes, which refuse CR/LF in
headers."""

import base64
from email import encoders
from email.mime.base import MIMEBase

from django.core.mail import EmailMultiAlternatives


# SES refuses a message over 10 MB once MIME-encoded, attachments included
# (the limit of SendRawEmail and of SMTP; the smallest SES applies).
SES_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
_HEADER_ROOM = 64 * 1024  # headers, addresses and MIME boundaries


def encoded_size_bound(request):
    """An upper bound of the message's size as SES receives it: text and html
    as quoted-printable at worst (3 bytes per UTF-8 byte: Django uses it for
    long lines), attachments as the base64 they came in plus line breaks."""
    bodies = sum(len((request.get(part) or "").encode("utf-8", "surrogatepass")) for part in ("text", "html"))
    attached = sum(len(a["content"]) for a in request.get("attachments", []))
    return bodies * 3 + attached * 78 // 76 + _HEADER_ROOM


def needs_raw(request):
    return bool(request.get("attachments") or request.get("headers"))


def ses_arguments(*, request, sender, configuration_set):
    arguments = {
        "sender": sender,
        "to": request["to"],
        "cc": request.get("cc", []),
        "bcc": request.get("bcc", []),
        "reply_to": request.get("reply_to", []),
        "subject": request["subject"],
        "text": request.get("text"),
        "html": request.get("html"),
        "tags": request.get("tags", {}),
        "raw": None,
        "configuration_set": configuration_set,
    }
    if needs_raw(request):
        arguments["raw"] = mime_bytes(request=request, sender=sender)
    return arguments


def mime_bytes(*, request, sender):
    message = EmailMultiAlternatives(
        subject=request["subject"],
        body=request.get("text") or "",
        from_email=sender,
        to=request["to"],
        cc=request.get("cc") or None,
        reply_to=request.get("reply_to") or None,
        headers=request.get("headers") or None,
    )
    if request.get("html"):
        if request.get("text"):
            message.attach_alternative(request["html"], "text/html")
        else:
            message.body = request["html"]
            message.content_subtype = "html"
    for attachment in request.get("attachments", []):
        content = base64.b64decode(attachment["content"])
        if attachment.get("content_id"):
            message.attach(_inline_part(attachment, content))
        else:
            message.attach(attachment["filename"], content, attachment["content_type"])
    return message.message().as_bytes()


def _inline_part(attachment, content):
    """A part the html refers to as cid:<content_id>, shown in place, not listed as a file."""
    maintype, subtype = attachment["content_type"].split("/", 1)
    part = MIMEBase(maintype, subtype)
    part.set_payload(content)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "inline", filename=attachment["filename"])
    part.add_header("Content-ID", f"<{attachment['content_id']}>")
    return part
