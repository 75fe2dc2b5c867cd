"""Locally, a thread plays the part of Lambda's SQS event source: it long-polls
the outbox and hands each batch to the same function the Lambda calls."""

import logging
import threading

from django.conf import settings

from emailhub.aws import sqs
from emailhub.errors import EmailhubError
from emailhub.worker import process_outbox_records

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


def poll_once(*, wait_seconds=1):
    """Receive one batch, process it, delete what succeeded. Returns the count received."""
    queue = settings.EMAILHUB_OUTBOX_QUEUE
    messages = sqs.receive(queue, max_messages=10, wait_seconds=wait_seconds)
    if not messages:
        return 0
    retry = set(process_outbox_records([as_lambda_record(m) for m in messages]))
    done = [m["ReceiptHandle"] for m in messages if m["MessageId"] not in retry]
    if done:
        sqs.delete(queue, done)
    return len(messages)


class OutboxPoller(threading.Thread):
    def __init__(self, *, wait_seconds=1):
        super().__init__(name="outbox-poller", daemon=True)
        self.wait_seconds = wait_seconds
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            try:
                poll_once(wait_seconds=self.wait_seconds)
            except EmailhubError as err:
                logger.warning("outbox poll failed: %s", err.message)
                self._stop_event.wait(1)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=self.wait_seconds + 5)
