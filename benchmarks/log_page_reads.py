#!/usr/bin/env python
"""Benchmark of the dashboard's email log: DynamoDB reads per page at 1k and 100k emails.

Fills the table with N emails of the project's real item shapes (built with
emailhub.emails.email_item / companion_items, written with
BatchWriteItem; not measured), then opens log pages in the dashboard as a
logged-in staff viewer (django.test.Client, GET /admin/emails/, size 50): the
first page and page 2 by its "next" link, statuses, common and rare recipients,
a rare domain, common and rare tags, and every combination the log offers;
then the same search over the API (GET /emails, issue #12) with a `full` key
and with `send` keys, which see only their own emails. A botocore `after-call` hook
on the DynamoDB client Emailhub uses counts, per page, the operations by name,
the items each Query returned (Count) and evaluated (ScannedCount), and the
items each BatchGetItem returned.

The point it checks: every list is a Query on a key or an index, never a Scan,
so a page costs the same with 1,000 or 100,000 emails. It prints the figures
side by side and says, per page, whether they were the same at every size.
Nothing about time is asserted (elapsed times are printed for information).

Exit code: 1 when any Scan happened, a page did not answer 200 or showed an
error, page 1 offered no "next" link, or the code raised; otherwise 0,
whatever the figures.

moto sorts the whole table on every Query, which makes a 100,000-email run
take about 11 minutes; by default the script makes moto hand each index Query
only the items of the partition it asks for (PartitionedItems below), which
gives the same answers in about 5 minutes. --plain-moto turns that off.

Usage: .venv/bin/python benchmarks/log_page_reads.py [--sizes 1000,100000] [--shards 1,8] [--seed 7] [--plain-moto]
"""

import argparse
import html
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import offline  # noqa: E402  (benchmarks/offline.py: fake credentials, no endpoint, Django set up)

offline.setup()
ROOT = offline.ROOT

from moto import mock_aws  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402


from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from emailhub import model  # noqa: E402
from emailhub.apikeys import api_key_create  # noqa: E402
from emailhub.aws import clients, dynamodb, sqs  # noqa: E402
from emailhub.bootstrap import aws_resources_ensure  # noqa: E402
from emailhub.emails import companion_items, email_item, event  # noqa: E402
from emailhub.payloads import payload_store  # noqa: E402
from emailhub.services import _summary  # noqa: E402  (the summary exactly as email_accept builds it)
from emailhub.staff.accounts import staff_create  # noqa: E402

PAGE_SIZE = 50
DAYS = 7  # the log's default range: today and the six days before
COMMON_RECIPIENTS = [f"customer-{n:02d}@example.com" for n in range(10)]
RARE_RECIPIENT = "rare-customer@example.com"
RARE_DOMAIN = "rare.example.net"  # the domain of RARE_COUNT emails of common recipients' (issue #11)
RARE_TAG = ("campaign", "pilot")
RARE_COUNT = 3  # emails to the rare recipient, and emails with the rare tag, at every size
STATUS_MIX = [(model.SENT, 0.90), (model.FAILED, 0.08), (model.QUEUED, 0.02)]
TYPE_MIX = [("order", 0.60), ("signup", 0.30), ("alert", 0.10)]
BATCH_WRITE = 25  # DynamoDB's maximum per BatchWriteItem
LOG_URL = "/admin/emails/"
API_URL = "/emails"
# Who sent the emails (their api_key_prefix): a `send` key that sent 30 % of
# them, one that sent RARE_COUNT, and a `full` key that sent the rest.
SEND_KEY_SHARE = 0.30
OP_ABBREVIATIONS = {"Query": "Q", "BatchGetItem": "BG", "GetItem": "G", "Scan": "SCAN"}


# --- counting DynamoDB reads -----------------------------------------------------

