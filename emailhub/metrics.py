"""Metrics as CloudWatch Embedded Metric Format (EMF) log lines.

A line on stdout/stderr whose JSON carries an `_aws.CloudWatchMetrics`
directive becomes a metric in CloudWatch when Lambda ships it to the logs:
no PutMetricData call, nothing added to the send path's AWS calls.

Counts (Accepted, Sent, Failed, Retried, Deferred, Delivered, Bounced,
Complained) and SES call latency are gathered per unit of work
(`metrics_collect()`: one worker batch, one API request) and written as
one line at its end; outside such a block each is written at once.
The alarms (emailhub/alarms.py) read them back by name."""

import contextvars
import json
import logging
import os
import time
from contextlib import contextmanager

NAMESPACE = "Emailhub"
COUNTS = ("Accepted", "Sent", "Failed", "Retried", "Deferred", "Delivered", "Bounced", "Complained")
UNITS = {**{name: "Count" for name in COUNTS}, "SesLatency": "Milliseconds", "OldestMessageAge": "Seconds"}
# EMF allows at most 100 values for one metric in one line.
MAX_VALUES = 100

logger = logging.getLogger("emailhub.metrics")
_buffer = contextvars.ContextVar("emailhub_metrics", default=None)


def function_name():
    """The dimension every metric carries: the stage's Lambda function
    (`emailhub-dev`), or `emailhub-local` off Lambda."""
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "emailhub-local"


def emf_line(values, *, dimensions=None, timestamp_ms=None):
    """The EMF JSON for {metric name: value or [values]} with `dimensions`
    ({name: value}; Function is always one)."""
    dimensions = {"Function": function_name(), **(dimensions or {})}
    document = {
        "_aws": {
            "Timestamp": int(timestamp_ms if timestamp_ms is not None else time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [sorted(dimensions)],
                "Metrics": [{"Name": name, "Unit": UNITS.get(name, "None")} for name in values],
            }],
        },
        **dimensions,
        **values,
    }
    return json.dumps(document, separators=(",", ":"))


def _emit(values, dimensions=None):
    from django.conf import settings

    if values and settings.EMAILHUB_METRICS:
        logger.info(emf_line(values, dimensions=dimensions))


def metric_count(name, amount=1):
    collected = _buffer.get()
    if collected is None:
        _emit({name: amount})
    else:
        collected["counts"][name] = collected["counts"].get(name, 0) + amount


def metric_value(name, value):
    """One sample of a distribution (a latency): all of them kept, up to EMF's 100 a line."""
    collected = _buffer.get()
    if collected is None:
        _emit({name: value})
        return
    samples = collected["values"].setdefault(name, [])
    samples.append(value)
    if len(samples) >= MAX_VALUES:
        _emit({name: list(samples)})
        samples.clear()


def metric_now(name, value, **dimensions):
    """A gauge written at once, with extra dimensions (OldestMessageAge per worker)."""
    _emit({name: value}, dimensions)


@contextmanager
def metrics_collect():
    """Gather the block's metrics into one line, written when it ends."""
    collected = {"counts": {}, "values": {}}
    token = _buffer.set(collected)
    try:
        yield collected
    finally:
        _buffer.reset(token)
        _emit({**collected["counts"], **{k: v for k, v in collected["values"].items() if v}})


def oldest_age_seconds(records, *, now_ms=None):
    """How long the oldest of a batch's SQS records has waited, from the
    SentTimestamp Lambda puts in each record (no call to ask the queue)."""
    stamps = [int(r.get("attributes", {}).get("SentTimestamp") or 0) for r in records]
    stamps = [s for s in stamps if s > 0]
    if not stamps:
        return None
    now_ms = now_ms if now_ms is not None else time.time() * 1000
    return max(0.0, round((now_ms - min(stamps)) / 1000, 3))
