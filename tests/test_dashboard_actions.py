"""Dashboard actions: resend (one, many, twice), discard, API keys, identities, audit."""

import pytest

from emailhub.apikeys import api_key_list
from emailhub.audit import audit_page
from emailhub.emails import email_get
from tests.conftest import drain_outbox, queue_messages, ses_sent
from tests.dashboard_helpers import failed_emails


def _audit_month():
    from emailhub.model import now

    # Without the fixtures' own entries (the staff user the test signs in as).
    return [e for e in audit_page(month=now().strftime("%Y-%m"))[0] if e["summary"]["actor"] != "tests"]


def test_resend_one_confirms_on_get_then_resends_on_post(admin_client, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1)
    confirm = admin_client.get("/admin/resend/", {"ids": email_id})
    assert confirm.status_code == 200
    assert "Resend 1 email(s)" in confirm.content.decode()
    assert email_get(email_id)["status"] == "failed" and ses_sent() == []  # GET changed nothing

    response = admin_client.post("/admin/resend/", {"ids": email_id})
    assert response.status_code == 302 and "/admin/audit/" in response["Location"]
    original = email_get(email_id)
    child_id = original["resent_as"]
    assert original["status"] == "resent"
    assert original["events"][-1]["type"] == "resent" and original["events"][-1]["child_id"] == child_id
    child = email_get(child_id)
    assert child["parent_id"] == email_id and child["status"] == "queued"
    assert queue_messages("emailhub-dlq") == []  # removed once the child was on the outbox

    drain_outbox()
    assert email_get(child_id)["status"] == "sent"
    [sent] = ses_sent()
    assert sent.subject == "Order 0"
    page = admin_client.get(f"/admin/emails/{child_id}/").content.decode()
    assert f"/admin/emails/{email_id}/" in page  # lineage both ways
    result = admin_client.get(response["Location"]).content.decode()
    assert "resent as" in result and child_id in result


def test_double_submit_never_sends_twice(admin_client, send, verified, ses_failures):
    [email_id] = failed_emails(send, ses_failures, 1)
    admin_client.post("/admin/resend/", {"ids": email_id})
    second = admin_client.post("/admin/resend/", {"ids": email_id}, follow=True)
    assert [str(m) for m in second.context["messages"]][-1] == "Resend: 1 skipped."
    drain_outbox()
    assert len(ses_sent()) == 1


def test_concurrent_resends_make_one_child(send, verified, ses_failures):
    import threading

    from emailhub.resends import emails_resend

    [email_id] = failed_emails(send, ses_failures, 1)
    results = []
    threads = [threading.Thread(target=lambda: results.extend(emails_resend(email_ids=[email_id], actor="t")))
               for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.child_id for r in results if r.child_id} == {email_get(email_id)["resent_as"]}
    assert [r.outcome for r in results].count("resent") == 1
    drain_outbox()
    assert len(ses_sent()) == 1