@dataclass
class Reads:
    """What one page cost in DynamoDB."""

    ops: Counter = field(default_factory=Counter)
    query_returned: int = 0    # sum of Count over the page's Queries
    query_evaluated: int = 0   # sum of ScannedCount: items read before any FilterExpression
    fetched_items: int = 0     # items BatchGetItem (or GetItem) returned: a read by key reads exactly those
    unprocessed: int = 0       # keys a BatchGetItem handed back unprocessed
    batch_items: int = 0       # the BatchGetItem share of fetched_items

    @property
    def returned(self):
        return self.query_returned + self.fetched_items

    @property
    def evaluated(self):
        return self.query_evaluated + self.fetched_items

    @property
    def list_calls(self):
        """Calls for the list itself: not the staff session's or user's GetItem."""
        return self.op_count - self.ops.get("GetItem", 0)

    @property
    def list_items(self):
        return self.query_evaluated + self.batch_items

    @property
    def op_count(self):
        return sum(self.ops.values())

    def ops_text(self):
        return "+".join(f"{n}{OP_ABBREVIATIONS.get(op, op)}" for op, n in sorted(
            self.ops.items(), key=lambda kv: list(OP_ABBREVIATIONS).index(kv[0]) if kv[0] in OP_ABBREVIATIONS
            else len(OP_ABBREVIATIONS))) or "-"

    def figures(self):
        """The list's reads: not the staff session's or user's GetItem, which
        come and go with EMAILHUB_STAFF_CACHE_SECONDS whatever the page."""
        return ({op: n for op, n in self.ops.items() if op != "GetItem"}, self.query_returned,
                self.query_evaluated, self.batch_items)


class ReadMeter:
    """A botocore `after-call.dynamodb` hook on the client Emailhub uses.

    emailhub/aws/clients.py makes each client from its own boto3 Session and
    caches it, so a hook on boto3's default session would see nothing; the
    hook goes on the cached client itself, and `check_client` confirms after
    every page that Emailhub still uses that client (no reset in between).
    `after-call` fires once per API call (after any SDK retry), error or not."""

    def __init__(self):
        self.reads = None
        self.all_ops = Counter()  # every call while attached, measured or not
        self.client = None

    def attach(self):
        self.client = clients.client("dynamodb")
        self.client.meta.events.register("after-call.dynamodb", self._after_call,
                                         unique_id="log-page-reads-meter")
        self.all_ops.clear()

    def check_client(self):
        if clients.client("dynamodb") is not self.client:
            raise RuntimeError("emailhub.aws.clients handed out a new DynamoDB client: the meter is not on it.")

    def _after_call(self, http_response, parsed, model, **kwargs):
        self.all_ops[model.name] += 1
        if self.reads is None:
            return
        reads = self.reads
        reads.ops[model.name] += 1
        if model.name in ("Query", "Scan"):
            reads.query_returned += parsed.get("Count", 0)
            reads.query_evaluated += parsed.get("ScannedCount", 0)
        elif model.name == "BatchGetItem":
            fetched = sum(len(items) for items in parsed.get("Responses", {}).values())
            reads.fetched_items += fetched
            reads.batch_items += fetched
            reads.unprocessed += sum(len(v.get("Keys", [])) for v in parsed.get("UnprocessedKeys", {}).values())
        elif model.name == "GetItem":
            reads.fetched_items += 1 if parsed.get("Item") else 0

    def start(self):
        self.reads = Reads()

    def stop(self):
        reads, self.reads = self.reads, None
        return reads


METER = ReadMeter()


# --- a faster emulator, same answers ----------------------------------------------

