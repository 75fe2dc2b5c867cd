from django.core.management.base import BaseCommand, CommandError

from emailhub.audit import audit_record
from emailhub.identities import InvalidIdentity, identity_verify


class Command(BaseCommand):
    help = "Verify an email address or domain with SES (needed in the SES sandbox)."

    def add_arguments(self, parser):
        parser.add_argument("identity", help="An address (alice@example.com) or a domain (example.com).")

    def handle(self, *args, identity, **options):
        try:
            status = identity_verify(identity=identity)
        except InvalidIdentity as err:
            raise CommandError(str(err)) from err
        audit_record(actor="manage.py", action="identity.verify", target=identity, outcome=status or "PENDING")
        if status == "SUCCESS":
            self.stdout.write(self.style.SUCCESS(f"{identity} is verified."))
        else:
            self.stdout.write(f"{identity}: {status or 'PENDING'}. SES has sent a verification link; "
                              "the identity can be used once it is clicked.")
