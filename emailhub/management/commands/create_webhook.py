from django.core.management.base import BaseCommand, CommandError

from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.webhooks.endpoints import webhook_endpoint_create
from emailhub.webhooks.events import event_types


class Command(BaseCommand):
    help = "Add a webhook endpoint; its signing secret is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("url", help="https://... (http:// and 127.0.0.1 only in local mode)")
        parser.add_argument("--events", default="all",
                            help=f"Comma-separated event types, or 'all' (default). Types: {', '.join(event_types())}")
        parser.add_argument("--description", default="")

    def handle(self, *args, url, events, description, **options):
        types = event_types() if events == "all" else [t.strip() for t in events.split(",") if t.strip()]
        try:
            endpoint, secret = webhook_endpoint_create(url=url, types=types, description=description)
        except EmailhubError as err:
            raise CommandError(err.message) from err
        audit_record(actor="manage.py", action="webhook.create", target=endpoint["id"],
                     outcome=f"created {endpoint['id']} for {url}")
        self.stdout.write(f"Created webhook endpoint {endpoint['id']} for {url} "
                          f"({', '.join(endpoint['event_types'])}). Its signing secret is shown only now:")
        self.stdout.write(secret)