class PartitionedItems:
    """Makes moto's Query on an index cost the partition, not the table.

    moto answers every Query by sorting all the table's items (Table.all_items)
    and then keeping those whose index hash key matches: at 100,000 emails
    (200,000 items) that is seconds per Query, and a run of this benchmark makes
    hundreds. While installed, all_items() is computed once per table until the
    next write, and during an index Query with one hash-key condition it hands
    moto only the items that carry that key value, in the same order. Every
    item left out is one moto's own hash-key check would have dropped, and the
    rest of moto's Query (sort, ExclusiveStartKey, Limit, key and filter
    conditions, projection, Count and ScannedCount) runs unchanged, so the
    answers are the same, only sooner. `--plain-moto` runs without it."""

    def __init__(self):
        self._cache = {}   # id(table) -> (table, all items, {attr: {value: [items]}})
        self._hint = threading.local()
        self._saved = {}

    def install(self):
        accelerator = self
        all_items, query = Table.all_items, Table.query
        self._saved = {(Table, "all_items"): all_items, (Table, "query"): query}

        def cached_all_items(table):
            entry = accelerator._cache.get(id(table))
            if entry is None or entry[0] is not table:
                entry = accelerator._cache[id(table)] = (table, all_items(table), {})
            hint = getattr(accelerator._hint, "value", None)
            if hint is None:
                return list(entry[1])
            attr, value = hint
            buckets = entry[2].get(attr)
            if buckets is None:
                buckets = entry[2][attr] = {}
                for item in entry[1]:
                    found = item.attrs.get(attr)
                    if found:
                        buckets.setdefault(found, []).append(item)
            return list(buckets.get(value, []))

        def hinted_query(table, *args, **kwargs):
            conditions = kwargs.get("hash_key_conditions") or []
            index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
            use = index_name and len(conditions) == 1 and conditions[0][1].type in ("S", "N", "B")
            accelerator._hint.value = conditions[0] if use else None
            try:
                return query(table, *args, **kwargs)
            finally:
                accelerator._hint.value = None

        Table.all_items, Table.query = cached_all_items, hinted_query
        # Any write drops the cache (the measured pages only read).
        for owner, name in ((Table, "put_item"), (Table, "delete_item"), (DynamoDBBackend, "update_item"),
                            (DynamoDBBackend, "transact_write_items")):
            original = getattr(owner, name)
            self._saved[(owner, name)] = original

            def invalidating(*args, _original=original, **kwargs):
                accelerator._cache.clear()
                return _original(*args, **kwargs)

            setattr(owner, name, invalidating)

    def uninstall(self):
        for (owner, name), original in self._saved.items():
            setattr(owner, name, original)
        self._saved.clear()
        self._cache.clear()


# --- the table -----------------------------------------------------------------

def _pick(rng, mix):
    roll, total = rng.random(), 0.0
    for value, share in mix:
        total += share
        if roll < total:
            return value
    return mix[-1][0]


@dataclass
class Email:
    """What the script knows about each email it wrote, to count what a filter should match."""

    status: str
    to: str
    tags: dict
    day: str
    key: str = "bench"


def email_items(index, moment, rng, *, rare_recipient, rare_tag, rare_domain=False, key="bench", search_key=None):
    """The email item and its recipient items, as email_accept would write
    them, then moved to a final status the way the worker leaves them."""
    email_id = model.new_email_id(moment)
    to = RARE_RECIPIENT if rare_recipient else COMMON_RECIPIENTS[rng.randrange(len(COMMON_RECIPIENTS))]
    if rare_domain and not rare_recipient:
        to = f"customer-{index}@{RARE_DOMAIN}"
    tags = {"type": _pick(rng, TYPE_MIX)}
    if rare_tag:
        tags[RARE_TAG[0]] = RARE_TAG[1]
    request = {
        "sender": settings.EMAILHUB_DEFAULT_FROM, "to": [to], "subject": f"Your order #{index} is confirmed",
        "text": f"Thanks for order #{index}. It ships tomorrow.", "tags": tags,
    }
    expires_at = model.epoch(moment + timedelta(days=settings.EMAILHUB_RETENTION_DAYS))
    status = _pick(rng, STATUS_MIX)
    small = companion_items(email_id=email_id, moment=moment, addresses=[to], tags=tags, expires_at=expires_at,
                            status=status, search_key=search_key)
    item = email_item(
        email_id=email_id, moment=moment, summary=_summary(request), expires_at=expires_at,
        payload=payload_store(email_id=email_id, request=request),  # small: inline, no S3 call
        api_key_prefix=key, idempotency_key=None, companions=[c["sk"] for c in small], search_key=search_key,
    )
    later = moment + timedelta(seconds=2)
    if status == model.SENT:
        message_id = f"0100{uuid.uuid4().hex}-000000"
        item.update(attempts=1, ses_message_id=message_id, sent_at=model.iso(later), updated_at=model.iso(later))
        item["events"].append(event("sent", later, attempt=1, ses_message_id=message_id))
    elif status == model.FAILED:
        error = {"code": "MessageRejected", "message": "Email address is not verified.", "kind": "permanent",
                 "attempt": 1, "at": model.iso(later)}
        item.update(attempts=1, last_error=error, failed_at=model.iso(later), updated_at=model.iso(later))
        item["events"].append(event("failed", later, attempt=1, code=error["code"], message=error["message"],
                                    kind="permanent"))
    item["status"] = status
    item["email_status"] = model.sharded(status, email_id)
    return [item, *small], Email(status=status, to=to, tags=tags, day=model.email_created_day(email_id), key=key)


