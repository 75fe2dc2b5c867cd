"""The DynamoDB data model: one table, its keys, indexes and statuses.

Access patterns and the key or index that serves each (never a Scan):
- an email by id ..................... pk=EMAIL#<id>, sk=EMAIL
- emails by status over time ......... email-status-index: email_status=<status>, created_at
- all emails over time ............... feed-index:   feed=EMAILS, created_at
- emails by recipient ................ recipient-index on RCPT items: rcpt=<address>, created_at
- emails by recipient address prefix . recipient-prefix-index on RCPT items: rcpt_prefix=<first 2 characters>,
                                       rcpt_order=<address>#<created_at inverted> (by address, newest first)
- emails by tag ...................... tag-index on TAG items: tag=<name>=<value>, created_at
- emails by recipient domain ......... recipient-domain-index on DOM items: rcpt_domain=<domain>, created_at
- ... by recipient or domain and tag . tag-index on combination items: tag=RCPT#<address>#TAG#<name>=<value>
                                       (or DOM#<domain>#TAG#...), and the wildcard TAG#* of emails with more
                                       combinations than COMBINATIONS_PER_EMAIL (their tags checked on the email)
- any of those and a status .......... match-status-index on the same items: match_status=<sk>#<status>
- an email by SES message id ......... ses-message-index: ses_message_id
- a `send` key's own emails .......... tag-index on its KEY#<prefix> items (match-status-index with a status);
                                       with any other filter, the key's copies of the small items
                                       (KEY#<prefix>#<sk>, every partition key prefixed the same way)
- idempotency records ................ pk=IDEM#<key prefix>#<key>
- API keys by prefix / all keys ...... pk=APIKEY#<prefix>; feed-index: feed=APIKEY
- webhook endpoints / all of them .... pk=WEBHOOK#<id>; feed-index: feed=WEBHOOK (emailhub/webhooks/endpoints.py)
- a webhook delivery ................. pk=WHDEL#<endpoint id>#<event id>
- an endpoint's deliveries by day .... feed-index: feed=WHDEL#<endpoint id>#<day>, created_at
- webhook events not yet queued ...... feed-index: feed=WHUNSENT (emailhub/webhooks/enqueue.py)
- scheduled emails due by a minute ... schedule-index (sparse): schedule_bucket=<YYYY-MM-DDTHH:MM>, send_at
A status, like every other partition, is read with a date range on its sort
key, so a rare status is one Query at any table size. (Partitions per day
would not cool anything: all of today's writes land in today's.) What does
spread writes is EMAILHUB_INDEX_SHARDS: with N, every index partition key
of an email's items (not the ids, nor the SES message id) gets the suffix
#<shard> (shard 0: none), and readers Query every shard and merge. Only
email items carry `email_status` (a sparse index): the small items carry
`status` too, for their own keys.

The small items (RCPT#<address>, DOM#<domain>, TAG#<name>=<value> and the
combinations <RCPT or DOM sk>#TAG#<name>=<value>) live beside the email
item (same pk) and are written in the accept transaction; the email item lists
their sort keys in `companions`. They carry the email's status
(`match_status` = <sk>#<status>), moved in the same transaction as every
status change except the claim into `sending` (see emails.email_transition):
while an email is being sent its small items keep the status it was claimed
from.
A `send` key sees only the emails sent with it (`GET /emails`). So an email
sent with a `send` key also gets a KEY#<prefix> item and a copy of each of its
small items whose sort key and index partition keys are prefixed with
KEY#<prefix># (model.key_scoped): every filter a `send` key asks for is then
one partition, as for the dashboard, whatever other keys send. The email
item names that key in `search_key`. `full` keys see every email and get no
copies. (The api-key-index of the first scoped release filtered a key's
entries by status: its reads grew with the key's emails.)
Every item carries `expires_at` (epoch seconds), the table's TTL attribute;
so an email's own deadline (the API's `expires_at`) is stored as `send_by`.

Scheduled emails: `send_at` (ISO, UTC) is when it may be sent. An email due
more than SQS's 15-minute delay away carries `schedule_bucket`, the minute of
its send_at, which puts it in the sparse schedule-index; the scheduler's tick
Queries only the buckets that are due and removes the attribute when it hands
the email to the outbox, so the index holds only emails still waiting.
"""

