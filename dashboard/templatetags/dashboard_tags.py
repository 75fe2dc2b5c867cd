"""Template filters the dashboard's pages share.

Every time on the dashboard is UTC, written one way (`2026-05-04 09:30:12`)
inside a <time> element; the navigation says "times in UTC" once."""

from datetime import datetime, timezone

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def utc(value):
    """An ISO timestamp string (as DynamoDB stores them) or a datetime, as UTC."""
    if not value:
        return ""
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(when, datetime):
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone(timezone.utc)
    return format_html('<time datetime="{}">{}</time>', when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       when.strftime("%Y-%m-%d %H:%M:%S"))
