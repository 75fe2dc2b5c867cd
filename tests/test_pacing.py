"""Quota pacing: a token bucket on an injected clock, and deferral when the day's quota is used up."""

import pytest

from emailhub import pacing
from emailhub.emails import email_get
from tests.conftest import drain_outbox, message, ses_sent


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_bucket_turns_a_burst_into_a_steady_stream():
    clock = FakeClock()
    bucket = pacing.TokenBucket(14, clock=clock, sleep=clock.sleep)
    sent_at = []
    for _ in range(29):
        bucket.acquire()
        sent_at.append(clock.now)
    assert sent_at[-1] - sent_at[0] == pytest.approx(28 / 14)
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:])]
    assert max(gaps) == pytest.approx(1 / 14) and min(gaps) == pytest.approx(1 / 14)
    # No send ever exceeds the rate inside any one-second window.
    assert max(sum(1 for t in sent_at if start <= t < start + 1) for start in sent_at) <= 14


def test_bucket_does_not_wait_when_idle():
    clock = FakeClock()
    bucket = pacing.TokenBucket(2, clock=clock, sleep=clock.sleep)
    assert bucket.acquire() == 0
    clock.now += 10
    assert bucket.acquire() == 0  # tokens refilled, but never more than the burst
    assert bucket.acquire() == pytest.approx(0.5)


def test_worker_paces_to_the_accounts_rate(send, verified, settings, monkeypatch):
    settings.EMAILHUB_SES_PACING = True
    monkeypatch.setattr(pacing.ses, "send_quota",
                        lambda: {"Max24HourSend": 1000.0, "SentLast24Hours": 0.0, "MaxSendRate": 20.0})
    clock = FakeClock()  # only the bucket's own waits move it
    monkeypatch.setattr(pacing, "clock", clock)
    monkeypatch.setattr(pacing, "sleep", clock.sleep)
    for _ in range(6):
        send(message())
    drain_outbox()
    assert len(ses_sent()) == 6
    # Six sends at 90% of 20/s (headroom for jitter): five gaps of 1/18 s.
    assert clock.now - 1000.0 == pytest.approx(5 / 18)


def test_used_up_quota_defers_before_claiming(send, verified, settings, monkeypatch):
    settings.EMAILHUB_QUOTA_RETRY_SECONDS = 0
    quota = {"Max24HourSend": 5.0, "SentLast24Hours": 5.0, "MaxSendRate": 14.0}
    monkeypatch.setattr(pacing.ses, "send_quota", lambda: dict(quota))
    email_id = send(message()).json()["id"]
    from emailhub.local.poller import poll_once

    poll_once(wait_seconds=0)
    email = email_get(email_id)
    assert email["status"] == "deferred" and email["attempts"] == 0 and ses_sent() == []
    quota["SentLast24Hours"] = 0.0  # the 24-hour window moved on
    pacing.reset()
    drain_outbox()
    assert email_get(email_id)["status"] == "sent"


def test_quota_counts_local_sends_between_reads(send, verified, settings, monkeypatch):
    settings.EMAILHUB_QUOTA_RETRY_SECONDS = 0
    monkeypatch.setattr(pacing.ses, "send_quota",
                        lambda: {"Max24HourSend": 2.0, "SentLast24Hours": 0.0, "MaxSendRate": 100.0})
    ids = [send(message(subject=f"n{n}")).json()["id"] for n in range(3)]
    from emailhub.local.poller import poll_once

    poll_once(wait_seconds=0)
    assert sorted(email_get(i)["status"] for i in ids) == ["deferred", "sent", "sent"]


def test_each_recipient_takes_a_slot(send, verified, settings, monkeypatch):
    from emailhub.identities import identity_verify

    settings.EMAILHUB_SES_PACING = True
    settings.EMAILHUB_SES_RATE_SHARE = 1.0
    identity_verify(identity="example.com")
    monkeypatch.setattr(pacing.ses, "send_quota",
                        lambda: {"Max24HourSend": 1000.0, "SentLast24Hours": 0.0, "MaxSendRate": 10.0})
    clock = FakeClock()
    monkeypatch.setattr(pacing, "clock", clock)
    monkeypatch.setattr(pacing, "sleep", clock.sleep)
    send(message(to=[f"user{n}@example.com" for n in range(5)]))
    send(message())
    drain_outbox()
    # SES counts recipients: 5 + 1 of them at 10/s, the first free.
    assert clock.now - 1000.0 == pytest.approx(5 / 10)


@pytest.mark.parametrize("paced", [True, False])
def test_unreadable_quota_does_not_block_sending(send, verified, monkeypatch, settings, paced):
    settings.EMAILHUB_SES_PACING = paced
    from emailhub.errors import AwsUnavailable

    def down():
        raise AwsUnavailable("SES is down")

    monkeypatch.setattr(pacing.ses, "send_quota", down)
    email_id = send(message()).json()["id"]
    drain_outbox()
    assert email_get(email_id)["status"] == "sent"
