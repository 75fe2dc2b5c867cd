"""Locally, threads play the part of Lambda's SQS event sources: each
long-polls a queue and hands every batch (up to 10 records, like the
deployed event sources) to the same handler the Lambda calls, then deletes
what its batchItemFailures do not name."""

import logging
import os
import threading
import time

if __name__ == "__main__":  # run as a process of its own: set Django up first
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emailhub.settings")
    django.setup()

from django.conf import settings  # noqa: E402

from emailhub.aws import sqs  # noqa: E402
from emailhub.errors import EmailhubError  # noqa: E402
from emailhub.worker import events_handler, outbox_handler, webhooks_handler  # noqa: E402

logger = logging.getLogger(__name__)


def as_lambda_record(message):
    """ReceiveMessage's shape to the shape of a Lambda SQS event record."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "eventSource": "aws:sqs",
    }


# SQS's most messages per receive, and the outbox's batch size in zappa_settings.json.
BATCH_SIZE = 10


def poll_once(*, queue=None, handler=outbox_handler, wait_seconds=1):
    """Receive one batch, hand it to `handler` as Lambda would, delete what
    it did not report for retry. Returns the count received."""
    queue = queue or settings.EMAILHUB_OUTBOX_QUEUE
    messages = sqs.receive(queue, max_messages=BATCH_SIZE, wait_seconds=wait_seconds)
    if not messages:
        return 0
    answer = handler({"Records": [as_lambda_record(m) for m in messages]})
    retry = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    done = [m["ReceiptHandle"] for m in messages if m["MessageId"] not in retry]
    if done:
        sqs.delete(queue, done)
    return len(messages)


def poll_events_once(*, wait_seconds=1):
    return poll_once(queue=settings.EMAILHUB_EVENTS_QUEUE, handler=events_handler, wait_seconds=wait_seconds)


def poll_webhooks_once(*, wait_seconds=1):
    return poll_once(queue=settings.EMAILHUB_WEBHOOKS_QUEUE, handler=webhooks_handler, wait_seconds=wait_seconds)


class Poller(threading.Thread):
    def __init__(self, poll, *, name, wait_seconds=1):
        super().__init__(name=name, daemon=True)
        self.poll, self.wait_seconds = poll, wait_seconds
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            try:
                self.poll(wait_seconds=self.wait_seconds)
            except EmailhubError as err:
                logger.warning("%s: poll failed: %s", self.name, err.message)
                self._stop_event.wait(1)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=self.wait_seconds + 5)


def OutboxPoller(*, wait_seconds=1):  # noqa: N802 - reads like the class it returns
    return Poller(poll_once, name="outbox-poller", wait_seconds=wait_seconds)


def EventsPoller(*, wait_seconds=1):  # noqa: N802
    return Poller(poll_events_once, name="events-poller", wait_seconds=wait_seconds)


def WebhooksPoller(*, wait_seconds=1):  # noqa: N802
    return Poller(poll_webhooks_once, name="webhooks-poller", wait_seconds=wait_seconds)


class SchedulerTicker(threading.Thread):
    """The scheduler's every-minute rule, played locally: a tick every
    `interval` seconds (more often than in AWS, so a local test waits less;
    the tick's lease and conditional writes make extra ticks harmless)."""

    def __init__(self, *, interval=15):
        super().__init__(name="scheduler-ticker", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self):
        from emailhub.scheduling.ticks import scheduler_tick

        while not self._stop_event.is_set():
            try:
                scheduler_tick()
            except EmailhubError as err:
                logger.warning("%s: tick failed: %s", self.name, err.message)
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)


def outbox_empty():
    depth = sqs.depth(settings.EMAILHUB_OUTBOX_QUEUE)
    return not (depth["ready"] or depth["delayed"] or depth["in_flight"])


def run_until_empty(*, max_seconds):
    """Work the outbox until nothing is left on it (ready, delayed or in
    flight) or `max_seconds` have passed. Returns True when it emptied."""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        if not poll_once(wait_seconds=1) and outbox_empty():
            return True
    return False


def main(argv=None):
    """`python -m emailhub.local.poller [--max-seconds N]`: the outbox worker
    as a process of its own, until the outbox is empty (crash drills start it
    with EMAILHUB_FAULT_POINT set, kill it and start it again)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args(argv)
    return 0 if run_until_empty(max_seconds=args.max_seconds) else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
