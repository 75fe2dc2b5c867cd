"""The anymail ESP backend: Django's send_mail() and EmailMessage through Emailhub.

    EMAIL_BACKEND = "emailhub_client.anymail.EmailBackend"
    ANYMAIL = {"EMAILHUB_API_KEY": "eh_...", "EMAILHUB_API_URL": "https://mail.example.com"}

One message is one POST /send-email; send_messages() of several is one POST
/emails/batch per 100 messages, in permissive mode: a refused message (a
suppressed recipient, an invalid field) does not hold back the others, each
message's `anymail_status` says what became of it, and the call then raises
for the first refused one (unless fail_silently). Strict mode would let one
bad address in a newsletter stop every other message, which Django's
send_messages() contract (a count of the messages sent) does not ask for.
Either way a retry is safe: the Idempotency-Key comes from the Message-IDs
(keys.py), so the same messages sent again answer the same email ids."""

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from anymail.message import AnymailRecipientStatus, AnymailStatus
from anymail.utils import get_anymail_setting

from emailhub_client import Emailhub, EmailhubError
from emailhub_client.anymail import keys
from emailhub_client.anymail.payload import EmailhubPayload

MAX_BATCH = 100  # Emailhub's EMAILHUB_MAX_BATCH default
# Emailhub refuses a request over EMAILHUB_MAX_REQUEST_BYTES (5 MiB by default)
# with a 413: a batch is cut before its JSON reaches this many bytes.
MAX_BATCH_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
# anymail has no `scheduled`: "queued" is its word for "will send it later".
_ANYMAIL_STATUS = {"queued": "queued", "scheduled": "queued", "sent": "sent", "delivered": "sent"}


class EmailhubAPIError(AnymailAPIError):
    """Emailhub refused a message: its error's code, message, field and addresses."""

    def __init__(self, message, *, code=None, field=None, addresses=(), http_status=None, esp_response=None,
                 **kwargs):
        super().__init__(message, **kwargs)
        self.code, self.field, self.addresses, self.http_status = code, field, list(addresses or ()), http_status
        self.esp_response = esp_response  # the API's error JSON, when it answered


