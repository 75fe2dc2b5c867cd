#!/usr/bin/env python
"""Lambda invocations per 1,000 emails, outbox plus SES events: batch size 1
(before) against the stage's batch sizes (zappa_settings.json: the outbox 10,
the events queue 100, each with a short batching window).

1. A simulated run, in one process against moto (no network, no AWS): N
   emails through POST /send-email, a mix of recipients from SES's mailbox
   simulator (delivered, bounced, complained) with the local SES event
   simulator publishing the events real SES would (Send, Delivery, Bounce,
   Complaint) through SNS to the events queue. An event-source stand-in then
   does what Lambda's SQS poller does: it gathers up to `batch_size` records
   from a queue, invokes the handler (emailhub.worker.outbox_handler /
   events_handler) once with them, and deletes what the answer's
   batchItemFailures do not name. It counts the invocations, the records per
   email on each queue, and checks that every email ended where it should.
   The run is made twice, with batch size 1 and with the stage's sizes.
2. The arithmetic: invocations per 1,000 emails = 1,000 x records per email /
   records per invocation, for each queue.
3. How full batches are when emails arrive over time: with a batching window
   W, Lambda invokes when a batch is full or W seconds after its first record.
   Poisson arrivals at several sending rates are grouped that way, and the
   invocations per 1,000 emails printed for each. (The pollers in the run above
   find every record already waiting: full batches.)

Target: at most 150 invocations per 1,000 emails (outbox plus events) at a
sustained sending rate; missing it still exits 0 (this is a measurement).

Usage: .venv/bin/python benchmarks/invocations.py [--emails 100] [--log-level WARNING]
"""

import argparse
import json
import logging
import math
import random
import sys
import time

import offline  # noqa: E402  (benchmarks/offline.py: fake credentials, no endpoint, Django set up)

offline.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from moto import mock_aws  # noqa: E402

from emailhub import apikeys, identities, pacing, reputation  # noqa: E402
from emailhub.aws import clients, sqs  # noqa: E402
from emailhub.bootstrap import aws_resources_ensure  # noqa: E402
from emailhub.emails import email_get  # noqa: E402
from emailhub.local.emulator import make_dynamodb_atomic  # noqa: E402
from emailhub.local.poller import as_lambda_record  # noqa: E402
from emailhub.local.ses_simulator import DELAY_SECONDS  # noqa: E402
from emailhub.stages import stage_config  # noqa: E402
from emailhub.worker import events_handler, outbox_handler  # noqa: E402

TARGET = 150
# Of every 100 emails: where the mailbox simulator takes them.
MIX = [("success@simulator.amazonses.com", 95), ("bounce@simulator.amazonses.com", 3),
       ("complaint@simulator.amazonses.com", 2)]
EXPECTED = {"success": "delivered", "bounce": "bounced", "complaint": "complained"}


def stage_batches(stage="dev"):
    """{"outbox": (batch size, window), "events": (...)} from zappa_settings.json."""
    found = {}
    for event in stage_config(stage)["events"]:
        source = event["event_source"]
        name = "outbox" if event["function"].endswith("outbox_handler") else "events"
        found[name] = (source["batch_size"], source.get("batch_window", 0))
    return found


class EventSource:
    """Lambda's SQS poller, in miniature: gather up to `batch_size` records
    (SQS gives at most 10 a receive), invoke once, delete the successes."""

    def __init__(self, queue, handler, batch_size):
        self.queue, self.handler, self.batch_size = queue, handler, batch_size
        self.invocations = self.records = self.reported = 0

    def poll(self):
        messages = []
        while len(messages) < self.batch_size:
            got = sqs.receive(self.queue, max_messages=min(10, self.batch_size - len(messages)))
            if not got:
                break
            messages += got
        if not messages:
            return 0
        answer = self.handler({"Records": [as_lambda_record(m) for m in messages]})
        self.invocations += 1
        self.records += len(messages)
        retry = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        self.reported += len(retry)
        done = [m["ReceiptHandle"] for m in messages if m["MessageId"] not in retry]
        if done:
            sqs.delete(self.queue, done)
        return len(messages)


def _empty(queue):
    depth = sqs.depth(queue)
    return not (depth["ready"] or depth["delayed"] or depth["in_flight"])


