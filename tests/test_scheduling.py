"""Scheduled send, cancel, reschedule and expiry, on an injected clock
(tests/conftest.py's `clock` moves Emailhub's time and moto's SQS delays)."""

import threading
from datetime import timedelta

import pytest

from emailhub import model, services
from emailhub.emails import email_get
from emailhub.scheduling.ticks import scheduler_tick
from tests.conftest import drain_outbox, message, ses_sent


@pytest.fixture
def api(client, api_key):
    def _call(method, path, body=None):
        import json

        return getattr(client, method)(path, data=json.dumps(body) if body is not None else None,
                                       content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}")

    return _call


def at(clock, **delta):
    return (clock.now + timedelta(**delta)).isoformat()


def test_a_short_delay_waits_on_the_outbox_and_is_sent_at_send_at(send, verified, clock, api):
    accepted = send(message(send_at=at(clock, minutes=5))).json()
    assert accepted["status"] == "scheduled"
    assert accepted["send_at"] == model.iso(clock.now + timedelta(minutes=5))
    drain_outbox()
    assert ses_sent() == [] and email_get(accepted["id"])["status"] == "scheduled"
    clock.advance(timedelta(minutes=4, seconds=59))
    drain_outbox()
    assert ses_sent() == []
    clock.advance(timedelta(seconds=1))
    drain_outbox()
    assert len(ses_sent()) == 1
    shown = api("get", f"/emails/{accepted['id']}").json()
    assert shown["status"] == "sent" and shown["send_at"] == accepted["send_at"]


def test_a_long_delay_waits_in_the_index_and_the_tick_sends_it_within_a_minute(send, verified, clock):
    accepted = send(message(send_at=at(clock, days=3))).json()
    assert scheduler_tick().enqueued == []
    clock.advance(timedelta(days=3) - timedelta(seconds=50))
    report = scheduler_tick()  # 50 s early: enqueued with the delay left
    assert report.enqueued == [accepted["id"]]
    drain_outbox()
    assert ses_sent() == []
    clock.advance(timedelta(seconds=50))
    drain_outbox()
    assert len(ses_sent()) == 1
    assert email_get(accepted["id"])["status"] == "sent"
    assert scheduler_tick().enqueued == []  # never twice


def test_two_ticks_at_once_enqueue_an_email_once(send, verified, clock):
    accepted = send(message(send_at=at(clock, hours=2))).json()
    clock.advance(timedelta(hours=2))
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(scheduler_tick())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(r.enqueued) for r in reports) == 1
    drain_outbox()
    assert len(ses_sent()) == 1 and email_get(accepted["id"])["status"] == "sent"


def test_a_tick_after_an_outage_catches_up(send, verified, clock):
    ids = [send(message(send_at=at(clock, minutes=20 + i))).json()["id"] for i in range(3)]
    clock.advance(timedelta(minutes=40))  # no tick ran meanwhile
    assert sorted(scheduler_tick().enqueued) == sorted(ids)


