"""Send through the anymail backend the ways a Django application does, and
print each message's anymail_status as one JSON line:

    python manage.py send_examples mail --to alice@example.com
    python manage.py send_examples alternatives --to alice@example.com --attach report.pdf
    python manage.py send_examples batch --to a@example.com --to b@example.com
    python manage.py send_examples mail --to alice@example.com --message-id "<order-1042@shop.example>"

`--message-id` gives the message a fixed Message-ID: what a task that may be
retried does, so its second run answers the first email instead of sending again."""

import json
import mimetypes
from pathlib import Path

from anymail.exceptions import AnymailError
from anymail.message import attach_inline_image
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection, send_mail
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Send example emails through Emailhub's anymail backend; print each anymail_status."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["mail", "alternatives", "batch"])
        parser.add_argument("--to", action="append", required=True, help="A recipient (repeat for several).")
        parser.add_argument("--subject", default="Hello from the example project")
        parser.add_argument("--attach", action="append", default=[], help="A file to attach (repeatable).")
        parser.add_argument("--inline", help="An image file the html shows inline (cid:).")
        parser.add_argument("--tag", action="append", default=[], help="An anymail tag (repeatable).")
        parser.add_argument("--metadata", action="append", default=[], help="key=value (repeatable).")
        parser.add_argument("--message-id", help="A fixed Message-ID (the Idempotency-Key comes from it).")

    def handle(self, *args, **options):
        kind = options["kind"]
        if kind == "mail":
            # send_mail() keeps its message to itself: the status comes through anymail's post_send.
            statuses = []
            from anymail.signals import post_send

            def remember(sender, message, status, esp_name, **kwargs):
                statuses.append(status)

            post_send.connect(remember, weak=False)
            headers = {"Message-ID": options["message_id"]} if options["message_id"] else None
            if headers:  # send_mail() takes no headers: the same call as an EmailMessage
                self._annotated(EmailMessage(options["subject"], "A plain text email.", None, options["to"],
                                             headers=headers), options).send()
            else:
                send_mail(options["subject"], "A plain text email.", None, options["to"])
            post_send.disconnect(remember)
            self._print(statuses[-1])
        elif kind == "alternatives":
            message = self._alternatives(options, options["to"])
            message.send()
            self._print(message.anymail_status)
        else:
            messages = [self._alternatives(options, [to]) for to in options["to"]]
            refused = None
            try:
                with get_connection() as connection:
                    connection.send_messages(messages)
            except AnymailError as err:  # raised once the whole batch went: every status is set
                refused = err
            for message in messages:
                self._print(message.anymail_status)
            if refused:
                raise CommandError(f"{type(refused).__name__}: {refused}")

    def _alternatives(self, options, to):
        headers = {"X-Example": "alternatives"}
        if options["message_id"]:
            headers["Message-ID"] = options["message_id"]
        message = EmailMultiAlternatives(options["subject"], "The text part.", None, to, headers=headers,
                                         cc=[], bcc=[], reply_to=["replies@example.com"])
        html = "<p>The <b>html</b> part.</p>"
        if options["inline"]:
            path = Path(options["inline"])
            cid = attach_inline_image(message, path.read_bytes(), filename=path.name)
            html += f'<p><img src="cid:{cid}" alt="{path.name}"></p>'
        message.attach_alternative(html, "text/html")
        for path in options["attach"]:
            path = Path(path)
            message.attach(path.name, path.read_bytes(),
                           mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        return self._annotated(message, options)

    @staticmethod
    def _annotated(message, options):
        message.tags = options["tag"]
        message.metadata = dict(item.split("=", 1) for item in options["metadata"])
        return message

    def _print(self, status):
        self.stdout.write(json.dumps({
            "message_id": status.message_id if not isinstance(status.message_id, set) else sorted(status.message_id),
            "status": sorted(status.status or ()),
            "recipients": {address: {"message_id": s.message_id, "status": s.status}
                           for address, s in status.recipients.items()},
            "esp_response": status.esp_response,
        }))
