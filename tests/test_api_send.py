"""POST /send-email: acceptance, validation errors, auth, sandbox."""

import base64

import pytest

from emailhub.selectors import email_status
from tests.conftest import RECIPIENT, drain_outbox, message, queue_messages, ses_sent


def test_accepted_email_is_sent_end_to_end(send, verified):
    response = send(message())
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    # The message carries the (small) request, so the worker builds the email before claiming it.
    [queued] = queue_messages("emailhub-outbox")
    assert queued["email_id"] == body["id"] and queued["request"]["subject"] == "Your order"

    drain_outbox()

    status = email_status(email_id=body["id"])
    assert status["status"] == "sent"
    assert status["ses_message_id"]
    assert [e["type"] for e in status["events"]] == ["accepted", "sent"]
    [sent] = ses_sent()
    assert sent.destinations["ToAddresses"] == [RECIPIENT]
    assert sent.subject == "Your order"


def test_status_endpoint_shows_timeline(client, send, verified, api_key):
    email_id = send(message()).json()["id"]
    drain_outbox()
    response = client.get(f"/emails/{email_id}", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "sent" and body["attempts"] == 1
    assert body["events"][-1]["ses_message_id"] == body["ses_message_id"]


def test_status_of_unknown_email_is_404(client, api_key):
    response = client.get("/emails/nope", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_attachments_go_out_as_raw_mime(send, verified):
    pdf = base64.b64encode(b"%PDF-1.4 invoice").decode()
    response = send(message(attachments=[{"filename": "invoice.pdf", "content_type": "application/pdf",
                                          "content": pdf}], headers={"X-Order": "1042"}))
    assert response.status_code == 202
    drain_outbox()
    [sent] = ses_sent()
    assert "invoice.pdf" in sent.raw_data
    assert "X-Order: 1042" in sent.raw_data


def test_large_request_is_stored_in_s3_and_still_sent(send, verified, settings):
    settings.EMAILHUB_INLINE_PAYLOAD_BYTES = 1000
    response = send(message(text="x" * 5000))
    assert response.status_code == 202
    from emailhub.emails import email_get

    item = email_get(response.json()["id"])
    assert "request" not in item and item["payload_ref"].startswith("payloads/")
    drain_outbox()
    assert email_status(email_id=response.json()["id"])["status"] == "sent"
    assert "x" * 5000 in ses_sent()[0].body


@pytest.mark.parametrize("body, code, field", [
    (message(to=["not-an-address"]), "invalid_address", "to.0"),
    (message(subject="Hi\r\nBcc: victim@example.com"), "header_injection", "subject"),
    (message(to=["Alice\n <alice@example.com>"]), "header_injection", "to.0"),
    (message(tags={"campaign": "x\ny"}), "invalid_tag", "tags"),
    (message(headers={"X-Ok": "a\r\nBcc: x@example.com"}), "header_injection", "headers"),
    (message(headers={"Bcc": "x@example.com"}), "invalid_header", "headers"),
    (message(to=[f"user{i}@example.com" for i in range(51)]), "too_many_recipients", None),
    (message(cc=[f"user{i}@example.com" for i in range(30)], bcc=[f"b{i}@example.com" for i in range(20)]),
     "too_many_recipients", None),
    ({"to": RECIPIENT, "subject": "No body"}, "missing_body", None),
    (message(priority="high"), "unknown_field", "priority"),
    ({"subject": "Hi", "text": "x"}, "missing_field", "to"),
    (message(attachments=[{"filename": "a.txt", "content": "not base64!"}]), "invalid_attachment",
     "attachments.0.content"),
    (message(to=42), "invalid_field", "to"),
    (message(to=[]), "missing_field", "to"),
    (message(headers={"Bad Name": "x"}), "invalid_header", "headers"),
])
def test_bad_input_is_a_400_with_a_code(send, verified, body, code, field):
    response = send(body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert error["message"]
    assert queue_messages("emailhub-outbox") == []


def test_single_address_string_is_accepted(send, verified):
    assert send(message(to=RECIPIENT)).status_code == 202


def test_malformed_json_is_a_400(send):
    response = send(None, raw="{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_json_that_is_not_an_object_is_a_400(send):
    response = send(None, raw="[1, 2]")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_body_over_the_cap_is_a_413(send, verified, settings):
    settings.EMAILHUB_MAX_REQUEST_BYTES = 2000
    response = send(message(text="x" * 3000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("key", ["", "eh_nope_nope", "garbage"])
def test_missing_or_invalid_key_is_a_401(client, aws, key):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    response = client.post("/send-email", data=message(), content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_a_401(send, api_key, verified):
    from emailhub.apikeys import api_key_revoke

    api_key_revoke(prefix=api_key.split("_")[1])
    response = send(message())
    assert response.status_code == 401


def test_sandbox_rejects_unverified_recipient_with_422(send, aws):
    response = send(message(to=["bob@example.com"], cc=["carol@example.org"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unverified_identity"
    assert error["addresses"] == ["bob@example.com", "carol@example.org"]
    assert "verify_identity" in error["message"]
    assert queue_messages("emailhub-outbox") == []


def test_sandbox_rejects_unverified_sender(send, verified):
    response = send(message(**{"from": "Shop <shop@example.net>"}))
    assert response.status_code == 422
    assert response.json()["error"]["addresses"] == ["shop@example.net"]


def test_verified_domain_covers_its_addresses(send, aws):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.com")
    assert send(message(to=["anyone@example.com"])).status_code == 202


def test_sandbox_off_sends_to_anyone(send, aws, settings):
    settings.EMAILHUB_SES_SANDBOX = False
    assert send(message(to=["bob@example.com"])).status_code == 202


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/send-email" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


def test_wrong_type_for_an_address_field_says_what_is_allowed(send, verified):
    error = send(message(to=5)).json()["error"]
    assert error["field"] == "to" and "string" in error["message"] and "valid list" not in error["message"]


def test_a_malformed_header_name_is_not_called_forbidden(send, verified):
    malformed = send(message(headers={"Bad Name": "x"})).json()["error"]
    assert "not a valid header name" in malformed["message"]
    reserved = send(message(headers={"Bcc": "x@example.com"})).json()["error"]
    assert "request's own fields" in reserved["message"]


def test_unverified_cc_or_bcc_is_reported_on_its_own_field(send, verified):
    cc = send(message(cc=["carol@example.org"])).json()["error"]
    assert (cc["code"], cc["field"], cc["addresses"]) == ("unverified_identity", "cc", ["carol@example.org"])
    assert send(message(bcc=["dan@example.org"])).json()["error"]["field"] == "bcc"


def test_a_503_hides_internals_and_says_when_to_retry(send, verified, monkeypatch):
    from emailhub import services
    from emailhub.errors import AwsUnavailable

    def down(*args, **kwargs):
        raise AwsUnavailable("DynamoDB TransactWriteItems: Could not connect to http://10.1.2.3:4566/")

    monkeypatch.setattr(services.dynamodb, "transact", down)
    response = send(message())
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    text = response.json()["error"]["message"]
    assert "TransactWriteItems" not in text and "10.1.2.3" not in text and "Retry" in text


def test_status_shows_cc_bcc_and_reply_to(client, send, verified, api_key):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.org")
    email_id = send(message(cc="carol@example.org", bcc=["dan@example.org"],
                            reply_to=["Help <help@example.org>"])).json()["id"]
    body = client.get(f"/emails/{email_id}", HTTP_AUTHORIZATION=f"Bearer {api_key}").json()
    assert (body["cc"], body["bcc"], body["reply_to"]) == (
        ["carol@example.org"], ["dan@example.org"], ["Help <help@example.org>"])


def test_an_attachment_with_a_content_id_is_an_inline_part(send, verified):
    import email
    import email.policy

    png = b"\x89PNG\r\n\x1a\n\x00\xff" * 50
    response = send(message(html='<p><img src="cid:logo@shop"></p>', attachments=[
        {"filename": "logo.png", "content_type": "image/png", "content": base64.b64encode(png).decode(),
         "content_id": "logo@shop"},
        {"filename": "terms.pdf", "content_type": "application/pdf", "content": "JVBERg=="}]))
    assert response.status_code == 202, response.json()
    drain_outbox()
    [sent] = ses_sent()
    mime = email.message_from_bytes(sent.raw_data.encode(), policy=email.policy.default)
    parts = {part.get_filename(): part for part in mime.walk() if part.get_filename()}
    assert parts["logo.png"]["Content-ID"] == "<logo@shop>"
    assert parts["logo.png"].get_content_disposition() == "inline" and parts["logo.png"].get_content() == png
    assert parts["terms.pdf"].get_content_disposition() == "attachment" and "Content-ID" not in parts["terms.pdf"]


@pytest.mark.parametrize("content_id", ["", "<logo>", "has space", "ü@x", "a" * 251, "x\r\nBcc: y", 5])
def test_a_content_id_outside_its_characters_is_a_400(send, verified, content_id):
    response = send(message(attachments=[{"filename": "a.png", "content_type": "image/png", "content": "AA==",
                                          "content_id": content_id}]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_attachment", "invalid_field")


def test_an_attachment_without_a_content_id_is_stored_as_before(send, verified):
    """The stored request is what idempotency hashes: an attachment without a
    content_id must hash as it did before content_id existed."""
    from emailhub.emails import email_get

    email_id = send(message(attachments=[{"filename": "a.txt", "content_type": "text/plain",
                                          "content": "SGk="}])).json()["id"]
    assert email_get(email_id)["request"]["attachments"] == [
        {"filename": "a.txt", "content_type": "text/plain", "content": "SGk="}]
