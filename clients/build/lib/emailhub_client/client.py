"""Emailhub: the API's operations as methods, over one requests.Session."""

import base64
import time
import uuid
from datetime import date, datetime, timezone
from urllib.parse import quote

import requests

from emailhub_client import __version__
from emailhub_client.errors import EmailhubConnectionError, NotFoundError, error_from_response
from emailhub_client.models import Accepted, BatchResult, Email, EmailPage, Suppression, SuppressionPage
from emailhub_client.retries import RETRIED_EXCEPTIONS, RETRY_STATUSES, RetryPolicy, may_have_been_sent

# Keyword fields of send() whose names are Python keywords or differ from the API's.
_FIELD_NAMES = {"from_": "from", "sender": "from"}
_INSTANTS = ("send_at", "expires_at")


def _instant(value):
    """A datetime as the API takes it (ISO 8601 with an offset); strings pass as given."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("send_at/expires_at need a timezone: give an aware datetime "
                             "(datetime.now(timezone.utc) + ...), or an ISO 8601 string with an offset.")
        return value.isoformat()
    return value


def _day(value):
    """A day filter of GET /emails (UTC days): a date, a datetime (its UTC day) or "YYYY-MM-DD"."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Give a date, a datetime or 'YYYY-MM-DD', not {type(value).__name__}.")


def _attachment(item):
    """An attachment whose content may be given as bytes: the API takes base64 text."""
    if isinstance(item, dict) and isinstance(item.get("content"), (bytes, bytearray)):
        return {**item, "content": base64.b64encode(item["content"]).decode("ascii")}
    return item


def email_body(message=None, **fields):
    """POST /send-email's JSON body from a dict (keys as the API spells them)
    and/or keyword fields (`from_` for "from"); keyword fields win."""
    body = dict(message or {})
    for name, value in fields.items():
        body[_FIELD_NAMES.get(name, name)] = value
    for name in _INSTANTS:
        if name in body:
            body[name] = _instant(body[name])
    if body.get("attachments"):
        body["attachments"] = [_attachment(a) for a in body["attachments"]]
    return body


