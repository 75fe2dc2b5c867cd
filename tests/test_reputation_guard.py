"""The reputation guard: rates from the hourly counters, a pause that defers
emails without using attempts (the API keeps accepting), resumed by an
operator (CSRF, role, audit) or by itself when the rate falls back."""

import re
from datetime import timedelta

import pytest

from emailhub import model, reputation
from emailhub.audit import audit_page
from emailhub.emails import email_get
from emailhub.reputation import bounce_domains, reputation_read, sending_paused
from emailhub.services import email_deliver
from emailhub.staff.roles import OPERATOR, VIEWER
from emailhub.stats import stats_record
from emailhub.worker import process_event_records
from tests.conftest import drain_outbox, message, ses_sent
from tests.test_ses_events import ses_event, sns_record


@pytest.fixture(autouse=True)
def guard(settings):
    settings.EMAILHUB_GUARD_MIN_SENT = 100
    settings.EMAILHUB_BOUNCE_GUARD = 4.0
    settings.EMAILHUB_COMPLAINT_GUARD = 0.08
    settings.EMAILHUB_REPUTATION_WINDOW_HOURS = 168


@pytest.fixture
def clock(monkeypatch):
    """The worker's cache runs on this clock: `clock.now += s` moves it."""
    class Clock:
        now = 1000.0

    monkeypatch.setattr(reputation, "clock", lambda: Clock.now)
    return Clock


def counts(moment, **amounts):
    for outcome, amount in amounts.items():
        stats_record(outcome=outcome, moment=moment, amount=amount)


def test_rates_over_the_window_trip_the_guard_and_fall_back(aws):
    now = model.now()
    counts(now - timedelta(hours=30), sent=100, bounced=3)
    assert not reputation_read(moment=now).paused  # 3 %: under the 4 % guard
    counts(now - timedelta(hours=2), bounced=2)
    tripped = reputation_read(moment=now)
    assert tripped.paused and tripped.tripped == ("bounce",)
    assert round(tripped.bounce_rate, 2) == 5.0
    assert "5 of the 100 emails sent in the last 7 days bounced" in tripped.reason
    assert "New emails are accepted" in tripped.reason
    # A week later the bounces have left SES's window: sending resumes by itself.
    assert not reputation_read(moment=now + timedelta(days=7)).paused
    # More good sending dilutes the rate under the guard: resumes too.
    counts(now - timedelta(hours=1), sent=30)
    assert not reputation_read(moment=now).paused


def test_complaints_trip_at_their_own_lower_guard(aws):
    now = model.now()
    counts(now, sent=2000, complained=2)  # 0.1 %
    found = reputation_read(moment=now)
    assert found.paused and found.tripped == ("complaint",)
    assert "drew a spam complaint" in found.reason


def test_three_emails_cannot_trip_it(aws):
    now = model.now()
    counts(now, sent=3, bounced=3, complained=3)  # 100 %, but under the minimum volume
    found = reputation_read(moment=now)
    assert found.bounce_rate == 100.0 and not found.paused


def test_paused_sending_defers_without_attempts_and_resumes_when_the_rate_falls(send, verified, clock):
    counts(model.now(), sent=100, bounced=10)
    accepted = send(message())
    assert accepted.status_code == 202  # the API keeps accepting
    email_id = accepted.json()["id"]
    drain_outbox()
    email = email_get(email_id)
    assert email["status"] == "deferred" and email.get("attempts", 0) == 0
    assert email["last_error"]["code"] == "sending_paused"
    assert "bounced" in email["last_error"]["message"]
    assert ses_sent() == []
    # Back from the outbox while still paused: deferred again, no new timeline entry.
    assert email_deliver(email_id=email_id) == "deferred"
    assert [e["type"] for e in email_get(email_id)["events"]].count("deferred") == 1

    counts(model.now(), sent=200)  # 10 of 300: 3.3 %
    assert email_deliver(email_id=email_id) == "deferred"  # the worker's reading is still fresh
    clock.now += 61
    assert email_deliver(email_id=email_id) == "sent"
    email = email_get(email_id)
    assert email["attempts"] == 1 and email["status"] == "sent"
    assert len(ses_sent()) == 1


def test_counters_out_of_reach_never_stop_sending(aws, monkeypatch):
    from emailhub.errors import AwsUnavailable

    def down(**kwargs):
        raise AwsUnavailable("DynamoDB is down")

    monkeypatch.setattr(reputation, "stats_hours", down)
    assert sending_paused() == ""


def test_operator_resumes_with_csrf_and_is_audited(staff_client, verified, clock):
    counts(model.now(), sent=100, bounced=10)
    viewer = staff_client(VIEWER, "viewer")
    overview = viewer.get("/admin/").content.decode()
    assert "Sending is paused" in overview and "10 of the 100 emails" in overview
    assert "Resume sending" not in overview  # a viewer cannot
    assert viewer.post("/admin/sending/resume/").status_code == 403

    operator = staff_client(OPERATOR, "olivia", enforce_csrf_checks=True)
    assert operator.post("/admin/sending/resume/").status_code == 403  # no CSRF token
    page = operator.get("/admin/sending/resume/").content.decode()
    assert "Yes, resume sending" in page and "10 of the 100 emails" in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    answer = operator.post("/admin/sending/resume/", {"csrfmiddlewaretoken": token})
    assert answer.status_code == 302

    found = reputation_read()
    assert not found.paused and found.resumed_by == "olivia"
    assert sending_paused() == ""
    [entry] = [e for e in audit_page(month=model.now().strftime("%Y-%m"))[0]
               if e["summary"]["action"] == "sending.resume"]
    assert entry["summary"]["actor"] == "olivia" and "bounce rate 10.00 %" in entry["summary"]["outcome"]
    overview = operator.get("/admin/").content.decode()
    assert "Sending is paused" not in overview and "Resumed by olivia" in overview


def test_bounces_by_domain_and_rates_on_the_overview_and_health(client, admin_client, send, verified, settings):
    from emailhub.identities import identity_verify

    settings.EMAILHUB_GUARD_MIN_SENT = 2
    identity_verify(identity="example.org")
    ids = [send(message(to=[to])).json()["id"] for to in ("alice@example.com", "bob@example.org", "carol@example.org")]
    drain_outbox()
    for n, email_id in enumerate(ids):
        bounce = ses_event("bounce_permanent", email_get(email_id)["ses_message_id"])
        recipient = email_get(email_id)["summary"]["to"][0]
        bounce["bounce"]["bouncedRecipients"] = [{"emailAddress": recipient, "status": "5.1.1"}]
        process_event_records([sns_record(bounce, f"n{n}")])
        process_event_records([sns_record(bounce, f"n{n}")])  # a repeated event counts once
    hours = [model.now().strftime("%Y-%m-%dT%H")]
    assert bounce_domains(hours=hours) == [("example.org", 2), ("example.com", 1)]

    page = admin_client.get("/admin/").content.decode()
    assert "Bounces by recipient domain" in page
    assert re.search(r"example\.org</th><td class=\"eh-num\">2<", page)
    assert "100.00 %" in page and "Sending is paused" in page

    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["checks"]["reputation"]["sending_paused"] is True
    assert health["checks"]["reputation"]["bounce_rate"] == 100.0
    assert health["checks"]["reputation"]["sent"] == 3
