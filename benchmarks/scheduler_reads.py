#!/usr/bin/env python
"""Benchmark of the scheduler's tick: items read per tick against how many
emails are scheduled.

For each size (default 1,000 and 100,000) a fresh moto table gets that many
scheduled emails spread over the next EMAILHUB_MAX_SCHEDULE_DAYS (30) days,
50 of them due now; after the tick of two minutes before, one tick runs (emailhub.scheduling.ticks.scheduler_tick)
and the script prints the DynamoDB items it read (the Queries' ScannedCount,
which is what DynamoDB bills), its Queries, every AWS call it made, and the
emails it handed to the outbox. The target: the same figures at both sizes
(the tick reads the due minute buckets of the schedule-index, never the rest).

The table is filled with BatchWriteItem (25 items a call) and moto's index
Queries are made to look at the partition only (log_page_reads.PartitionedItems,
same answers, sooner).

Usage: .venv/bin/python benchmarks/scheduler_reads.py [--sizes 1000,100000] [--due 50]
"""

import argparse
import random
import sys
import time
from collections import Counter
from datetime import timedelta

import offline

offline.setup()

from django.conf import settings  # noqa: E402
from moto import mock_aws  # noqa: E402

from emailhub import model  # noqa: E402
from emailhub.aws import calls, clients, dynamodb, sqs  # noqa: E402
from emailhub.bootstrap import aws_resources_ensure  # noqa: E402
from emailhub.local.emulator import make_dynamodb_atomic  # noqa: E402
from emailhub.scheduling.ticks import scheduler_tick  # noqa: E402
from log_page_reads import PartitionedItems  # noqa: E402

BATCH_WRITE = 25


def scheduled_item(index, moment, send_at):
    email_id = model.new_email_id(moment)
    pk, sk = model.email_key(email_id)
    return {"pk": pk, "sk": sk, "id": email_id, "status": model.SCHEDULED,
            "email_status": model.sharded(model.SCHEDULED, email_id), "created_at": model.iso(moment),
            "send_at": model.iso(send_at), "schedule_bucket": model.schedule_bucket(send_at),
            "summary": {"sender": "no-reply@example.com", "to": [f"user{index}@example.com"], "subject": "Later"},
            "attempts": 0, "events": [], "companions": []}


def populate(count, due, moment, rng):
    dynamo, table, batch = clients.client("dynamodb"), settings.EMAILHUB_TABLE, []

    def flush():
        request = {table: [{"PutRequest": {"Item": dynamodb.serialize(i)}} for i in batch]}
        while request:
            request = dynamo.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
        batch.clear()

    span = settings.EMAILHUB_MAX_SCHEDULE_DAYS * 86400
    for index in range(count):
        if index < due:  # due in the last half minute
            send_at = moment - timedelta(seconds=rng.uniform(0, 30))
        else:  # from two minutes ahead to the end of the window: not due at this tick
            send_at = moment + timedelta(seconds=120 + rng.uniform(0, span - 120))
        batch.append(scheduled_item(index, moment - timedelta(days=1), send_at))
        if len(batch) == BATCH_WRITE:
            flush()
    if batch:
        flush()


class Meter:
    """Counts Emailhub's AWS calls and the items its Queries read."""

    def __init__(self):
        self.calls, self.scanned, self.on = Counter(), 0, False
        self._real = calls.call

    def __call__(self, service, operation, **kwargs):
        result = self._real(service, operation, **kwargs)
        if self.on:
            self.calls[f"{service}.{operation}"] += 1
            if operation == "query":
                self.scanned += result.get("ScannedCount", len(result.get("Items", [])))
        return result

    def install(self):
        for module in ("emailhub.aws.dynamodb", "emailhub.aws.sqs"):
            sys.modules[module].call = self


def measure(count, due, seed):
    rng = random.Random(seed)
    with mock_aws():
        make_dynamodb_atomic()
        clients.reset()
        sqs.reset()
        aws_resources_ensure()
        moment = model.now()
        started = time.perf_counter()
        populate(count, due, moment, rng)
        filled = time.perf_counter() - started
        # The tick before (two minutes earlier, nothing due yet) leaves where it
        # stopped, as every minute's tick does: the measured tick is a steady one.
        scheduler_tick(moment=moment - timedelta(minutes=2))
        meter = Meter()
        meter.install()
        meter.on = True
        report = scheduler_tick(moment=moment)
        meter.on = False
    clients.reset()
    sqs.reset()
    return {"count": count, "filled_s": filled, "read": meter.scanned, "queries": meter.calls["dynamodb.query"],
            "calls": sum(meter.calls.values()), "enqueued": len(report.enqueued), "by_op": dict(meter.calls)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--due", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings.AWS_ENDPOINT_URL = None  # moto in-process, never a server
    accelerator = PartitionedItems()
    accelerator.install()
    results = [measure(int(size), args.due, args.seed) for size in args.sizes.split(",")]
    accelerator.uninstall()
    print(f"{'scheduled':>10} {'due':>4} {'items read':>10} {'queries':>7} {'AWS calls':>9} {'enqueued':>8}")
    for r in results:
        print(f"{r['count']:>10,} {args.due:>4} {r['read']:>10} {r['queries']:>7} {r['calls']:>9} {r['enqueued']:>8}"
              f"   (table filled in {r['filled_s']:.0f} s)")
    print("calls of the last tick:", ", ".join(f"{op} {n}" for op, n in sorted(results[-1]["by_op"].items())))
    same = len({(r["read"], r["queries"], r["calls"]) for r in results}) == 1
    print(f"Same reads, Queries and calls at every size: {'yes' if same else 'NO'}")
    return 0 if same and all(r["enqueued"] == args.due for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
