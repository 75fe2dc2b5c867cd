from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.webhooks.deliveries import deliveries_replay_parked, delivery_replay


def _moment(value):
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads a trailing Z
    except ValueError as err:
        raise CommandError(f"Not an ISO date/time: {value!r}") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = ("Replay one delivery (--event) or every parked delivery of an endpoint created between "
            "--since and --until (UTC, ISO 8601). Never puts a second copy of an event in flight.")

    def add_arguments(self, parser):
        parser.add_argument("endpoint_id")
        parser.add_argument("--event", help="One event id (delivered or parked).")
        parser.add_argument("--since")
        parser.add_argument("--until")

    def handle(self, *args, endpoint_id, event, since, until, **options):
        if event:
            try:
                delivery_replay(endpoint_id=endpoint_id, event_id=event)
            except EmailhubError as err:
                raise CommandError(err.message) from err
            audit_record(actor="manage.py", action="webhook.replay", target=endpoint_id, outcome=f"replayed {event}")
            self.stdout.write(f"Event {event} queued again for {endpoint_id}.")
            return
        if not (since and until):
            raise CommandError("Give --event, or both --since and --until.")
        start, end = _moment(since), _moment(until)
        replayed, refused = deliveries_replay_parked(endpoint_id=endpoint_id, since=start, until=end)
        audit_record(actor="manage.py", action="webhook.replay_range", target=endpoint_id,
                     outcome=f"{len(replayed)} replayed, {len(refused)} refused, {since} to {until}",
                     details=[{"event_id": e, "result": "replayed"} for e in replayed]
                     + [{"event_id": e, "result": why} for e, why in refused])
        self.stdout.write(f"{len(replayed)} parked deliveries queued again, {len(refused)} refused.")