def populate(count, rng, first_day, keys):
    """`count` emails spread evenly over the DAYS whole UTC days from
    `first_day`, so every day partition holds count/DAYS of them whatever the
    hour of the run (today's include hours still to come). Returns what was written."""
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    span = DAYS * 24 * 3600
    rare_recipient = set(rng.sample(range(count), RARE_COUNT))
    rare_tag = set(rng.sample(range(count), RARE_COUNT))
    rare_domain = set(rng.sample(range(count), RARE_COUNT))
    rare_key = set(rng.sample(range(count), RARE_COUNT))
    dynamo, table = clients.client("dynamodb"), settings.EMAILHUB_TABLE
    emails, batch = [], []

    def flush():
        request = {table: [{"PutRequest": {"Item": dynamodb.serialize(i)}} for i in batch]}
        while request:
            request = dynamo.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
        batch.clear()

    for index in range(count):
        moment = start + timedelta(seconds=span * (index + rng.random()) / count)
        key = keys["rare"].prefix if index in rare_key else (
            keys["send"].prefix if rng.random() < SEND_KEY_SHARE else keys["full"].prefix)
        items, email = email_items(index, moment, rng, rare_recipient=index in rare_recipient,
                                   rare_tag=index in rare_tag, rare_domain=index in rare_domain, key=key,
                                   search_key=None if key == keys["full"].prefix else key)
        emails.append(email)
        for item in items:
            batch.append(item)
            if len(batch) == BATCH_WRITE:
                flush()
    if batch:
        flush()
    return emails


# --- the pages -----------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    params: dict = field(default_factory=dict)
    follow_next_of: str = None  # open the "next" link of that scenario's page instead
    api_key: str = None  # GET /emails with this key ("full", "send", "rare"); None: the dashboard's log

    def matches(self, email, keys=None):
        """Does the script's record of an email match this page's filter?"""
        if self.api_key in ("send", "rare") and email.key != keys[self.api_key].prefix:
            return False
        if self.params.get("status") and email.status != self.params["status"]:
            return False
        recipient = self.params.get("recipient")
        if recipient and recipient.endswith("*"):
            if not email.to.startswith(recipient[:-1]):
                return False
        elif recipient and (not email.to.endswith(recipient) if recipient.startswith("@") else email.to != recipient):
            return False
        if self.params.get("tag"):
            name, value = self.params["tag"].split("=", 1)
            if email.tags.get(name) != value:
                return False
        return True