def simulated_run(emails, batches):
    """Send `emails`, drive both queues with `batches` ({queue: size}); returns the counts."""
    with mock_aws(), override_settings(AWS_ENDPOINT_URL=None, EMAILHUB_SES_EVENT_SIMULATOR=True, EMAILHUB_SES_PACING=False,
                                       EMAILHUB_SES_SANDBOX=False, EMAILHUB_RETRY_BASE_SECONDS=0,
                                       EMAILHUB_GUARD_MIN_SENT=10 ** 9):
        make_dynamodb_atomic()
        for reset in (clients.reset, sqs.reset, apikeys.cache_clear, identities.cache_clear, pacing.reset,
                      reputation.reset):
            reset()
        aws_resources_ensure()
        identities.identity_verify(identity=settings.EMAILHUB_DEFAULT_FROM.rpartition("@")[2])
        _, key = apikeys.api_key_create(name="benchmark")
        pacing.quota = lambda **kw: pacing.Quota(max_24h=-1, sent_24h=0, max_rate=1000, read_at=time.monotonic())
        client, sent = Client(), []
        recipients = [address for address, share in MIX for _ in range(share)]
        for n in range(emails):
            to = recipients[n % len(recipients)]
            answer = client.post("/send-email", data=json.dumps({"to": [to], "subject": f"n{n}", "text": "hi"}),
                                 content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
            assert answer.status_code == 202, answer.content
            sent.append((answer.json()["id"], to.partition("@")[0]))
        outbox = EventSource(settings.EMAILHUB_OUTBOX_QUEUE, outbox_handler, batches["outbox"])
        events = EventSource(settings.EMAILHUB_EVENTS_QUEUE, events_handler, batches["events"])
        while outbox.poll() or not _empty(settings.EMAILHUB_OUTBOX_QUEUE):
            pass
        time.sleep(DELAY_SECONDS * 3)  # the simulator publishes from timers, half a second after each send
        quiet = 0
        while quiet < 3:
            quiet = 0 if events.poll() else quiet + 1
            if quiet:
                time.sleep(0.3)
        ended = {email_id: email_get(email_id)["status"] for email_id, _ in sent}
        wrong = [(i, kind, ended[i]) for i, kind in sent if ended[i] != EXPECTED[kind]]
    pacing.reset()
    return {"outbox": outbox, "events": events, "wrong": wrong}


def arrivals_invocations(rate, emails, records_per_email, batch_size, window, seed=7):
    """Invocations for `emails` at `rate` emails/s (Poisson), each adding
    `records_per_email` records, batched by size or window."""
    rng = random.Random(seed)
    moment, times = 0.0, []
    for _ in range(emails):
        moment += rng.expovariate(rate)
        whole, part = divmod(records_per_email, 1)
        times += [moment] * int(whole) + ([moment] if rng.random() < part else [])
    invocations, opened, count = 0, None, 0
    for t in sorted(times):
        if opened is not None and (t - opened > window or count >= batch_size):
            invocations, opened, count = invocations + 1, None, 0
        if opened is None:
            opened = t
        count += 1
    return invocations + (1 if count else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=100)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.getLogger("emailhub").setLevel(args.log_level)
    logging.getLogger("emailhub.metrics").setLevel(logging.WARNING)  # the EMF lines are not the point here

    stage = stage_batches()
    runs = {}
    for label, sizes in (("before (batch 1)", {"outbox": 1, "events": 1}),
                         ("after (stage)", {name: size for name, (size, _) in stage.items()})):
        started = time.perf_counter()
        runs[label] = (sizes, simulated_run(args.emails, sizes), time.perf_counter() - started)

    n = args.emails
    print(f"Simulated run: {n} emails ({', '.join(f'{s}% {a.partition(chr(64))[0]}' for a, s in MIX)}), "
          "moto in-process, the Lambda handlers driven by an SQS event-source stand-in\n")
    print(f"{'run':<18}{'batch out/ev':>14}{'outbox inv':>12}{'events inv':>12}{'records/email out+ev':>23}"
          f"{'inv per 1,000':>15}{'retried':>9}{'ended wrong':>13}{'took':>8}")
    per_thousand = {}
    for label, (sizes, run, took) in runs.items():
        out, ev = run["outbox"], run["events"]
        total = 1000 * (out.invocations + ev.invocations) / n
        per_thousand[label] = total
        print(f"{label:<18}{sizes['outbox']:>7}/{sizes['events']:<6}{out.invocations:>12}{ev.invocations:>12}"
              f"{out.records / n:>14.2f} + {ev.records / n:<6.2f}{total:>15.0f}{out.reported + ev.reported:>9}"
              f"{len(run['wrong']):>13}{took:>7.1f}s")
    before, after = per_thousand["before (batch 1)"], per_thousand["after (stage)"]
    print(f"\nInvocations per 1,000 emails: {before:.0f} -> {after:.0f} ({before / after:.1f}x fewer); "
          f"target <= {TARGET}: {'met' if after <= TARGET else 'MISSED'}")

    _, run, _ = runs["after (stage)"]
    out_rate, ev_rate = run["outbox"].records / n, run["events"].records / n
    print("\nArithmetic: 1,000 x records per email / batch size, per queue")
    for name, per_email, (size, _) in (("outbox", out_rate, stage["outbox"]), ("events", ev_rate, stage["events"])):
        print(f"  {name:<7} 1,000 x {per_email:.2f} / {size:<4} = {math.ceil(1000 * per_email / size):>5}"
              f"   (batch 1: {1000 * per_email:.0f})")
    print(f"  total   {math.ceil(1000 * out_rate / stage['outbox'][0]) + math.ceil(1000 * ev_rate / stage['events'][0])}"
          f"   (batch 1: {1000 * (out_rate + ev_rate):.0f})")

    print("\nBatches as emails arrive over time (Poisson, 1,000 emails; Lambda invokes when a batch is full or "
          "its window has passed since its first record)")
    print(f"{'emails/s':>9}{'outbox inv':>12}{'events inv':>12}{'total':>8}{'target':>9}")
    for rate in (0.5, 2, 5, 14, 50, 200):
        out = arrivals_invocations(rate, 1000, out_rate, *stage["outbox"])
        ev = arrivals_invocations(rate, 1000, ev_rate, *stage["events"])
        print(f"{rate:>9g}{out:>12}{ev:>12}{out + ev:>8}{'met' if out + ev <= TARGET else 'missed':>9}")
    wrong = sum(len(r["wrong"]) for _, r, _ in runs.values())
    if wrong:
        print(f"\n{wrong} email(s) did not end where the mailbox simulator takes them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
