from django.core.management.base import BaseCommand, CommandError

from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.webhooks.endpoints import webhook_endpoint_update


class Command(BaseCommand):
    help = "Change a webhook endpoint: --enable/--disable, --url, --events."

    def add_arguments(self, parser):
        parser.add_argument("endpoint_id")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", action="store_true")
        state.add_argument("--disable", action="store_true")
        parser.add_argument("--url")
        parser.add_argument("--events", help="Comma-separated event types (replaces the current ones).")

    def handle(self, *args, endpoint_id, enable, disable, url, events, **options):
        enabled = True if enable else False if disable else None
        types = [t.strip() for t in events.split(",") if t.strip()] if events else None
        try:
            endpoint = webhook_endpoint_update(endpoint_id=endpoint_id, url=url, types=types, enabled=enabled)
        except EmailhubError as err:
            raise CommandError(err.message) from err
        outcome = f"{endpoint['url']}; {'enabled' if endpoint['enabled'] else 'disabled'}; " \
                  f"{', '.join(endpoint['event_types'])}"
        audit_record(actor="manage.py", action="webhook.update", target=endpoint_id, outcome=outcome[:1000])
        self.stdout.write(f"Webhook endpoint {endpoint_id}: {outcome}")
