from django.core.management.base import BaseCommand, CommandError

from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.webhooks.endpoints import webhook_endpoint_rotate


class Command(BaseCommand):
    help = ("Give a webhook endpoint a new signing secret (printed once, alone on the last line); "
            "the current one keeps signing beside it for 24 hours.")

    def add_arguments(self, parser):
        parser.add_argument("endpoint_id")

    def handle(self, *args, endpoint_id, **options):
        try:
            secret = webhook_endpoint_rotate(endpoint_id=endpoint_id)
        except EmailhubError as err:
            raise CommandError(err.message) from err
        audit_record(actor="manage.py", action="webhook.rotate_secret", target=endpoint_id,
                     outcome="new secret; the previous one signs too for 24 hours")
        self.stdout.write(f"New signing secret for {endpoint_id} (the previous one stays valid for 24 hours):")
        self.stdout.write(secret)
