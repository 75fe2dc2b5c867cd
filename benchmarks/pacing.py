#!/usr/bin/env python
"""Benchmark of sending at the account's pace: a burst of N emails at a configured MaxSendRate.

The account's rate is set to `--rate` emails a second (default 14) and the
emulated SES enforces it the way real SES does: a send that would make more
than `rate` sends in the last second is refused with TooManyRequestsException
(HTTP 429). A burst of `--emails` (default 500) is then sent twice, with
Emailhub's pacing on (EMAILHUB_SES_PACING=True: the token bucket in
emailhub/pacing.py) and off (the baseline: throttled sends become retries),
and the script prints the elapsed time against the physical minimum
(emails / rate seconds) and the count of throttling errors.

What is timed is the pacing of SES sends, not the emulator. Through moto the
whole path, POST /send-email to `sent`, runs at 9 to 12 emails a second in one
process (benchmarks/send_path.py; moto's DynamoDB copies the whole table on
every transaction), below 14/s. So the burst is accepted first with
emailhub.services.email_accept (not timed) and only delivery is timed: the
real worker function emailhub.services.email_deliver(email_id=...) run from
several threads, as concurrent Lambda workers would. The outbox is an
in-process delay queue in place of SQS and its event source, so a retry
comes back after the delay the worker asked for. Both runs start from the
same accepted emails (the DynamoDB table is restored from a snapshot).

If the worker path through moto cannot even reach the configured rate
without pacing, pacing has nothing to spread out there, so the script says
so and also times the bucket and the SES call alone
(emailhub.pacing.wait_for_slot() + emailhub.aws.ses.send() from the same
threads), which is cheap in moto. `--sends-only always` runs that part in any case.

Nothing about time is asserted. Exit code 1 only when an email was lost:
it did not end `sent` and was not parked on the dead-letter queue either.

Usage: .venv/bin/python benchmarks/pacing.py [--emails 500] [--rate 14] [--threads 8]
"""

import argparse
import copy
import heapq
import itertools
import logging
import math
import sys
import threading
import time
import traceback
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from dataclasses import dataclass, field

import offline  # noqa: E402  (benchmarks/offline.py: fake credentials, no endpoint, Django set up)

offline.setup()
ROOT = offline.ROOT

from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402
from moto.ses.models import SESBackend, SESQuota  # noqa: E402
from moto.sesv2.models import SESV2Backend  # noqa: E402


from django.conf import settings  # noqa: E402

from emailhub import identities, pacing, services  # noqa: E402
from emailhub.addresses import parse_mailbox  # noqa: E402
from emailhub.aws import clients, ses, sqs  # noqa: E402
from emailhub.bootstrap import aws_resources_ensure  # noqa: E402
from emailhub.emails import email_get  # noqa: E402
from emailhub.errors import EmailhubError, SendError  # noqa: E402
from emailhub.local.emulator import make_dynamodb_atomic  # noqa: E402
from emailhub.messages import ses_arguments  # noqa: E402

RECIPIENT = "bench-recipient@example.com"
DAILY_QUOTA = 1_000_000.0  # far above the burst: this benchmark is about the rate, not the day
RETRY_BASE_SECONDS = 1     # a throttled send comes back after 0, 1, 2-3, 4-7 s, then is parked (settings default 2)
REDELIVERY_SECONDS = 5     # a message the worker raised on comes back after this (SQS: visibility timeout)


# --- the emulated account: its rate, enforced as SES does ------------------------

class TooManyRequests(JsonRESTError):
    code = 429  # SES API v2 answers TooManyRequestsException with HTTP 429