RARE_TAG_TEXT = "=".join(RARE_TAG)
SCENARIOS = [
    Scenario("log, page 1"),
    Scenario("log, page 2 (next link)", follow_next_of="log, page 1"),
    Scenario("status=failed (8%)", {"status": model.FAILED}),
    Scenario("status=sent (90%)", {"status": model.SENT}),
    Scenario("recipient, common (10%)", {"recipient": COMMON_RECIPIENTS[0]}),
    Scenario("recipient, common, page 2", follow_next_of="recipient, common (10%)"),
    Scenario(f"recipient, rare ({RARE_COUNT} emails)", {"recipient": RARE_RECIPIENT}),
    Scenario(f"recipient domain, rare ({RARE_COUNT} emails)", {"recipient": "@" + RARE_DOMAIN}),
    Scenario("tag type=alert (10%)", {"tag": "type=alert"}),
    Scenario("tag type=alert, page 2", follow_next_of="tag type=alert (10%)"),
    Scenario(f"tag, rare ({RARE_COUNT} emails)", {"tag": RARE_TAG_TEXT}),
    Scenario("recipient + status=failed", {"recipient": COMMON_RECIPIENTS[0], "status": model.FAILED}),
    Scenario("recipient, rare + status=sent", {"recipient": RARE_RECIPIENT, "status": model.SENT}),
    Scenario("tag type=alert + status=failed", {"tag": "type=alert", "status": model.FAILED}),
    Scenario("tag, rare + status=sent", {"tag": RARE_TAG_TEXT, "status": model.SENT}),
    Scenario("recipient + tag type=alert", {"recipient": COMMON_RECIPIENTS[0], "tag": "type=alert"}),
    Scenario("recipient + tag + status=failed",
             {"recipient": COMMON_RECIPIENTS[0], "tag": "type=alert", "status": model.FAILED}),
    Scenario("recipient, rare + tag, rare", {"recipient": RARE_RECIPIENT, "tag": RARE_TAG_TEXT}),
    Scenario("recipient domain + status=failed", {"recipient": "@example.com", "status": model.FAILED}),
    Scenario("recipient domain + tag type=alert", {"recipient": "@example.com", "tag": "type=alert"}),
    Scenario("recipient domain + tag + status=failed",
             {"recipient": "@example.com", "tag": "type=alert", "status": model.FAILED}),
    Scenario("address prefix, one common recipient", {"recipient": COMMON_RECIPIENTS[1][:11] + "*"}),
    Scenario("address prefix, rare (3 emails)", {"recipient": RARE_RECIPIENT[:7] + "*"}),
    # The search API (issue #12): the same selector, so the same reads; a `send` key's own emails
    # come from its KEY# items, and a filter beside it reads the key's own copy of that filter's partition.
    Scenario("API full key, page 1", api_key="full"),
    Scenario("API full key, page 2", follow_next_of="API full key, page 1", api_key="full"),
    Scenario("API full key, status=failed", {"status": model.FAILED}, api_key="full"),
    Scenario(f"API full key, tag, rare ({RARE_COUNT} emails)", {"tag": RARE_TAG_TEXT}, api_key="full"),
    Scenario(f"API send key ({SEND_KEY_SHARE:.0%}), page 1", api_key="send"),
    Scenario("API send key, page 2", follow_next_of=f"API send key ({SEND_KEY_SHARE:.0%}), page 1", api_key="send"),
    Scenario(f"API send key, rare ({RARE_COUNT} emails)", api_key="rare"),
    Scenario("API send key + status=failed", {"status": model.FAILED}, api_key="send"),
    Scenario("API send key + recipient", {"recipient": COMMON_RECIPIENTS[0]}, api_key="send"),
    Scenario("API send key + recipient + tag + status=failed",
             {"recipient": COMMON_RECIPIENTS[0], "tag": "type=alert", "status": model.FAILED}, api_key="send"),
    Scenario("API send key + address prefix", {"recipient": COMMON_RECIPIENTS[1][:11] + "*"}, api_key="send"),
    Scenario(f"API send key + tag, rare ({RARE_COUNT} emails)", {"tag": RARE_TAG_TEXT}, api_key="send"),
]
# The target for every page: at most this many items read, in at most this many calls
# (the session's GetItem included), and every match on the first page when fewer than a page match.
TARGET_ITEMS = 2 * PAGE_SIZE
TARGET_CALLS = 3

ROW = re.compile(r'href="/admin/emails/([0-9a-f-]{36})/"')
NEXT = re.compile(r'<a href="([^"]*)">next &rarr;</a>')
ERROR = re.compile(r'class="errornote"|class="errorlist')


@dataclass
class Page:
    reads: Reads
    shown: int
    matching: int
    next_url: str
    elapsed: float


class PageError(Exception):
    pass


def open_page(http, url):
    METER.start()
    began = time.perf_counter()
    try:
        response = http.get(url)
    finally:
        elapsed = time.perf_counter() - began
        reads = METER.stop()
    METER.check_client()
    if response.status_code != 200:
        raise PageError(f"GET {url} answered {response.status_code}")
    body = response.content.decode()
    if ERROR.search(body):
        raise PageError(f"GET {url} showed an error: {body[ERROR.search(body).start():][:300]!r}")
    found = NEXT.search(body)
    return reads, len(ROW.findall(body)), (LOG_URL + html.unescape(found.group(1))) if found else None, elapsed


