"""Filtered reads of one feed partition (the audit log's month, the
suppression list) on the feed index: still a Query, never a Scan.

DynamoDB applies a filter to each item *after* reading it, so a rare match can
cost many reads: every filtered read here stops after `max_reads` items and
hands back where it stopped, and the pages say so ("search further")."""

from emailhub import model
from emailhub.aws import dynamodb

PAGE = 200


def feed_filtered(*, feed, filter_expression, names=None, values=None, want=PAGE, max_reads=1000,
                  start_key=None):
    """Up to `want` items of `feed`, newest first, that pass the filter, reading
    at most `max_reads` items. Returns (items, next_key or None, items read)."""
    found, reads, position = [], 0, start_key
    while True:
        page_size = min(PAGE, max_reads - reads)
        items, position = dynamodb.query(
            index=model.FEED_INDEX, key_condition="feed = :feed", values={":feed": feed, **(values or {})},
            names=names, filter_expression=filter_expression, limit=page_size, start_key=position)
        reads += page_size
        found.extend(items)
        if not position or len(found) >= want or reads >= max_reads:
            return found[:want], position, reads