class Emailhub:
    """A client of one Emailhub deployment.

    api_key: the key ("eh_...") sent as `Authorization: Bearer`.
    base_url: where the API is, e.g. "https://mail.example.com" or an API Gateway URL with its stage.
    timeout: seconds to wait to connect and for each read (a number, or a (connect, read) pair).
    max_retries: how many times a retryable failure is tried again (0: never); see retries.py.

    Thread safety: a requests.Session shares its connection pool between threads;
    one client per thread (or per process) is the safe way.
    """

    def __init__(self, api_key, base_url="http://127.0.0.1:8000", timeout=10.0, max_retries=3, *,
                 backoff_base=0.5, backoff_max=8.0, retry_after_max=30.0, session=None):
        if not api_key:
            raise ValueError("api_key is required (an Emailhub API key, eh_...).")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_policy = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base,
                                        backoff_max=backoff_max, retry_after_max=retry_after_max)
        self.session = session or requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {api_key}", "Accept": "application/json",
            "User-Agent": f"emailhub-client/{__version__} {requests.utils.default_user_agent()}",
        })
        self._sleep = time.sleep  # tests replace it to see the waits without waiting

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"Emailhub(base_url={self.base_url!r})"

    # --- sending ----------------------------------------------------------------
    # POST is not safe to repeat by itself: each attempt carries the same
    # Idempotency-Key, so the server answers a repeat with the first answer.

    def send(self, message=None, /, *, idempotency_key=None, **fields):
        """Send one email: `message` is POST /send-email's JSON body (a dict),
        or give its fields as keywords (`from_` for "from"). send_at and
        expires_at may be aware datetimes, attachment contents bytes.
        Returns Accepted (`.id`, `.status`: "queued" or "scheduled")."""
        key = idempotency_key or str(uuid.uuid4())
        response = self._request("POST", "/send-email", json=email_body(message, **fields),
                                 headers={"Idempotency-Key": key}, idempotency_key=key)
        accepted = Accepted.from_json(response.json())
        accepted.idempotency_key, accepted.replayed = key, _replayed(response)
        return accepted

    def send_batch(self, emails, mode="strict", idempotency_key=None):
        """Send up to 100 emails in one request (each a dict as send() takes).
        strict: one invalid email and nothing is accepted (ValidationError
        `invalid_batch`, its `.errors` list each invalid index). permissive:
        the valid ones are accepted; `data[i]` has the id or the error of email i."""
        key = idempotency_key or str(uuid.uuid4())
        body = {"mode": mode, "emails": [email_body(e) for e in emails]}
        response = self._request("POST", "/emails/batch", json=body, headers={"Idempotency-Key": key},
                                 idempotency_key=key)
        return BatchResult.from_json(response.json(), idempotency_key=key, replayed=_replayed(response))

    # --- reading ----------------------------------------------------------------
    # GET reads and changes nothing: repeating it is always safe.

    def get(self, email_id):
        """An email's status, fields and timeline (NotFoundError if there is none)."""
        return Email.from_json(self._request("GET", f"/emails/{_segment(email_id)}").json())

    def list(self, status=None, recipient=None, tag=None, since=None, until=None, limit=None, cursor=None):
        """One page of GET /emails, newest first. recipient: an address, "@domain"
        or "prefix*"; tag: "name=value" (or a (name, value) pair); since/until:
        the first and last UTC day (dates, datetimes or "YYYY-MM-DD"; the API's
        default is the last seven days). Pass `page.next_cursor` as `cursor`
        with the same filters for the next page."""
        if isinstance(tag, (tuple, list)):
            tag = "=".join(tag)
        params = {"status": status, "recipient": recipient, "tag": tag, "date_from": _day(since),
                  "date_to": _day(until), "limit": limit, "cursor": cursor}
        response = self._request("GET", "/emails", params={k: v for k, v in params.items() if v is not None})
        return EmailPage.from_json(response.json())

    def iter_emails(self, status=None, recipient=None, tag=None, since=None, until=None, limit=None):
        """Every email matching the filters, page after page (`limit` per page)."""
        cursor = None
        while True:
            page = self.list(status=status, recipient=recipient, tag=tag, since=since, until=until, limit=limit,
                             cursor=cursor)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # --- changing a scheduled email ---------------------------------------------

    def cancel(self, email_id):
        """Cancel an email no worker has sent or is sending. Safe to repeat: a
        second cancel of a canceled email answers 200 with it, so a retry
        after a lost answer gets the same result. ConflictError
        `not_cancelable` when too late (`.details["email_status"]` says why)."""
        return Email.from_json(self._request("POST", f"/emails/{_segment(email_id)}/cancel").json())

    def reschedule(self, email_id, send_at):
        """Move a scheduled email's send_at (an aware datetime or ISO 8601 with
        an offset). Safe to repeat: the body is the absolute time, so a second
        attempt sets the same value."""
        response = self._request("PATCH", f"/emails/{_segment(email_id)}", json={"send_at": _instant(send_at)})
        return Email.from_json(response.json())

    # --- the suppression list (a `full` key) -------------------------------------

    def list_suppressions(self, limit=None, cursor=None):
        params = {k: v for k, v in {"limit": limit, "cursor": cursor}.items() if v is not None}
        return SuppressionPage.from_json(self._request("GET", "/suppressions", params=params).json())

    def iter_suppressions(self, limit=None):
        """Every suppressed address, page after page."""
        cursor = None
        while True:
            page = self.list_suppressions(limit=limit, cursor=cursor)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_suppression(self, address):
        """Why an address is suppressed; NotFoundError when it is not."""
        return Suppression.from_json(self._request("GET", f"/suppressions/{_segment(address)}").json())

    def add_suppression(self, address, reason=None):
        """Suppress an address. PUT is safe to repeat: an address already on the
        list keeps its first reason and answers 200 (`.created` False)."""
        body = {"reason": reason} if reason is not None else {}
        response = self._request("PUT", f"/suppressions/{_segment(address)}", json=body)
        suppression = Suppression.from_json(response.json())
        suppression.created = response.status_code == 201
        return suppression

    def remove_suppression(self, address):
        """Let an address receive email again; NotFoundError if it was not on the list.
        DELETE is safe to repeat; a 404 answering a retry whose earlier attempt may
        have removed it (its answer was lost) counts as removed."""
        self._request("DELETE", f"/suppressions/{_segment(address)}", not_found_after_retry_ok=True)

    # --- transport ----------------------------------------------------------------

    def _request(self, method, path, *, idempotency_key=None, not_found_after_retry_ok=False, **kwargs):
        """Send with retries (retries.py); the answer when it is a success, else its exception."""
        policy, url = self.retry_policy, self.base_url + path
        outcome_unknown, attempt = False, 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
            except RETRIED_EXCEPTIONS as exc:
                outcome_unknown = outcome_unknown or may_have_been_sent(exc)
                if attempt > policy.max_retries:
                    raise EmailhubConnectionError(
                        f"No answer from {self.base_url} after {attempt} attempt(s): {exc}", code="connection_error",
                        outcome_unknown=outcome_unknown, attempts=attempt, idempotency_key=idempotency_key,
                    ) from exc
                self._sleep(policy.backoff(attempt))
                continue
            if response.status_code < 300:
                return response
            if response.status_code in RETRY_STATUSES and attempt <= policy.max_retries:
                self._sleep(policy.delay_for_answer(attempt, response.headers.get("Retry-After")))
                continue
            error = error_from_response(response, idempotency_key=idempotency_key)
            if not_found_after_retry_ok and outcome_unknown and isinstance(error, NotFoundError):
                return response
            raise error


def _segment(value):
    """A path segment, URL-quoted (an address may hold '/', '?', '#', '%', '+')."""
    return quote(str(value), safe="")


def _replayed(response):
    return response.headers.get("Idempotent-Replayed", "").lower() == "true"