class SesRateLimit:
    """Installed on moto's SESV2Backend.send_email / send_raw_email: a sliding
    one-second window that refuses a send which would make more than `rate`
    accepted sends in the last second. Counts every refused attempt and
    keeps the time of every accepted one (time.monotonic())."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset(rate=1)

    def reset(self, *, rate):
        with self.lock:
            self.rate = rate
            self.window = deque()
            self.accepted, self.throttled = [], []

    def admit(self):
        with self.lock:
            now = time.monotonic()
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate:
                self.throttled.append(now)
                raise TooManyRequests("TooManyRequestsException", "Maximum sending rate exceeded.")
            self.window.append(now)
            self.accepted.append(now)

    def install(self):
        limit = self
        for name in ("send_email", "send_raw_email"):
            original = getattr(SESV2Backend, name)

            def limited(backend, *args, _original=original, **kwargs):
                limit.admit()
                return _original(backend, *args, **kwargs)

            setattr(SESV2Backend, name, limited)


SES_LIMIT = SesRateLimit()


def account_quota_install(rate):
    """GetSendQuota answers MaxSendRate `rate` and a daily quota far above the
    burst (moto's own answer is 1/s and 200 a day). Emailhub still reads it
    through botocore, as it does against SES."""

    def get_send_quota(backend):
        quota = SESQuota(backend.sent_message_count)
        quota.max_send_rate = float(rate)
        quota.max24_hour_send = DAILY_QUOTA
        return quota

    SESBackend.get_send_quota = get_send_quota


# --- the outbox: an in-process delay queue in place of SQS + event source --------

class LocalOutbox:
    """Items with a delay, handed to worker threads when due. `get` returns
    None once nothing is queued and nothing is in flight. An item put back
    while its handler runs (a retry) keeps the outbox open."""

    def __init__(self, items):
        self.cond = threading.Condition()
        self.heap, self.seq = [], itertools.count()
        self.pending = 0
        self.initial, self.taken = len(items), 0
        self.first_pass_at = None  # when the last of the initial items was handed out
        for item in items:
            self.put(item)

    def put(self, item, delay_seconds=0):
        with self.cond:
            heapq.heappush(self.heap, (time.monotonic() + delay_seconds, next(self.seq), item))
            self.pending += 1
            self.cond.notify()

    def get(self):
        with self.cond:
            while True:
                if self.pending == 0:
                    return None
                if self.heap:
                    wait = self.heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _, seq, item = heapq.heappop(self.heap)
                        if seq < self.initial:
                            self.taken += 1
                            if self.taken == self.initial:
                                self.first_pass_at = time.monotonic()
                        return item
                    self.cond.wait(wait)
                else:
                    self.cond.wait()

    def done(self):
        with self.cond:
            self.pending -= 1
            if self.pending == 0:
                self.cond.notify_all()


@dataclass
class Run:
    """One timed run: what the threads did and what SES saw."""

    label: str
    paced: bool
    elapsed: float = 0.0
    started: float = 0.0
    first_pass_at: float = None
    outcomes: Counter = field(default_factory=Counter)
    accepted: list = field(default_factory=list)   # SES: accepted sends, monotonic times
    throttled: list = field(default_factory=list)  # SES: refused attempts, monotonic times
    waited: float = 0.0                            # seconds spent in pacing.wait_for_slot()
    statuses: Counter = field(default_factory=Counter)
    parked: int = 0
    lost: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    parked_as: str = "parked on the DLQ"

    @property
    def calls(self):
        return len(self.accepted) + len(self.throttled)

    def busiest_second(self):
        """The most sends SES accepted inside any one second."""
        times, best, start = self.accepted, 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def throttle_shortfalls(self, rate):
        """For each refused attempt: how much less than a second before it SES
        had accepted the send `rate` sends back (what made the window full)."""
        k, found = math.ceil(rate), []
        for t in self.throttled:
            i = bisect_left(self.accepted, t)
            if i >= k:
                found.append(1.0 - (t - self.accepted[i - k]))
        return sorted(found)

    def send_span(self):
        return self.accepted[-1] - self.accepted[0] if len(self.accepted) > 1 else 0.0

    def burst_rate(self):
        """SES calls per second while the initial messages were being handed
        out: how fast the threads could go before retries and backoff."""
        if not self.first_pass_at or self.first_pass_at <= self.started:
            return float("nan")
        calls = sorted(self.accepted + self.throttled)
        return bisect_right(calls, self.first_pass_at) / (self.first_pass_at - self.started)


def drive(run, outbox, handle, threads):
    """Run `handle(item)` from `threads` threads until the outbox is empty; fill `run`."""
    lock = threading.Lock()
    waited = [0.0]
    real_wait = pacing.wait_for_slot

    def timed_wait(**kwargs):
        started = time.perf_counter()
        try:
            return real_wait(**kwargs)
        finally:
            with lock:
                waited[0] += time.perf_counter() - started

    def work():
        while (item := outbox.get()) is not None:
            try:
                outcome = handle(item, outbox)
            except EmailhubError as err:
                # EmailBusy, AwsUnavailable: the worker raises so SQS delivers the message again.
                outbox.put(item, delay_seconds=REDELIVERY_SECONDS)
                outcome = f"raised {err.code}, redelivered"
            except Exception:
                outcome = "crashed"
                with lock:
                    run.errors.append(traceback.format_exc())
            finally:
                outbox.done()
            with lock:
                run.outcomes[outcome] += 1

    pacing.reset()
    settings.EMAILHUB_SES_PACING = run.paced
    SES_LIMIT.reset(rate=SES_LIMIT.rate)
    pacing.wait_for_slot = timed_wait
    workers = [threading.Thread(target=work, name=f"worker-{n}") for n in range(threads)]
    try:
        run.started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        run.elapsed = time.monotonic() - run.started
    finally:
        pacing.wait_for_slot = real_wait
    run.first_pass_at = outbox.first_pass_at
    run.accepted, run.throttled = list(SES_LIMIT.accepted), list(SES_LIMIT.throttled)
    run.waited = waited[0]
    return run


# --- the worker path -------------------------------------------------------------

def accept_burst(count):
    """`count` emails stored `queued` by the real accept, as POST /send-email
    would before enqueueing. Not timed."""
    return [
        services.email_accept(request={"to": [RECIPIENT], "subject": f"Order {i} confirmed",
                                       "text": f"Thanks for order {i}!"},
                              api_key_prefix="benchmark").body["id"]
        for i in range(count)
    ]


def deliver(email_id, outbox):
    return services.email_deliver(email_id=email_id)


def run_worker_path(label, ids, *, paced, threads):
    outbox = LocalOutbox(ids)
    real_enqueue = services.outbox_enqueue
    # _retry and _defer put the email back on the outbox with a delay: here, the local one.
    services.outbox_enqueue = lambda *, email_id, delay_seconds=0: outbox.put(email_id, delay_seconds)
    try:
        run = drive(Run(label, paced), outbox, deliver, threads)
    finally:
        services.outbox_enqueue = real_enqueue
    for email_id in ids:
        email = email_get(email_id) or {}
        status = email.get("status", "missing")
        run.statuses[status] += 1
        if status == "failed" and email.get("dlq_message_id"):
            run.parked += 1
        elif status != "sent":
            run.lost.append((email_id, status))
    return run


class TableSnapshot:
    """The Emailhub table as moto holds it, copied once and put back before
    each run, so both runs deliver the same queued emails from the same table."""

    def __init__(self):
        self.tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION].tables
        self.saved = copy.deepcopy(self.tables[settings.EMAILHUB_TABLE])

    def restore(self):
        self.tables[settings.EMAILHUB_TABLE] = copy.deepcopy(self.saved)


# --- the bucket and SES alone ------------------------------------------------------

class SendsOnly:
    """pacing.wait_for_slot() then ses.send(), as email_deliver does around
    its DynamoDB work; a throttled send goes back on the outbox after
    services.retry_delay(attempt), up to EMAILHUB_MAX_ATTEMPTS, as the worker's do."""

    def __init__(self):
        request = {"to": [RECIPIENT], "subject": "Order confirmed", "text": "Thanks for your order!"}
        self.arguments = ses_arguments(request=request, sender=settings.EMAILHUB_DEFAULT_FROM,
                                       configuration_set=settings.EMAILHUB_SES_CONFIGURATION_SET)
        self.attempts = Counter()
        self.lock = threading.Lock()

    def __call__(self, number, outbox):
        with self.lock:
            self.attempts[number] += 1
            attempt = self.attempts[number]
        pacing.wait_for_slot()
        try:
            ses.send(**self.arguments)
        except SendError as err:
            if err.kind == ses.TRANSIENT and attempt < settings.EMAILHUB_MAX_ATTEMPTS:
                outbox.put(number, delay_seconds=services.retry_delay(attempt))
                return "retrying"
            return "failed"
        return "sent"


def run_sends_only(label, count, *, paced, threads):
    run = drive(Run(label, paced), LocalOutbox(list(range(count))), SendsOnly(), threads)
    # No email items here: a send that ran out of attempts is what the worker would park.
    run.statuses = Counter({o: n for o, n in run.outcomes.items() if o in ("sent", "failed")})
    run.parked = run.statuses["failed"]
    run.parked_as = "out of attempts (the worker would park them)"
    run.lost = [o for o in run.outcomes.elements() if o not in ("sent", "failed", "retrying")]
    return run


# --- report ------------------------------------------------------------------------

def table(n, rate, runs):
    minimum = n / rate
    rows = [
        ("emails", *(f"{n}" for _ in runs)),
        ("configured rate (MaxSendRate)", *(f"{rate:g}/s" for _ in runs)),
        (f"physical minimum ({n} / {rate:g})", *(f"{minimum:.1f} s" for _ in runs)),
        ("elapsed", *(f"{r.elapsed:.1f} s" for r in runs)),
        ("elapsed / minimum", *(f"{r.elapsed / minimum:.2f}x" for r in runs)),
        ("throttling errors (TooManyRequests)", *(f"{len(r.throttled)}" for r in runs)),
        ("SES calls (accepted + throttled)", *(f"{r.calls}" for r in runs)),
        ("SES calls/s until each email was picked up", *(f"{r.burst_rate():.1f}" for r in runs)),
        ("sends accepted, first to last", *(f"{r.send_span():.1f} s" for r in runs)),
        ("most sends accepted in any 1 s", *(f"{r.busiest_second()}" for r in runs)),
        ("thread-seconds waiting in the bucket", *(f"{r.waited:.0f}" for r in runs)),
        (f"all {n} ended `sent`", *(("yes" if r.statuses.get("sent", 0) == n else "NO") for r in runs)),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"{'':{width}}  " + "  ".join(f"{r.label:>16}" for r in runs))
    for label, *cells in rows:
        print(f"{label:{width}}  " + "  ".join(f"{c:>16}" for c in cells))
    for r in runs:
        print(f"{r.label}: outcomes {dict(r.outcomes)}; final {dict(r.statuses)}"
              + (f", {r.parked} {r.parked_as}" if r.parked else ""))
    for r in runs:
        if r.paced and r.throttled:
            short = r.throttle_shortfalls(rate)
            if short:
                ms = [s * 1000 for s in short]
                print(f"{r.label}: each refused send came less than 1 s after the send {math.ceil(rate)} before it, by "
                      f"{ms[0]:.1f} to {ms[-1]:.1f} ms (median {ms[len(ms) // 2]:.1f} ms): the bucket spaces "
                      f"slots exactly 1/{rate:g} s apart,")
                print("  so any delay between taking a slot and SES receiving the call that is shorter for the "
                      "later send puts one send too many in the second.")


def report_setup(args):
    print()
    print(f"Emailhub pacing: a burst of {args.emails} emails at a configured MaxSendRate of {args.rate:g}/s, "
          "in-process moto (mock_aws), one process.")
    print(f"The emulated SES refuses a send that would make more than {args.rate:g} in the last second "
          "(TooManyRequestsException, HTTP 429); every refused attempt is counted.")
    print(f"{args.threads} threads stand for concurrent workers. They share the process's one token bucket "
          "(emailhub/pacing.py keeps it per process, behind a lock),")
    print("so EMAILHUB_WORKER_CONCURRENCY=1: the setting divides the rate between separate processes "
          f"(Lambda instances), and {args.threads} here would pace the")
    print(f"whole process at {args.rate:g}/{args.threads} = {args.rate / args.threads:.2f}/s. Unpaced, a throttled "
          f"send is a transient error: retried with backoff (EMAILHUB_RETRY_BASE_SECONDS={RETRY_BASE_SECONDS}), "
          f"parked after {settings.EMAILHUB_MAX_ATTEMPTS} attempts.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=500, help="emails in the burst (default 500)")
    parser.add_argument("--rate", type=float, default=14.0, help="the account's MaxSendRate, emails/s (default 14)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent worker threads (default 8)")
    parser.add_argument("--sends-only", choices=("auto", "always", "never"), default="auto",
                        help="also time the bucket + SES call alone: when the worker path cannot reach "
                             "the rate unpaced (auto, the default), always or never")
    parser.add_argument("--log-level", default="WARNING",
                        help="level for the emailhub logger (default WARNING: the worker logs an INFO "
                             "line per sent email)")
    args = parser.parse_args(argv)
    if args.emails < 1 or args.rate <= 0 or args.threads < 1:
        parser.error("--emails and --threads must be at least 1, --rate above 0")
    logging.getLogger("emailhub").setLevel(args.log_level.upper())

    SES_LIMIT.install()
    SES_LIMIT.reset(rate=args.rate)
    account_quota_install(args.rate)
    with mock_aws():
        settings.AWS_ENDPOINT_URL = None
        settings.AWS_REGION = "us-east-1"
        settings.EMAILHUB_SES_EVENT_SIMULATOR = False  # its SNS publishes are the emulator's, not sends
        settings.EMAILHUB_WORKER_CONCURRENCY = 1       # one process: the threads share one bucket
        settings.EMAILHUB_RETRY_BASE_SECONDS = RETRY_BASE_SECONDS
        clients.reset()
        sqs.reset()
        identities.cache_clear()
        pacing.reset()
        make_dynamodb_atomic()
        aws_resources_ensure()
        identities.identity_verify(identity=parse_mailbox(settings.EMAILHUB_DEFAULT_FROM).address)
        identities.identity_verify(identity=RECIPIENT)

        print(f"Accepting {args.emails} emails (not timed)...", file=sys.stderr)
        started = time.perf_counter()
        ids = accept_burst(args.emails)
        snapshot = TableSnapshot()
        print(f"  accepted in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        runs = []
        for label, paced in (("paced", True), ("unpaced", False)):
            snapshot.restore()
            print(f"Delivering them, {label}...", file=sys.stderr)
            runs.append(run_worker_path(label, ids, paced=paced, threads=args.threads))
        paced_run, unpaced_run = runs

        report_setup(args)
        print()
        print(f"Worker path: emailhub.services.email_deliver for each of the {args.emails} emails (accepted "
              "beforehand, not timed), from the threads.")
        table(args.emails, args.rate, runs)

        capacity = unpaced_run.burst_rate()
        short = not capacity >= args.rate or not unpaced_run.throttled
        if short:
            print(f"\nThe worker path through moto made {capacity:.1f} SES calls/s unpaced, not more than the "
                  f"{args.rate:g}/s allowed: the emulator's per-email cost, not pacing,")
            print("sets the pace here, so this run cannot show the bucket at work.")
        else:
            print(f"\nUnpaced, the worker path through moto reached {capacity:.1f} SES calls/s, above the "
                  f"{args.rate:g}/s allowed: the difference between the runs is pacing's.")

        if args.sends_only == "always" or (args.sends_only == "auto" and short):
            sends = []
            for label, paced in (("paced", True), ("unpaced", False)):
                print(f"Bucket + SES only, {label}...", file=sys.stderr)
                sends.append(run_sends_only(label, args.emails, paced=paced, threads=args.threads))
            print()
            print(f"Bucket + SES only: pacing.wait_for_slot() then emailhub.aws.ses.send() for {args.emails} "
                  "emails from the threads, no DynamoDB; retries as the worker's.")
            table(args.emails, args.rate, sends)
            runs += sends

        errors = [e for r in runs for e in r.errors]
        for error in errors[:3]:
            print(error, file=sys.stderr)
        lost = [(r.label, item) for r in runs for item in r.lost]
        if lost or errors:
            print(f"ERROR: {len(lost)} emails lost (neither sent nor parked), {len(errors)} handler crashes: "
                  f"{lost[:10]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