import os
import time
import uuid
from datetime import datetime, timezone

QUEUED = "queued"
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
FAILED = "failed"
DEFERRED = "deferred"    # the account's 24-hour SES quota is used up: sent when it frees
DELIVERED = "delivered"  # SES events: the receiving server accepted it
BOUNCED = "bounced"      # a hard (permanent) bounce
COMPLAINED = "complained"
DISCARDED = "discarded"  # staff removed it from the dead-letter queue without sending
RESENT = "resent"        # staff resent it: a child email (resent_as) carries it on
SCHEDULED = "scheduled"  # waits for its send_at; claimed straight from here once due
CANCELED = "canceled"    # the client canceled it before it was claimed: never sent
EXPIRED = "expired"      # its expires_at passed before it could be sent: never sent
STATUSES = (SCHEDULED, QUEUED, SENDING, RETRYING, DEFERRED, SENT, DELIVERED, BOUNCED, COMPLAINED, FAILED, DISCARDED,
            RESENT, CANCELED, EXPIRED)
CLAIMABLE = (QUEUED, RETRYING, DEFERRED)
IN_FLIGHT = (QUEUED, SENDING, RETRYING, DEFERRED)
# What a client may still cancel: nothing has reached SES and no worker holds
# it (a retry or a deferral, for the quota or paused sending, waits unclaimed;
# the worker's claim is conditional on the status, so a cancel first wins).
CANCELABLE = (SCHEDULED, QUEUED, RETRYING, DEFERRED)
# What may still expire (a worker holding it, `sending`, is past the point of no return).
EXPIRABLE = (SCHEDULED, QUEUED, RETRYING, DEFERRED)

STATUS_INDEX = "email-status-index"
FEED_INDEX = "feed-index"
RECIPIENT_INDEX = "recipient-index"
SES_MESSAGE_INDEX = "ses-message-index"
TAG_INDEX = "tag-index"
MATCH_STATUS_INDEX = "match-status-index"
DOMAIN_INDEX = "recipient-domain-index"
SCHEDULE_INDEX = "schedule-index"
PREFIX_INDEX = "recipient-prefix-index"
# Indexes of earlier releases, deleted by bootstrap_aws once their replacements
# are built (status-index: a partition per status and day; api-key-index: a
# `send` key's emails, replaced by its KEY# items).
RETIRED_INDEXES = ("status-index", "api-key-index")

# What the items of an email written today hold for the log's indexes; an
# email with less is brought up to it by `manage.py backfill_log_index`.
# 2: email_status and feed=EMAILS (one partition each, sharded), DOM, combination and prefix keys.
# 3: a `send` key's KEY# item and its copies of the small items.
LOG_INDEX_VERSION = 3

# Above this many (recipients + domains) × tags, an email gets one wildcard
# combination item per recipient and domain instead of one per pair: an email
# to 50 people with 50 tags would otherwise carry 2,500 small items.
COMBINATIONS_PER_EMAIL = 20
ANY_TAG = "*"
EMAIL_FEED = "EMAILS"  # the feed-index partition of every email (earlier releases: EMAIL#<day>)
PREFIX_LENGTH = 2  # the shortest address prefix the log searches

# Statuses the small items never carry (see emails.email_transition).
NOT_ON_COMPANIONS = (SENDING,)

# What list pages need, copied into the status and feed indexes.
SUMMARY_ATTRIBUTES = [
    "id", "status", "updated_at", "summary", "attempts", "last_error", "ses_message_id",
]


def _index(name, hash_key, range_key=None, projection=None):
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": schema, "Projection": projection or {"ProjectionType": "KEYS_ONLY"}}


