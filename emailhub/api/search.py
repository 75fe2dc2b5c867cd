"""GET /emails: the dashboard log's search for API clients, on the same
selector (selectors.email_log_page), so it costs what a log page costs:
about one page of reads, never a Scan, whatever the table holds."""

from dataclasses import asdict
from datetime import date, timedelta
from typing import Literal, Optional

from ninja import Query, Router, Schema
from pydantic import Field

from emailhub import examples, model
from emailhub.api import AUTH_CODES, ApiError, ApiKeyAuth, _examples
from emailhub.api.cursors import InvalidCursor, cursor_open, cursor_sign
from emailhub.schemas import _TAG, DEFAULT_PAGE, MAX_PAGE, EmailPageOut, ErrorOut
from emailhub.selectors import (
    MAX_RANGE_DAYS, LogFilter, email_list_record, email_search, recipient_filter_parse, tag_filter_parse,
)

router = Router(tags=["emails"])
DEFAULT_RANGE_DAYS = 7  # as the dashboard's log: the last seven days


class EmailSearchIn(Schema):
    status: Optional[Literal[model.STATUSES]] = Field(None, description="Only emails in this status.",
                                                      json_schema_extra={"example": "delivered"})
    recipient: Optional[str] = Field(None, max_length=320, description="A to, cc or bcc address, or @domain for "
                                     "every recipient at a domain.",
                                     json_schema_extra={"example": "alice@example.com"})
    tag: Optional[str] = Field(None, max_length=513, description="A tag as name=value.",
                               json_schema_extra={"example": "type=order"})
    date_from: Optional[date] = Field(None, description="First day (UTC), inclusive; default six days before "
                                      "date_to.", json_schema_extra={"example": "2026-11-21"})
    date_to: Optional[date] = Field(None, description="Last day (UTC), inclusive; default today.",
                                    json_schema_extra={"example": "2026-11-27"})
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Emails per page.",
                       json_schema_extra={"example": DEFAULT_PAGE})
    cursor: Optional[str] = Field(None, description="`next_cursor` of the previous page; empty or left out for "
                                  "the first page.", json_schema_extra={"example": ""})


def _log_filter(query, today):
    date_to = query.date_to or today
    date_from = query.date_from or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if date_from > date_to:
        raise ApiError(400, "invalid_date_range", "date_from is after date_to.", "date_from")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise ApiError(400, "invalid_date_range", f"Search at most {MAX_RANGE_DAYS} days at a time.", "date_from")
    recipient = domain = prefix = tag = None
    if query.recipient:
        try:
            recipient, domain, prefix = recipient_filter_parse(query.recipient)
        except ValueError as err:
            raise ApiError(400, "invalid_address", str(err), "recipient") from err
    if query.tag:
        try:
            tag = tag_filter_parse(query.tag)
        except ValueError as err:
            raise ApiError(400, "invalid_tag", str(err), "tag") from err
        if not all(_TAG.match(part) for part in tag):
            raise ApiError(400, "invalid_tag", "Tag names and values are 1-256 letters, digits, '_' or '-'.", "tag")
    return LogFilter(date_from=date_from, date_to=date_to, status=query.status, recipient=recipient,
                     recipient_domain=domain, recipient_prefix=prefix, tag=tag)


@router.get("emails", auth=ApiKeyAuth(), response={200: EmailPageOut, 400: ErrorOut, 401: ErrorOut, 503: ErrorOut},
            summary="Search the emails sent, newest first", operation_id="search_emails",
            openapi_extra=_examples(examples.SEARCH_EMAILS, codes={**AUTH_CODES, 400: [
                "invalid_cursor", "invalid_date_range", "invalid_address", "invalid_tag", "invalid_field",
                "field_too_long"]}))
def search_emails(request, query: Query[EmailSearchIn]):
    """The dashboard log's filters, combinable. A `send` key finds only the
    emails sent with it. Each page answers `next_cursor` until the last; a
    cursor works only with the filters (and key) it was made with."""
    log_filter = _log_filter(query, model.now().date())
    made_for = {"op": "search_emails", "filter": asdict(log_filter), "key": request.auth.prefix}
    try:
        position = cursor_open(query.cursor, made_for=made_for)
    except InvalidCursor as err:
        raise ApiError(400, "invalid_cursor", str(err), "cursor") from err
    emails, next_position = email_search(log_filter=log_filter, api_key=request.auth, position=position,
                                         size=query.limit)
    return {"data": [email_list_record(email=e) for e in emails],
            "next_cursor": cursor_sign(position=next_position, made_for=made_for) if next_position else None}
