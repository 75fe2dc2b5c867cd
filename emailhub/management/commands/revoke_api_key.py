from django.core.management.base import BaseCommand, CommandError

from emailhub.apikeys import api_key_revoke
from emailhub.audit import audit_record
from emailhub.errors import NotFound


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the part after 'eh_')."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            key = api_key_revoke(prefix=prefix)
        except NotFound as err:
            raise CommandError(err.message) from err
        audit_record(actor="manage.py", action="api_key.revoke", target=prefix, outcome=f"revoked {prefix} ({key.name})")
        self.stdout.write(f"API key {key.prefix} ({key.name}) revoked at {key.revoked_at}. "
                          "Processes that checked it in the last minute accept it until their cache expires.")