def table_spec(name):
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": SUMMARY_ATTRIBUTES}
    companion = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["email_id"]}
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": attr, "AttributeType": "S"}
            for attr in ("pk", "sk", "email_status", "feed", "rcpt", "created_at", "ses_message_id", "tag",
                         "match_status", "rcpt_domain", "rcpt_prefix", "rcpt_order",
                         "schedule_bucket", "send_at")
        ],
        "GlobalSecondaryIndexes": [
            _index(STATUS_INDEX, "email_status", "created_at", include),
            _index(FEED_INDEX, "feed", "created_at", include),
            _index(RECIPIENT_INDEX, "rcpt", "created_at",
                   {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["email_id"]}),
            _index(SES_MESSAGE_INDEX, "ses_message_id"),
            _index(TAG_INDEX, "tag", "created_at", companion),
            _index(MATCH_STATUS_INDEX, "match_status", "created_at", companion),
            _index(DOMAIN_INDEX, "rcpt_domain", "created_at", companion),
            # The tick needs the deadline to expire what is overdue without reading the email.
            _index(SCHEDULE_INDEX, "schedule_bucket", "send_at",
                   {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["id", "send_by"]}),
            # created_at too: a prefix page's date range is a filter, not its sort key.
            _index(PREFIX_INDEX, "rcpt_prefix", "rcpt_order",
                   {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["email_id", "created_at"]}),
        ],
    }


TTL_ATTRIBUTE = "expires_at"


def now():
    return datetime.now(timezone.utc)


def iso(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value):
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def epoch(moment):
    return int(moment.timestamp())


def new_email_id(moment=None):
    """A UUIDv7: time-ordered, and its creation day can be read back from it."""
    millis = int((moment or now()).timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def schedule_bucket(moment):
    """The schedule-index partition of an email due at `moment`: its minute."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def email_created_day(email_id):
    return email_created_hour(email_id)[:10]


def email_created_hour(email_id):
    """"YYYY-MM-DDTHH" of the email's creation, read from its id."""
    millis = uuid.UUID(email_id).int >> 80
    return time.strftime("%Y-%m-%dT%H", time.gmtime(millis / 1000))


def is_email_id(value):
    try:
        return uuid.UUID(value).version == 7 and str(uuid.UUID(value)) == value
    except (ValueError, AttributeError, TypeError):
        return False


def email_key(email_id):
    return f"EMAIL#{email_id}", "EMAIL"


def email_feed(email_id):
    return sharded(EMAIL_FEED, email_id)


def index_shards():
    """EMAILHUB_INDEX_SHARDS, read at call time. Raise it, never lower it:
    emails written under a larger number would sit in shards no longer read."""
    from django.conf import settings

    return max(1, int(getattr(settings, "EMAILHUB_INDEX_SHARDS", 1)))


def sharded(key, email_id):
    """An index partition key in the email's shard: the key itself in shard
    0, so one shard (the default) writes what earlier releases wrote."""
    shard = uuid.UUID(email_id).int % index_shards()  # a UUIDv7's low bits are random
    return key if shard == 0 else f"{key}#{shard}"


def shard_keys(key):
    """The partition key in every shard, for a reader to Query them all."""
    return [key] + [f"{key}#{n}" for n in range(1, index_shards())]


def recipient_sk(address):
    return f"RCPT#{address}"


def domain_sk(domain):
    return f"DOM#{domain}"


def combination_sk(who_sk, tag):
    """A recipient's or domain's small-item sort key with a tag ("name=value", or ANY_TAG)."""
    return f"{who_sk}#TAG#{tag}"


_INVERT = str.maketrans("0123456789", "9876543210")


def recipient_prefix_keys(address, moment):
    """The recipient-prefix-index keys of a recipient item: addresses in
    order, and each address's emails newest first (the digits of created_at
    inverted, so an ascending Query reads them backwards in time)."""
    created = moment if isinstance(moment, str) else iso(moment)
    return {"rcpt_prefix": address[:PREFIX_LENGTH], "rcpt_order": f"{address}#{created.translate(_INVERT)}"}


def address_domain(address):
    return address.rpartition("@")[2].lower()


def key_sk(prefix):
    """The small item that lists an email among its `send` key's own."""
    return f"KEY#{prefix}"


def key_scoped(prefix, value):
    """A `send` key's copy of a small item's sort key or index partition key."""
    return f"{key_sk(prefix)}#{value}"


def tag_sk(name, value):
    return f"TAG#{name}={value}"


def match_status(sk, status):
    """The match-status-index key of a small item whose email has `status`."""
    return f"{sk}#{status}"
