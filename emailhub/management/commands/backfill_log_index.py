from django.core.management.base import BaseCommand

from emailhub.log_index import log_index_backfill


class Command(BaseCommand):
    help = ("Give emails stored before the tag and match-status indexes their index items, so the email log's "
            "tag, recipient+status and tag+status filters find them. Idempotent; resumes where the last run "
            "stopped.")

    def add_arguments(self, parser):
        parser.add_argument("--restart", action="store_true",
                            help="Start from the oldest retained day instead of the last run's checkpoint.")
        parser.add_argument("--max-emails", type=int, default=None,
                            help="Stop after back-filling this many (e.g. to stay inside Lambda's 15 minutes); "
                                 "run again to go on.")

    def handle(self, *args, restart, max_emails, **options):
        counts = log_index_backfill(restart=restart, max_emails=max_emails,
                                    progress=lambda line: self.stdout.write(line))
        if not counts["finished"]:
            self.stdout.write("Not finished: run the command again to go on from here.")
        if counts["busy"]:
            raise SystemExit(1)
