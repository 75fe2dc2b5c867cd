"""Finding things: an email by its id or SES message id from one box, the
suppression list and the audit log by filters (still Queries, bounded)."""

from django.utils import timezone

from emailhub.audit import audit_record
from emailhub.emails import email_get
from emailhub.suppression import suppression_add
from tests.conftest import drain_outbox, message


def test_one_box_finds_an_email_by_id_or_ses_message_id(admin_client, send, verified):
    email_id = send(message()).json()["id"]
    drain_outbox()
    ses_id = email_get(email_id)["ses_message_id"]
    page = admin_client.get("/admin/").content.decode()
    assert 'action="/admin/emails/find/"' in page
    for wanted in (email_id, f"  {ses_id} "):
        response = admin_client.get("/admin/emails/find/", {"q": wanted})
        assert response.status_code == 302 and response["Location"] == f"/admin/emails/{email_id}/"
    missing = admin_client.get("/admin/emails/find/", {"q": "0000-nothing"})
    assert missing.status_code == 200 and "No email has the id or SES message id" in missing.content.decode()


def test_suppression_list_filters_by_whole_address_part_and_reason(admin_client, aws):
    suppression_add(address="carol@example.com", reason="hard bounce (General)")
    suppression_add(address="dave@example.org", reason="complaint (abuse)")
    suppression_add(address="erin@example.org", reason="added by staff", actor="admin")

    def listed(**params):
        response = admin_client.get("/admin/suppression/", params)
        return sorted(e["address"] for e in response.context["entries"]), response.content.decode()

    assert listed(q="Carol@example.com")[0] == ["carol@example.com"]
    found, page = listed(q="example.org")
    assert found == ["dave@example.org", "erin@example.org"] and "checked entry by entry" in page
    assert listed(reason_has="complaint")[0] == ["dave@example.org"]
    assert listed(q="example.org", reason_has="staff")[0] == ["erin@example.org"]
    assert listed(q="nobody@example.net")[1].count("No suppressed address matches.") == 1
    assert len(listed()[0]) == 3


def test_suppression_filter_stops_after_its_reads_and_offers_to_search_further(admin_client, aws, monkeypatch):
    from emailhub import feeds

    for n in range(5):
        suppression_add(address=f"user{n}@example.com", reason="complaint" if n == 0 else "hard bounce")
    monkeypatch.setattr(feeds, "PAGE", 2)
    original = feeds.feed_filtered
    monkeypatch.setattr("emailhub.suppression.feed_filtered",
                        lambda **kwargs: original(**{**kwargs, "max_reads": 2}))
    first = admin_client.get("/admin/suppression/", {"reason_has": "complaint"})
    assert first.context["entries"] == [] and first.context["further_url"]
    assert "and stopped; older entries may match too" in first.content.decode()
    url = first.context["further_url"]
    found = []
    while url:
        response = admin_client.get("/admin/suppression/" + url)
        found += [e["address"] for e in response.context["entries"]]
        url = response.context["further_url"]
    assert found == ["user0@example.com"]


def test_audit_log_filters_by_actor_action_and_target(admin_client, aws):
    audit_record(actor="alice", action="email.resend", target="3 email(s)", outcome="3 resent")
    audit_record(actor="bob", action="email.discard", target="1 email(s)", outcome="1 discarded")
    audit_record(actor="alice", action="suppression.add", target="carol@example.com", outcome="added")

    def shown(**params):
        response = admin_client.get("/admin/audit/", params)
        assert response.status_code == 200
        return sorted((e["summary"]["actor"], e["summary"]["action"]) for e in response.context["entries"])

    assert shown(actor="alice") == [("alice", "email.resend"), ("alice", "suppression.add")]
    assert shown(action="email.") == [("alice", "email.resend"), ("bob", "email.discard")]
    assert shown(target="carol@") == [("alice", "suppression.add")]
    assert shown(actor="alice", action="email.") == [("alice", "email.resend")]
    assert len(shown()) == 4  # and the admin's own account, created by the fixture
    assert "Choose a month" in admin_client.get("/admin/audit/", {"month": "bogus"}).content.decode()
    this_month = timezone.now().strftime("%Y-%m")
    assert f'value="{this_month}"' in admin_client.get("/admin/audit/").content.decode()  # the month it shows


def test_a_cursor_made_for_another_filter_starts_at_the_top(admin_client, aws):
    for n in range(3):
        audit_record(actor="alice", action="suppression.add", target=f"u{n}@example.com", outcome="added")
    response = admin_client.get("/admin/audit/", {"actor": "alice", "cursor": "forged"})
    assert len(response.context["entries"]) == 3 and response.context["further_url"] is None
