from django.core.management.base import BaseCommand

from emailhub.audit import audit_record
from emailhub.suppression import suppression_remove


class Command(BaseCommand):
    help = "Take an address off the suppression list."

    def add_arguments(self, parser):
        parser.add_argument("address")

    def handle(self, *args, address, **options):
        removed = suppression_remove(address=address)
        audit_record(actor="manage.py", action="suppression.remove", target=address,
                     outcome="removed" if removed else "was not suppressed")
        self.stdout.write(f"{address} " + ("removed from the suppression list." if removed else "was not suppressed."))