def open_api_page(http, url, secret):
    """GET /emails as an API client: (reads, rows, the next page's URL or None, seconds)."""
    METER.start()
    began = time.perf_counter()
    try:
        response = http.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
    finally:
        elapsed = time.perf_counter() - began
        reads = METER.stop()
    METER.check_client()
    if response.status_code != 200:
        raise PageError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    body = response.json()
    cursor = body["next_cursor"]
    next_url = f"{url.split('&cursor=')[0]}&{urlencode({'cursor': cursor})}" if cursor else None
    return reads, len(body["data"]), next_url, elapsed


def measure_size(count, seed, shards=1):
    """Fresh emulator, `count` emails written with EMAILHUB_INDEX_SHARDS=`shards`,
    every scenario once. Returns ({scenario: Page}, fill seconds)."""
    settings.EMAILHUB_INDEX_SHARDS = shards
    rng = random.Random(seed)
    today = model.now().date()
    first_day = today - timedelta(days=DAYS - 1)
    with mock_aws():
        settings.AWS_ENDPOINT_URL = None
        settings.AWS_REGION = "us-east-1"
        clients.reset()
        sqs.reset()
        aws_resources_ensure()
        METER.attach()
        keys, secrets = {}, {}
        for role, scope in (("full", "full"), ("send", "send"), ("rare", "send")):
            keys[role], secrets[role] = api_key_create(name=f"bench-{role}", scope=scope)

        began = time.perf_counter()
        emails = populate(count, rng, first_day, keys)
        fill_seconds = time.perf_counter() - began
        print(f"  {count:,} emails and their recipient items written in {fill_seconds:.1f} s "
              f"with {METER.all_ops['BatchWriteItem']:,} BatchWriteItem calls", file=sys.stderr)

        http = Client()
        # Staff and their sessions live in the table: each page also reads its
        # session (one GetItem, counted as G) and, every few seconds, its user.
        http.force_login(staff_create(username="bench", role="viewer", actor="benchmark",
                                      password="bench-only-passphrase")[0])
        dates = {"date_from": first_day.isoformat(), "date_to": today.isoformat()}
        open_page(http, f"{LOG_URL}?{urlencode(dates)}")  # warm-up: templates, lazy imports; not counted
        for secret in secrets.values():  # the key lookups (cached, then) and last_used_at writes: not counted
            open_api_page(http, f"{API_URL}?{urlencode(dates)}", secret)

        pages = {}
        for scenario in SCENARIOS:
            if scenario.follow_next_of:
                url = pages[scenario.follow_next_of].next_url
                if not url:
                    raise PageError(f"{scenario.follow_next_of!r} had no next link at {count:,} emails")
                first = next(s for s in SCENARIOS if s.name == scenario.follow_next_of)
                matching = max(0, sum(1 for e in emails if first.matches(e, keys)) - PAGE_SIZE)
            elif scenario.api_key:
                url = f"{API_URL}?{urlencode({**dates, **scenario.params, 'limit': PAGE_SIZE})}"
                matching = sum(1 for e in emails if scenario.matches(e, keys))
            else:
                url = f"{LOG_URL}?{urlencode({**dates, **scenario.params, 'size': PAGE_SIZE})}"
                matching = sum(1 for e in emails if scenario.matches(e, keys))
            if scenario.api_key:
                reads, shown, next_url, elapsed = open_api_page(http, url, secrets[scenario.api_key])
            else:
                reads, shown, next_url, elapsed = open_page(http, url)
            pages[scenario.name] = Page(reads=reads, shown=shown, matching=matching, next_url=next_url,
                                        elapsed=elapsed)
        clients.reset()
        sqs.reset()
    return pages, fill_seconds


# --- report --------------------------------------------------------------------

def label(column):
    size, shards = column
    return f"{size:,}" + (f" ({shards} shards)" if shards > 1 else "")


def verdict(results, sizes):
    """(same, costlier, cheaper) lists of scenario names, comparing the
    smallest size with the largest (unsharded)."""
    small, large = results[sizes[0]], results[sizes[-1]]
    same, costlier, cheaper = [], [], []
    for scenario in SCENARIOS:
        a, b = small[scenario.name].reads, large[scenario.name].reads
        if a.figures() == b.figures():
            same.append(scenario.name)
        elif (b.list_items, b.list_calls) > (a.list_items, a.list_calls):
            costlier.append(scenario.name)
        else:
            cheaper.append(scenario.name)
    return same, costlier, cheaper


