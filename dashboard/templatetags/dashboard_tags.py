"""Template filters the dashboard's pages share.

Every time on the dashboard is UTC, written one way (`2026-05-04 09:30:12`)
inside a <time> element; the navigation says "Times are UTC" once."""

from datetime import datetime, timezone

from django import template
from django.utils.html import format_html

register = template.Library()

FORMAT = "%Y-%m-%d %H:%M:%S"


def as_utc(value):
    """An ISO timestamp string (as DynamoDB stores them) or a datetime, as an
    aware UTC datetime; None when it is neither."""
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(when, datetime):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


@register.filter
def utc(value):
    if not value:
        return ""
    when = as_utc(value)
    if when is None:
        return value
    return format_html('<time datetime="{}">{}</time>', when.strftime("%Y-%m-%dT%H:%M:%SZ"), when.strftime(FORMAT))


@register.filter
def words(value):
    """An SES status constant (NOT_STARTED, TEMPORARY_FAILURE) in words."""
    return str(value or "").replace("_", " ").lower()