class EmailBackend(AnymailBaseBackend):
    esp_name = "Emailhub"

    def __init__(self, **kwargs):
        esp_name = self.esp_name
        self.api_key = get_anymail_setting("api_key", esp_name=esp_name, kwargs=kwargs, allow_bare=True)
        self.api_url = get_anymail_setting("api_url", esp_name=esp_name, kwargs=kwargs, allow_bare=True)
        timeout = get_anymail_setting("requests_timeout", kwargs=kwargs, default=DEFAULT_TIMEOUT)
        # anymail's REQUESTS_TIMEOUT may be (connect, read); the client takes one number.
        self.timeout = max(timeout) if isinstance(timeout, (tuple, list)) else timeout
        self.max_retries = get_anymail_setting("max_retries", esp_name=esp_name, kwargs=kwargs, default=3)
        self.max_batch = get_anymail_setting("max_batch", esp_name=esp_name, kwargs=kwargs, default=MAX_BATCH)
        self.max_batch_bytes = get_anymail_setting("max_batch_bytes", esp_name=esp_name, kwargs=kwargs,
                                                   default=MAX_BATCH_BYTES)
        self.client = None
        super().__init__(**kwargs)

    def open(self):
        if self.client is not None:
            return False
        self.client = Emailhub(api_key=self.api_key, base_url=self.api_url, timeout=self.timeout,
                               max_retries=self.max_retries)
        return True

    def close(self):
        client, self.client = self.client, None
        closer = getattr(client, "close", None)
        if callable(closer):
            closer()

    def build_message_payload(self, message, defaults):
        return EmailhubPayload(message, defaults, self, message_id=keys.message_id_ensure(message))

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        created = self.open()
        try:
            payloads = self._prepared(email_messages)
            errors, sent = [], 0
            for chunk in self._chunks(payloads):
                chunk_sent, chunk_errors = self._send_chunk(chunk)
                sent, errors = sent + chunk_sent, errors + chunk_errors
        finally:
            if created:
                self.close()
        if errors and not self.fail_silently:
            raise errors[0]
        return sent

    def _prepared(self, messages):
        """(message, payload) of every message still to send, after pre_send."""
        prepared = []
        for message in messages:
            message.anymail_status = AnymailStatus()
            if not self.run_pre_send(message) or not message.recipients():
                continue
            try:
                prepared.append((message, self.build_message_payload(message, self.send_defaults)))
            except AnymailError:
                if not self.fail_silently:
                    raise
        return prepared

    def _chunks(self, payloads):
        """The batches to send: at most max_batch messages and max_batch_bytes of
        JSON each. The same messages always make the same chunks, so a retry
        derives the same Idempotency-Keys."""
        chunk, size = [], 0
        for message, payload in payloads:
            body_size = len(payload.serialize_json(payload.request))
            if chunk and (len(chunk) >= self.max_batch or size + body_size > self.max_batch_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append((message, payload))
            size += body_size
        if chunk:
            yield chunk

    def _send_chunk(self, chunk):
        """(messages accepted, errors): one POST for the chunk, each message's status set."""
        if not chunk:
            return 0, []
        if len(chunk) == 1:
            results = [self._send_one(*chunk[0])]
        else:
            results = self._send_batch(chunk)
        sent, errors = 0, []
        for (message, payload), (answer, error) in zip(chunk, results):
            status = self._recipient_status(payload, answer, error)
            message.anymail_status.esp_response = answer if answer is not None else error.esp_response
            message.anymail_status.set_recipient_status(status)
            self.run_post_send(message)
            try:
                if error is not None:
                    raise self._refusal(error, message, payload, status)
                self.raise_for_recipient_status(message.anymail_status, None, payload, message)
                sent += 1
            except AnymailError as err:
                errors.append(err)
        return sent, errors

    def _send_one(self, message, payload):
        """(the accepted email's JSON, None) or (None, the error)."""
        try:
            accepted = self.client.send(payload.request, idempotency_key=keys.message_key(payload.message_id))
        except (EmailhubError, requests.RequestException) as err:
            return None, self._api_error(err, message, payload)
        return _raw(accepted), None

    def _send_batch(self, chunk):
        bodies = [payload.request for _, payload in chunk]
        key = keys.batch_key([payload.message_id for _, payload in chunk])
        try:
            batch = self.client.send_batch(bodies, mode="permissive", idempotency_key=key)
        except (EmailhubError, requests.RequestException) as err:
            # The whole request failed (a 503 after the client's retries, a
            # body too large...): no message of the chunk was accepted.
            return [(None, self._api_error(err, message, payload)) for message, payload in chunk]
        items = sorted(batch.data, key=lambda item: _field(item, "index", 0))
        results = []
        for (message, payload), item in zip(chunk, items):
            error = _field(item, "error")
            if error:
                results.append((None, self._item_error(error, message, payload)))
            else:
                results.append((_raw(item), None))
        return results

    # Statuses and errors

    @staticmethod
    def _recipient_status(payload, answer, error):
        if answer is not None:
            status = _ANYMAIL_STATUS.get(answer.get("status"), "queued")
            return {r.addr_spec: AnymailRecipientStatus(message_id=answer.get("id"), status=status)
                    for r in payload.recipients}
        refused = {a.lower() for a in getattr(error, "addresses", ())}
        return {r.addr_spec: AnymailRecipientStatus(
            message_id=None, status="rejected" if r.addr_spec.lower() in refused else "failed")
            for r in payload.recipients}

    def _refusal(self, error, message, payload, status):
        if all(s.status == "rejected" for s in status.values()):
            refused = AnymailRecipientsRefused(
                f"Every recipient is on Emailhub's suppression list: {error}", email_message=message,
                payload=payload, backend=self)
            refused.__cause__ = error
            return refused
        return error

    def _api_error(self, err, message, payload):
        code = getattr(err, "code", None)
        text = getattr(err, "message", None) or str(err)
        status = getattr(err, "status", None)
        error = EmailhubAPIError(
            f"Emailhub refused the message ({status or 'no answer'}{', ' + code if code else ''}): {text}",
            code=code, field=getattr(err, "field", None), addresses=getattr(err, "addresses", None) or (),
            http_status=status, esp_response=getattr(err, "body", None), email_message=message, payload=payload,
            backend=self)
        error.__cause__ = err
        return error

    def _item_error(self, error, message, payload):
        code, text = _field(error, "code"), _field(error, "message") or ""
        addresses = ()
        if code == "suppressed_recipient":  # a batch item names them in its message only
            addresses = [r.addr_spec for r in payload.recipients if r.addr_spec.lower() in text.lower()]
        return EmailhubAPIError(f"Emailhub refused the message (in its batch, {code}): {text}", code=code,
                                field=_field(error, "field"), addresses=addresses,
                                esp_response={"error": _field(error, "raw") or {"code": code, "message": text}},
                                email_message=message, payload=payload, backend=self)


def _field(thing, name, default=None):
    """A field of the client's dataclasses or of a plain JSON dict."""
    if isinstance(thing, dict):
        return thing.get(name, default)
    return getattr(thing, name, default)


def _raw(result):
    """The API's JSON for an accepted email (the client's dataclass keeps it in .raw)."""
    raw = getattr(result, "raw", None)
    if isinstance(raw, dict):
        return raw
    if isinstance(result, dict):
        return result
    return {name: getattr(result, name, None) for name in ("id", "status", "created_at", "send_at", "expires_at")}