def report(results, columns, fills):
    sizes = [c for c in columns if c[1] == 1]  # the targets and the size comparison are unsharded
    name_width = max(len(s.name) for s in SCENARIOS)
    columns_ = columns
    columns = [("ops", 8), ("returned", 8), ("evaluated", 9), ("shown", 16)]
    block = sum(w for _, w in columns) + 2 * (len(columns) - 1)
    print()
    print(f"Email log pages (GET {LOG_URL} as a staff viewer; \"API\": GET {API_URL} with an API key; "
          f"{PAGE_SIZE} per page, the last {DAYS} days): DynamoDB reads per page, in-process moto.")
    print(f"Emails spread evenly over {DAYS} UTC days; statuses "
          + ", ".join(f"{share:.0%} {s}" for s, share in STATUS_MIX) + f"; {len(COMMON_RECIPIENTS)} common "
          f"recipients, tag type=" + "/".join(f"{t} {share:.0%}" for t, share in TYPE_MIX)
          + f"; {RARE_COUNT} emails to {RARE_RECIPIENT}, {RARE_COUNT} tagged {'='.join(RARE_TAG)} at every size; "
          f"{SEND_KEY_SHARE:.0%} sent with a `send` key, {RARE_COUNT} with another (\"rare\").")
    print()
    print(f"{'':{name_width}}" + "".join(f" | {label(column) + ' emails':^{block}}" for column in columns_))
    print(f"{'page':{name_width}}" + " | ".join([""] + ["  ".join(f"{c:>{w}}" for c, w in columns)] * len(columns_)))
    print("-" * name_width + ("-+-" + "-" * block) * len(columns_))
    for scenario in SCENARIOS:
        cells = []
        for size in columns_:
            page = results[size][scenario.name]
            values = [page.reads.ops_text(), f"{page.reads.returned:,}", f"{page.reads.evaluated:,}",
                      f"{page.shown} of {page.matching:,}"]
            cells.append("  ".join(f"{v:>{w}}" for v, (_, w) in zip(values, columns)))
        print(f"{scenario.name:{name_width}} | " + " | ".join(cells))
    print()
    print("ops: DynamoDB calls (Q Query, BG BatchGetItem, G GetItem). returned: items the calls returned "
          "(Query Count + BatchGetItem items).")
    print("evaluated: items DynamoDB read for them (Query ScannedCount, before any FilterExpression, "
          "+ BatchGetItem items). shown: rows on the page of the emails matching the filter.")
    print()
    for scenario in SCENARIOS:
        parts = []
        for size in columns_:
            page = results[size][scenario.name]
            q = page.reads.ops.get("Query", 0)
            detail = f"{page.reads.query_returned:,}/{page.reads.query_evaluated:,} returned/evaluated in {q} Q"
            if page.reads.fetched_items:
                detail += f", {page.reads.fetched_items:,} by BG"
            parts.append(f"{label(size)}: {detail}, {page.elapsed * 1000:,.0f} ms")
        print(f"  {scenario.name:{name_width}}  " + "; ".join(parts))
    print("  (ms: wall time of the request, emulator included; for information only)")
    print("  fill: " + "; ".join(f"{label(size)} emails in {fills[size]:.1f} s" for size in columns_))

    scans = {size: sum(p.reads.ops.get("Scan", 0) for p in results[size].values()) for size in columns_}
    unprocessed = sum(p.reads.unprocessed for size in columns_ for p in results[size].values())
    same, costlier, cheaper = verdict(results, sizes)
    print()
    if unprocessed:
        print(f"Note: BatchGetItem returned {unprocessed} unprocessed keys in all (retried by the code).")
    for size in columns_:
        for scenario in SCENARIOS:
            page = results[size][scenario.name]
            if page.shown < min(PAGE_SIZE, page.matching):
                print(f"SHORT PAGE at {label(size)}: {scenario.name} shows {page.shown} of the {page.matching:,} "
                      f"matching emails after {page.reads.ops_text()}"
                      + (" and offers 'next'" if page.next_url else " and offers no 'next'"))
    misses = []
    for size in sizes:
        for scenario in SCENARIOS:
            page = results[size][scenario.name]
            reads = page.reads
            if reads.list_items > TARGET_ITEMS or reads.list_calls > TARGET_CALLS or \
                    (page.matching <= PAGE_SIZE and page.shown < page.matching):
                misses.append(scenario.name)
                print(f"MISS at {label(size)}: {scenario.name}: {reads.list_calls} calls, {reads.list_items:,} items "
                      f"read for the list, {page.shown} of {page.matching:,} shown (target <= {TARGET_ITEMS} items "
                      f"in <= {TARGET_CALLS} calls, every match on page 1 when fewer than a page)")
    print(f"Target met by {len(SCENARIOS) * len(sizes) - len(misses)} of {len(SCENARIOS) * len(sizes)} "
          f"pages (<= {TARGET_ITEMS} items read in <= {TARGET_CALLS} calls for the list; the staff session's "
          "and user's GetItems, the same on every page, are not counted).")
    for name in costlier:
        a, b = results[sizes[0]][name].reads, results[sizes[-1]][name].reads
        print(f"COSTLIER at {label(sizes[-1])}: {name}: {a.ops_text()} -> {b.ops_text()}, "
              f"read for the list {a.list_items:,} -> {b.list_items:,}")
    for name in cheaper:
        a, b = results[sizes[0]][name].reads, results[sizes[-1]][name].reads
        print(f"cheaper at {label(sizes[-1])}: {name}: {a.ops_text()} -> {b.ops_text()}, "
              f"read for the list {a.list_items:,} -> {b.list_items:,}")
    if costlier or cheaper:
        print("Why a page's reads can differ between sizes: benchmarks/README.md, \"What it shows today\".")
    for column in columns_:
        if column[1] > 1:
            base = results[(column[0], 1)] if (column[0], 1) in results else None
            print(f"With {column[1]} index shards at {column[0]:,} emails (information; the targets are for one): "
                  + ", ".join(f"{name} {page.reads.ops_text()}"
                              + (f" (1 shard: {base[name].reads.ops_text()})" if base else "")
                              for name, page in list(results[column].items())[:4]) + ", ...")
    for size in columns_:
        if scans[size]:
            print(f"FAIL  {scans[size]} Scan(s) at {label(size)} emails")
    if len(sizes) > 1:
        print(f"Same reads at {label(sizes[0])} and {label(sizes[-1])} emails for {len(same)} of {len(SCENARIOS)} pages"
              + (f" ({', '.join(same)})" if same else "") + "; "
              + (f"costlier at {label(sizes[-1])} for {len(costlier)}, " if costlier else "")
              + (f"cheaper at {label(sizes[-1])} for {len(cheaper)}; " if cheaper else "")
              + ("no Scan." if not any(scans.values()) else "Scans happened (see FAIL)."))
    else:
        print(f"One size only: nothing to compare; {'no Scan' if not any(scans.values()) else 'Scans happened'}.")
    return not any(scans.values())


