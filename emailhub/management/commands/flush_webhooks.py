from django.core.management.base import BaseCommand

from emailhub.webhooks.enqueue import webhooks_unsent_flush


class Command(BaseCommand):
    help = "Put webhook events that could not be queued (parked as unsent) on the webhooks queue again."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, limit, **options):
        sent, left = webhooks_unsent_flush(limit=limit)
        self.stdout.write(f"{sent} event(s) queued, {left} still unsent.")
