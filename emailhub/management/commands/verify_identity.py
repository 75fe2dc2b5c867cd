from django.core.management.base import BaseCommand

from emailhub.identities import identity_verify


class Command(BaseCommand):
    help = "Verify an email address or domain with SES (needed in the SES sandbox)."

    def add_arguments(self, parser):
        parser.add_argument("identity", help="An address (alice@example.com) or a domain (example.com).")

    def handle(self, *args, identity, **options):
        status = identity_verify(identity=identity)
        if status == "SUCCESS":
            self.stdout.write(self.style.SUCCESS(f"{identity} is verified."))
        else:
            self.stdout.write(f"{identity}: {status or 'PENDING'}. SES has sent a verification link; "
                              "the identity can be used once it is clicked.")