def parse_sizes(text):
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or any(size < 2 * PAGE_SIZE for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be at least {2 * PAGE_SIZE} (a second page to open)")
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 100000],
                        help="comma-separated table sizes in emails (default 1000,100000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the population's random choices (default 7)")
    parser.add_argument("--plain-moto", action="store_true",
                        help="answer Queries with moto as it is (slow at 100,000: it sorts the whole table per "
                             "Query), to check the figures do not depend on the speed-up")
    parser.add_argument("--shards", type=lambda text: [int(n) for n in text.split(",")], default=[1, 8],
                        help="EMAILHUB_INDEX_SHARDS values to compare (default 1,8); those above 1 run at the "
                             "first size only")
    args = parser.parse_args(argv)
    accelerator = None if args.plain_moto else PartitionedItems()
    if accelerator:
        accelerator.install()
    try:
        results, fills = {}, {}
        columns = [(size, 1) for size in args.sizes] + [(args.sizes[0], n) for n in args.shards if n > 1]
        for column in columns:
            print(f"Measuring {label(column)} emails...", file=sys.stderr)
            results[column], fills[column] = measure_size(column[0], args.seed, shards=column[1])
        ok = report(results, columns, fills)
    except PageError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    finally:
        if accelerator:
            accelerator.uninstall()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
