"""Structured logs: one JSON object per line, for CloudWatch Logs Insights.

`JsonFormatter` (settings.LOGGING) turns every record into
{"time", "level", "logger", "event", "message", ...fields}. The fields come
from two places: the context of the unit of work in progress (`log_context`:
the Lambda request id, the email id, the API key prefix or the staff user)
and the record's own `extra={"fields": {...}}` (`log_event` puts them there).

Addresses are personal data: at INFO and above they are masked
(`a***@example.com`) unless EMAILHUB_LOG_ADDRESSES is "full"; email bodies
are never logged."""

import contextvars
import json
import logging
import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone

_context = contextvars.ContextVar("emailhub_log_context", default={})

# What a line may carry besides time/level/logger/event/message.
FIELDS = ("lambda_request_id", "worker", "message_id", "email_id", "api_key_prefix", "staff_user", "method",
          "path", "status", "outcome", "duration_ms", "receive_count", "error_code")

# CloudWatch Logs takes events up to 256 KB; a traceback fits in this easily.
MAX_MESSAGE_CHARS = 32_000

_ADDRESS = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")


def mask_addresses(text):
    """alice@example.com -> a***@example.com: the domain says where a problem
    is, the person stays out of the log."""
    return _ADDRESS.sub(r"\1***@\2", text)


def _addresses_shown():
    try:
        from django.conf import settings

        return getattr(settings, "EMAILHUB_LOG_ADDRESSES", "masked") == "full"
    except Exception:  # noqa: BLE001 - logging before settings exist
        return False


class JsonFormatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage()
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or record.name,
        }
        line.update({k: v for k, v in _context.get().items() if v is not None})
        line.update({k: v for k, v in (getattr(record, "fields", None) or {}).items() if v is not None})
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if record.levelno >= logging.INFO and not _addresses_shown():
            message = mask_addresses(message)
            line = {k: mask_addresses(v) if isinstance(v, str) else v for k, v in line.items()}
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + f"… ({len(message)} characters)"
        line["message"] = message
        # ASCII only: a raw U+2028 or NUL would split or end the line for some readers.
        return json.dumps(line, default=str)


def log_context_get():
    return dict(_context.get())


@contextmanager
def log_context(**fields):
    """Fields every line logged inside the block carries (nested blocks add to them)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_add(**fields):
    """Add fields to the current block's context (found out part-way, like an email id)."""
    _context.set({**_context.get(), **fields})


def log_event(logger, event, message="", *, level=logging.INFO, **fields):
    """One structured line: `event` names what happened, `fields` add detail."""
    logger.log(level, message or event, extra={"event": event, "fields": fields}, stacklevel=2)


def elapsed_ms(started):
    return round((time.monotonic() - started) * 1000, 1)