def test_two_staff_resending_the_same_emails_at_once_leave_nothing_on_the_dlq(send, verified, ses_failures,
                                                                            settings):
    """Each resend receives the DLQ while the other holds part of it: the one
    that wins an email removes its message whoever saw it, the loser leaves none."""
    import threading

    from emailhub.resends import emails_resend

    settings.EMAILHUB_RESEND_PAUSE_SECONDS = 0
    ids = failed_emails(send, ses_failures, 16)
    assert len(queue_messages("emailhub-dlq")) == 16
    results, barrier = [], threading.Barrier(2)

    def resend(order):
        barrier.wait()
        results.extend(emails_resend(email_ids=order, actor="t"))

    threads = [threading.Thread(target=resend, args=(order,)) for order in (ids, ids[::-1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.email_id for r in results if r.outcome == "resent") == sorted(ids)
    assert queue_messages("emailhub-dlq") == []
    drain_outbox(rounds=40)
    assert len(ses_sent()) == 16


def test_bulk_resend_of_all_failed_matching_a_filter(admin_client, send, verified, ses_failures, settings):
    from emailhub.identities import identity_verify

    settings.EMAILHUB_RESEND_PAUSE_SECONDS = 0
    identity_verify(identity="dave@example.org")
    ids = failed_emails(send, ses_failures, 100)
    [unverified_id] = failed_emails(send, ses_failures, 1, to=["dave@example.org"])
    # dave's verification is withdrawn before the resend: that one email must be skipped.
    from emailhub import identities
    from emailhub.aws import clients

    clients.client("sesv2").delete_email_identity(EmailIdentity="dave@example.org")
    identities.cache_clear()

    confirm = admin_client.get("/admin/resend/", {"all": "1"})
    page = confirm.content.decode()
    assert "Resend 100 email(s); 1 will be skipped" in page
    assert "unverified in the SES sandbox: dave@example.org" in page
    ticked = confirm.context["doing"]
    response = admin_client.post("/admin/resend/", {"ids": [p.email_id for p in ticked] + [unverified_id]},
                                 follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    assert message == "Resend: 100 resent, 1 skipped."
    assert all(email_get(i)["status"] == "resent" for i in ids)
    assert email_get(unverified_id)["status"] == "failed"
    assert [m["email_id"] for m in queue_messages("emailhub-dlq")] == [unverified_id]
    drain_outbox(rounds=30)
    assert len(ses_sent()) == 100
    [entry] = [e for e in _audit_month() if e["summary"]["action"] == "email.resend"]
    assert entry["summary"]["actor"] == "admin"


def test_bulk_resend_uses_batch_sqs_calls(send, verified, ses_failures, settings, monkeypatch):
    from emailhub.aws import sqs
    from emailhub.resends import emails_resend

    settings.EMAILHUB_RESEND_PAUSE_SECONDS = 0
    ids = failed_emails(send, ses_failures, 30)
    singles = []
    monkeypatch.setattr(sqs, "send", lambda *a, **k: singles.append(a))
    results = emails_resend(email_ids=ids, actor="t")
    assert [r.outcome for r in results] == ["resent"] * 30
    assert singles == []  # children went out through SendMessageBatch


def test_discard_marks_and_removes_from_dlq(admin_client, send, verified, ses_failures):
    keep, drop = failed_emails(send, ses_failures, 2)
    assert admin_client.get("/admin/discard/", {"ids": drop}).status_code == 200
    admin_client.post("/admin/discard/", {"ids": drop})
    assert email_get(drop)["status"] == "discarded"
    assert email_get(drop)["events"][-1]["by"] == "admin"
    assert [m["email_id"] for m in queue_messages("emailhub-dlq")] == [keep]
    again = admin_client.post("/admin/discard/", {"ids": drop}, follow=True)
    assert "1 skipped" in again.content.decode()


def test_only_failed_emails_are_resent(admin_client, send, verified):
    from tests.conftest import message

    email_id = send(message()).json()["id"]
    drain_outbox()
    page = admin_client.get("/admin/resend/", {"ids": email_id}).content.decode()
    assert "only failed emails are resent" in page


def test_api_key_create_shows_it_once_and_revoke_confirms(admin_client, aws):
    response = admin_client.post("/admin/keys/", {"name": "shop"}, follow=True)
    assert response.redirect_chain == [("/admin/keys/", 302)]
    key = response.context["created"]
    assert key.startswith("eh_") and key in response.content.decode()
    listing = admin_client.get("/admin/keys/").content.decode()  # a reload: shown only once
    assert key not in listing and "shop" in listing
    prefix = key.split("_")[1]
    assert "Yes, revoke it" in admin_client.get(f"/admin/keys/{prefix}/revoke/").content.decode()
    from emailhub.apikeys import api_key_authenticate

    assert api_key_authenticate(presented=key)
    admin_client.post(f"/admin/keys/{prefix}/revoke/")
    assert api_key_authenticate(presented=key) is None
    actions = [e["summary"]["action"] for e in _audit_month()]
    assert actions == ["api_key.revoke", "api_key.create"]


def test_identities_page_lists_and_verifies_and_shows_rejections(admin_client, send, aws):
    from tests.conftest import message

    assert send(message(to=["erin@example.com"])).status_code == 422
    page = admin_client.get("/admin/identities/").content.decode()
    assert "erin@example.com" in page and "no-reply@example.com" in page
    admin_client.post("/admin/identities/", {"identity": "erin@example.com"})
    page = admin_client.get("/admin/identities/").content.decode()
    assert "Not verified, and requests were refused" not in page  # erin is verified now
    assert send(message(to=["erin@example.com"])).status_code == 202
    assert [e["summary"]["action"] for e in _audit_month()] == ["identity.verify"]


def test_operator_resends_but_cannot_create_keys(staff_client, send, verified, ses_failures):
    client = staff_client("operator")
    [email_id] = failed_emails(send, ses_failures, 1)
    assert client.post("/admin/keys/", {"name": "nope"}).status_code == 403
    assert [k.name for k in api_key_list()] == ["tests"]
    assert client.post("/admin/resend/", {"ids": email_id}).status_code == 302


@pytest.mark.parametrize("url", ["/admin/audit/", "/admin/identities/", "/admin/keys/"])
def test_pages_render_for_superuser(admin_client, aws, url):
    assert admin_client.get(url).status_code == 200