def test_cancel_a_scheduled_email(send, verified, clock, api, api_key):
    accepted = send(message(send_at=at(clock, hours=1))).json()
    canceled = api("post", f"/emails/{accepted['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert api("post", f"/emails/{accepted['id']}/cancel").status_code == 200  # again: nothing changes
    clock.advance(timedelta(hours=1))
    scheduler_tick()
    drain_outbox()
    assert ses_sent() == []
    events = email_get(accepted["id"])["events"]
    assert [e["type"] for e in events] == ["accepted", "canceled"]
    # Named as the suppression list names a key's changes: its name and prefix.
    assert events[1]["by"] == f"api key tests ({api_key.split('_')[1]})"


def test_cancel_a_queued_email_before_the_worker_claims_it(send, verified, api):
    accepted = send(message()).json()
    assert api("post", f"/emails/{accepted['id']}/cancel").json()["status"] == "canceled"
    drain_outbox()
    assert ses_sent() == []


def test_cancel_after_sending_is_a_409_that_says_so(send, verified, api):
    accepted = send(message()).json()
    drain_outbox()
    refused = api("post", f"/emails/{accepted['id']}/cancel")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "not_cancelable" and error["email_status"] == "sent" and "already sent" in error["message"]


def test_cancel_racing_the_worker_exactly_one_wins(send, verified, api, monkeypatch):
    """Ten rounds: the worker's claim and the cancel start together; the email
    is either sent (and the cancel a 409) or canceled (200) and never sent."""
    for round_number in range(10):
        accepted = send(message(subject=f"Race {round_number}")).json()
        before = len(ses_sent())
        start = threading.Barrier(2)
        outcome = {}

        def worker():
            start.wait()
            outcome["worker"] = services.email_deliver(email_id=accepted["id"])

        def cancel():
            start.wait()
            outcome["cancel"] = api("post", f"/emails/{accepted['id']}/cancel").status_code

        threads = [threading.Thread(target=worker), threading.Thread(target=cancel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        drain_outbox()
        sent = len(ses_sent()) - before
        status = email_get(accepted["id"])["status"]
        if outcome["cancel"] == 200:
            assert sent == 0 and status == "canceled"
        else:
            assert outcome["cancel"] == 409 and sent == 1 and status == "sent"


def test_reschedule_moves_send_at(send, verified, clock, api):
    accepted = send(message(send_at=at(clock, minutes=10), expires_at=at(clock, hours=3))).json()
    moved = api("patch", f"/emails/{accepted['id']}", {"send_at": at(clock, hours=2)})
    assert moved.status_code == 200 and moved.json()["send_at"] == model.iso(clock.now + timedelta(hours=2))
    # The search lists the new send_at and the deadline, from the status index and from the feed.
    for query in ("?status=scheduled", ""):
        [listed] = api("get", f"/emails{query}").json()["data"]
        assert (listed["send_at"], listed["expires_at"]) == (moved.json()["send_at"], accepted["expires_at"])
    clock.advance(timedelta(minutes=10))
    drain_outbox()  # the old delayed message finds it not due
    scheduler_tick()
    assert ses_sent() == []
    clock.advance(timedelta(hours=1, minutes=50))
    scheduler_tick()
    drain_outbox()
    assert len(ses_sent()) == 1
    assert "rescheduled" in [e["type"] for e in email_get(accepted["id"])["events"]]


def test_reschedule_earlier_is_sent_within_a_minute(send, verified, clock, api):
    accepted = send(message(send_at=at(clock, days=2))).json()
    api("patch", f"/emails/{accepted['id']}", {"send_at": at(clock, minutes=2)})
    clock.advance(timedelta(minutes=2, seconds=30))
    scheduler_tick()
    drain_outbox()
    assert len(ses_sent()) == 1 and email_get(accepted["id"])["status"] == "sent"


def test_only_a_scheduled_email_can_be_rescheduled(send, verified, clock, api):
    accepted = send(message()).json()
    drain_outbox()
    refused = api("patch", f"/emails/{accepted['id']}", {"send_at": at(clock, hours=1)})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_reschedulable"


def test_an_email_expired_before_the_claim_is_never_sent_nor_parked(send, verified, clock):
    accepted = send(message(expires_at=at(clock, seconds=30))).json()
    assert accepted["expires_at"] == model.iso(clock.now + timedelta(seconds=30))
    clock.advance(timedelta(seconds=31))
    drain_outbox()
    email = email_get(accepted["id"])
    assert ses_sent() == [] and email["status"] == "expired"
    assert [e["type"] for e in email["events"]] == ["accepted", "expired"]
    from tests.conftest import queue_messages

    assert queue_messages("emailhub-dlq") == []


def test_an_email_claimed_before_its_expiry_is_sent(send, verified, clock, ses_failures):
    accepted = send(message(expires_at=at(clock, minutes=5))).json()
    drain_outbox()
    assert len(ses_sent()) == 1 and email_get(accepted["id"])["status"] == "sent"


def test_a_retry_after_the_expiry_expires_instead(send, verified, clock, ses_failures, settings):
    settings.EMAILHUB_RETRY_BASE_SECONDS = 120  # the retry waits on the outbox for a minute or two
    ses_failures("Throttling", status=500)
    accepted = send(message(expires_at=at(clock, minutes=5))).json()
    drain_outbox()
    assert email_get(accepted["id"])["status"] == "retrying"
    clock.advance(timedelta(minutes=6))
    drain_outbox()
    assert ses_sent() == [] and email_get(accepted["id"])["status"] == "expired"


def test_the_tick_expires_a_scheduled_email_past_its_expiry(send, verified, clock):
    accepted = send(message(send_at=at(clock, hours=1), expires_at=at(clock, hours=1, seconds=30))).json()
    clock.advance(timedelta(hours=2))
    report = scheduler_tick()
    assert report.expired == [accepted["id"]] and report.enqueued == []
    assert email_get(accepted["id"])["status"] == "expired"


@pytest.mark.parametrize("send_at, code", [
    ("2026-13-45T99:00:00Z", "invalid_datetime"),
    ("2026-12-01T09:00:00", "invalid_datetime"),  # no offset
    ("next tuesday", "invalid_datetime"),
    ("9" * 5000, "invalid_datetime"),
    ("2026-12-01T09:00:00+01:00\n", "invalid_datetime"),
    (12345, "invalid_datetime"),
])
def test_malformed_send_at_is_a_clear_400(send, verified, send_at, code):
    response = send(message(send_at=send_at))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["field"] == "send_at"


@pytest.mark.parametrize("delta, code", [
    (timedelta(days=-1), "send_at_in_past"),
    (timedelta(days=31), "send_at_too_far"),
    (timedelta(days=365 * 5000), "send_at_too_far"),
])
def test_send_at_out_of_range_is_a_clear_400(send, verified, clock, delta, code):
    when = (clock.now + delta).isoformat() if abs(delta.days) < 3000 else "9999-12-31T23:59:59+00:00"
    response = send(message(send_at=when))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_expiry_before_send_at_is_refused(send, verified, clock):
    response = send(message(send_at=at(clock, hours=2), expires_at=at(clock, hours=1)))
    assert response.status_code == 400 and response.json()["error"]["code"] == "expires_before_send"


def test_a_retried_scheduled_request_replays_after_its_send_at_passed(send, verified, clock):
    body = message(send_at=at(clock, minutes=3))
    first = send(body, idempotency_key="later-1").json()
    clock.advance(timedelta(minutes=10))
    again = send(body, idempotency_key="later-1")
    assert again.status_code == 202 and again.json()["id"] == first["id"]


def test_cancel_and_reschedule_of_an_unknown_email_are_404(api, aws):
    assert api("post", "/emails/nope/cancel").status_code == 404
    assert api("patch", "/emails/nope", {"send_at": "2030-01-01T00:00:00Z"}).status_code == 404


def test_a_failed_scheduled_email_resent_by_staff_goes_now(send, verified, clock, ses_failures):
    from emailhub.resends import emails_resend

    ses_failures("MessageRejected")
    accepted = send(message(send_at=at(clock, minutes=2), expires_at=at(clock, minutes=3))).json()
    clock.advance(timedelta(minutes=2))
    drain_outbox()
    assert email_get(accepted["id"])["status"] == "failed"
    clock.advance(timedelta(hours=1))  # its send_at and expires_at are long past
    [result] = emails_resend(email_ids=[accepted["id"]], actor="staff", pause_seconds=0)
    assert result.outcome == "resent", result
    drain_outbox()
    assert len(ses_sent()) == 1 and email_get(result.child_id)["status"] == "sent"


def test_a_backlog_bigger_than_a_tick_is_finished_by_the_next_ticks(send, verified, clock, monkeypatch):
    from emailhub.scheduling import ticks

    monkeypatch.setattr(ticks, "MAX_PER_TICK", 2)
    ids = [send(message(send_at=at(clock, minutes=20, seconds=i))).json()["id"] for i in range(5)]
    clock.advance(timedelta(minutes=30))
    handed = [len(scheduler_tick().enqueued) for _ in range(3)]
    assert handed == [2, 2, 1]
    drain_outbox()
    assert len(ses_sent()) == 5 and {email_get(i)["status"] for i in ids} == {"sent"}


def test_a_recipient_suppressed_while_the_email_waited_is_not_sent_and_the_email_is_parked(send, verified, clock):
    """An email scheduled days ahead: its recipient bounces meanwhile (or staff
    suppress it); the worker checks the list again and parks the email for a
    human instead of sending it."""
    from emailhub.suppression import suppression_add
    from tests.conftest import RECIPIENT, queue_messages

    accepted = send(message(send_at=at(clock, days=2))).json()
    suppression_add(address=RECIPIENT, reason="hard bounce")
    clock.advance(timedelta(days=2))
    assert scheduler_tick().enqueued == [accepted["id"]]
    drain_outbox()
    email = email_get(accepted["id"])
    assert ses_sent() == [] and email["status"] == "failed"
    assert email["last_error"]["code"] == "suppressed_recipient" and RECIPIENT in email["last_error"]["message"]
    assert [m["email_id"] for m in queue_messages("emailhub-dlq")] == [accepted["id"]]


def test_a_fresh_email_is_not_checked_twice(send, verified, monkeypatch):
    """The accept checked the list in its own transaction moments ago: no extra read."""
    checked = []
    monkeypatch.setattr(services, "suppressed_among", lambda addresses: checked.append(addresses) or [])
    send(message())
    drain_outbox()
    assert checked == [] and len(ses_sent()) == 1


def test_a_scheduled_email_is_not_stuck_the_moment_it_is_sent(send, verified, clock, settings):
    from emailhub.stuck import emails_stuck

    settings.EMAILHUB_STUCK_LOOKBACK_DAYS = 3
    accepted = send(message(send_at=at(clock, days=2))).json()
    clock.advance(timedelta(days=2))
    scheduler_tick()
    drain_outbox()
    assert email_get(accepted["id"])["status"] == "sent"
    assert emails_stuck() == []
    clock.advance(timedelta(hours=settings.EMAILHUB_STUCK_SENT_HOURS, minutes=1))
    assert [s.email["id"] for s in emails_stuck()] == [accepted["id"]]  # no delivery event since it was sent


def test_an_email_held_while_sending_is_paused_can_still_be_canceled(send, verified, api, monkeypatch):
    """Deferred (paused sending, or the quota): no worker holds it and nothing
    was sent, so the client may still call it off."""
    from emailhub import reputation

    monkeypatch.setattr(reputation, "sending_paused", lambda: "The bounce rate is over its guard.")
    email_id = send(message()).json()["id"]
    assert services.email_deliver(email_id=email_id) == "deferred"  # what the worker does with its message
    held = email_get(email_id)
    assert held["status"] == "deferred" and held["attempts"] == 0
    answer = api("post", f"/emails/{email_id}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "canceled"
    monkeypatch.setattr(reputation, "sending_paused", lambda: None)
    assert services.email_deliver(email_id=email_id) != "sent"  # the resumed worker finds it canceled
    assert ses_sent() == [] and email_get(email_id)["status"] == "canceled"
