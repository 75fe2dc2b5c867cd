from django.core.management.base import BaseCommand

from emailhub.audit import audit_record
from emailhub.suppression import suppression_add


class Command(BaseCommand):
    help = "Put an address on the suppression list: Emailhub refuses to send to it."

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--reason", default="added by hand")

    def handle(self, *args, address, reason, **options):
        added = suppression_add(address=address, reason=reason, actor="manage.py")
        audit_record(actor="manage.py", action="suppression.add", target=address,
                     outcome="added" if added else "already suppressed")
        self.stdout.write(f"{address} " + ("suppressed." if added else "was already suppressed."))
