"""The suppression list over the API: list, read, add, remove. The same
services as the dashboard's page (emailhub/suppression.py), audited with
the API key as the actor. Only a `full` key may use them (403 otherwise)."""

from typing import Optional

from django.urls import register_converter
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from emailhub import examples, model
from emailhub.addresses import InvalidAddress, parse_mailbox
from emailhub.api import AUTH_CODES, ApiError, ApiKeyAuth, _examples
from emailhub.api.cursors import InvalidCursor, cursor_open, cursor_sign
from emailhub.apikeys import api_key_require_full
from emailhub.audit import audit_record
from emailhub.errors import NotFound
from emailhub.schemas import (
    _CONTROL, DEFAULT_PAGE, MAX_PAGE, ErrorOut, SuppressionIn, SuppressionOut, SuppressionPageOut,
)
from emailhub.suppression import suppression_add, suppression_get, suppression_list, suppression_remove

router = Router(tags=["suppressions"])
MAX_ADDRESS_CHARS = 320  # 64 for the local part, @, 255 for the domain
_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 503: ErrorOut}
_ADDRESS_CODES = ["invalid_address", "field_too_long", "control_character"]
_CODES = {**AUTH_CODES, 403: ["insufficient_scope"]}


class _AnyText:
    """Everything after /suppressions/, line breaks and slashes included (an
    address may hold a '/'): what is wrong with it is then a 400 that says
    so, not a bare 404 for a path that matched no route."""

    regex = r"[\s\S]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(_AnyText, "anytext")


class SuppressionListIn(Schema):
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Addresses per page.",
                       json_schema_extra={"example": DEFAULT_PAGE})
    cursor: Optional[str] = Field(None, description="`next_cursor` of the previous page; empty or left out for "
                                  "the first page.", json_schema_extra={"example": ""})


def _address(value):
    """The address in the path (URL-decoded by then), as the list stores it."""
    if len(value) > MAX_ADDRESS_CHARS:
        raise ApiError(400, "field_too_long", f"An address is at most {MAX_ADDRESS_CHARS} characters.", "address")
    if _CONTROL.search(value) or "\r" in value or "\n" in value:
        raise ApiError(400, "control_character", "Control characters are not allowed in an address.", "address")
    try:
        mailbox = parse_mailbox(value)
    except InvalidAddress as err:
        raise ApiError(400, "invalid_address", str(err), "address") from err
    if mailbox.name or "<" in value:
        raise ApiError(400, "invalid_address", "Give the bare address (alice@example.com), without a name.",
                       "address")
    return mailbox.address.lower()


def _entry(item):
    return {"address": item["address"], "reason": item["reason"], "created_at": item["created_at"],
            "source_email_id": item.get("source_email_id"), "added_by": item.get("added_by")}


def _full_key(request):
    api_key_require_full(api_key=request.auth)
    return request.auth


ADDRESS = Path(..., description="The address, URL-encoded (alice%40example.com or alice@example.com).",
               example=examples.SUPPRESSED_ADDRESS)


@router.get("suppressions", auth=ApiKeyAuth(), response={200: SuppressionPageOut, **_ERRORS},
            summary="The suppression list, newest first", operation_id="list_suppressions",
            openapi_extra=_examples(examples.LIST_SUPPRESSIONS,
                                    codes={**_CODES, 400: ["invalid_cursor", "invalid_field"]}))
def list_suppressions(request, query: Query[SuppressionListIn]):
    key = _full_key(request)
    made_for = {"op": "list_suppressions", "key": key.prefix}
    try:
        start_key = cursor_open(query.cursor, made_for=made_for)
    except InvalidCursor as err:
        raise ApiError(400, "invalid_cursor", str(err), "cursor") from err
    items, next_key = suppression_list(limit=query.limit, start_key=start_key)
    return {"data": [_entry(item) for item in items],
            "next_cursor": cursor_sign(position=next_key, made_for=made_for) if next_key else None}


@router.get("suppressions/{anytext:address}", auth=ApiKeyAuth(), response={200: SuppressionOut, 404: ErrorOut, **_ERRORS},
            summary="Whether an address is suppressed, and why", operation_id="get_suppression",
            openapi_extra=_examples(examples.GET_SUPPRESSION,
                                    codes={**_CODES, 400: _ADDRESS_CODES, 404: ["not_found"]}))
def get_suppression(request, address: str = ADDRESS):
    _full_key(request)
    address = _address(address)
    item = suppression_get(address=address)
    if item is None:
        raise NotFound(f"{address} is not on the suppression list.")
    return _entry(item)


@router.put("suppressions/{anytext:address}", auth=ApiKeyAuth(),
            response={200: SuppressionOut, 201: SuppressionOut, 413: ErrorOut, **_ERRORS},
            summary="Suppress an address (201; 200 if it already was)", operation_id="put_suppression",
            openapi_extra=_examples(examples.PUT_SUPPRESSION, links={201: {
                "GetSuppression": {"operationId": "get_suppression",
                                   "parameters": {"address": "$response.body#/address"}},
                "DeleteSuppression": {"operationId": "delete_suppression",
                                      "parameters": {"address": "$response.body#/address"}}}},
                codes={**_CODES, 413: ["payload_too_large"], 400: _ADDRESS_CODES + [
                    "malformed_json", "unknown_field", "invalid_field", "header_injection"]}))
def put_suppression(request, payload: SuppressionIn, address: str = ADDRESS):
    """Emailhub refuses emails to a suppressed address (422
    `suppressed_recipient`). An address already on the list keeps its
    first reason."""
    key = _full_key(request)
    address = _address(address)
    added = suppression_add(address=address, reason=payload.reason, actor=key.actor)
    audit_record(actor=key.actor, action="suppression.add", target=address,
                 outcome="added" if added else "already suppressed")
    # Read back for the first reason when it was already there (or removed again meanwhile: then as given).
    item = suppression_get(address=address) or {"address": address, "reason": payload.reason,
                                                 "created_at": model.iso(model.now()), "added_by": key.actor}
    return Status(201 if added else 200, _entry(item))


@router.delete("suppressions/{anytext:address}", auth=ApiKeyAuth(), response={204: None, 404: ErrorOut, **_ERRORS},
               summary="Let an address receive email again", operation_id="delete_suppression",
               openapi_extra=_examples(examples.DELETE_SUPPRESSION,
                                    codes={**_CODES, 400: _ADDRESS_CODES, 404: ["not_found"]}))
def delete_suppression(request, address: str = ADDRESS):
    key = _full_key(request)
    address = _address(address)
    removed = suppression_remove(address=address)
    audit_record(actor=key.actor, action="suppression.remove", target=address,
                 outcome="removed" if removed else "was not suppressed")
    if not removed:
        raise NotFound(f"{address} is not on the suppression list.")
    return Status(204, None)
