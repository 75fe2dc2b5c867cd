from django.core.management.base import BaseCommand

from emailhub.stuck import emails_requeue_stuck, emails_stuck


class Command(BaseCommand):
    help = ("List emails stuck in queued/retrying/sending, or sent without a delivery event. "
            "Exits 1 when there are any.")

    def add_arguments(self, parser):
        parser.add_argument("--requeue", action="store_true",
                            help="Put stuck queued emails back on the outbox (safe: an email is never sent twice).")

    def handle(self, *args, requeue, **options):
        stuck = emails_stuck()
        for item in stuck:
            email = item.email
            self.stdout.write(f"{email['id']}  {email['status']:<8}  created {email['created_at'][:19]}  "
                              f"to {', '.join(email['summary']['to'])}: {item.reason}")
        if requeue:
            requeued = emails_requeue_stuck(stuck=stuck)
            self.stdout.write(f"Requeued {len(requeued)} queued email(s).")
        if not stuck:
            self.stdout.write("No stuck emails.")
            return
        raise SystemExit(1)
