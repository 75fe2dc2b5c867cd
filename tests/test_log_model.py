"""Emails are found by id, status over time and recipient: each a Query, never a Scan."""

import pytest

from emailhub import model
from datetime import date

from emailhub.selectors import LogFilter, email_by_ses_message_id, email_log_page
from tests.conftest import drain_outbox, message


@pytest.fixture
def no_scans(dynamodb_calls):
    yield dynamodb_calls
    assert "scan" not in dynamodb_calls


def test_find_by_status_day_and_recipient(send, verified, no_scans):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.org")
    first = send(message()).json()["id"]
    second = send(message(to=["bob@example.org"], cc=["alice@example.com"])).json()["id"]
    third = send(message(to=["carol@example.org"])).json()["id"]
    drain_outbox()
    day = date.fromisoformat(model.email_created_day(first))

    def page(size=50, position=None, **filters):
        return email_log_page(log_filter=LogFilter(date_from=day, date_to=day, **filters), position=position, size=size)

    sent, _ = page(status="sent")
    assert [e["id"] for e in sent] == [third, second, first]  # newest first
    assert sent[0]["summary"]["to"] == ["carol@example.org"]
    assert page(status="queued")[0] == []

    first_page, position = page(size=2)
    assert [e["id"] for e in first_page] == [third, second] and position
    rest, _ = page(size=2, position=position)
    assert [e["id"] for e in rest] == [first]

    alice, _ = page(recipient="alice@example.com")
    assert [e["id"] for e in alice] == [second, first]


def test_find_by_ses_message_id(send, verified):
    email_id = send(message()).json()["id"]
    drain_outbox()
    from emailhub.emails import email_get

    ses_id = email_get(email_id)["ses_message_id"]
    assert email_by_ses_message_id(ses_message_id=ses_id)["id"] == email_id


def test_items_carry_a_ttl(send, verified, settings):
    from emailhub.emails import email_get

    settings.EMAILHUB_RETENTION_DAYS = 10
    email = email_get(send(message()).json()["id"])
    created = model.parse_iso(email["created_at"])
    assert email["expires_at"] == model.epoch(created) + 10 * 86400


def test_email_ids_are_time_ordered_and_carry_their_day():
    from datetime import datetime, timezone

    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    email_id = model.new_email_id(moment)
    assert model.is_email_id(email_id)
    assert model.email_created_day(email_id) == "2026-01-02"
    assert model.new_email_id(moment.replace(second=6)) > email_id


def test_filtered_pages_neither_skip_nor_repeat(send, verified):
    """Queries read whole pages and cut them: the next page must start right after the last row shown."""
    ids = []
    for n in range(9):
        ids.append(send(message(subject=f"n{n}", tags={"kind": "alert" if n % 3 else "receipt"})).json()["id"])
    day = date.fromisoformat(model.email_created_day(ids[0]))
    log_filter = LogFilter(date_from=day, date_to=day, tag=("kind", "alert"))
    seen, position = [], None
    while True:
        page, position = email_log_page(log_filter=log_filter, position=position, size=2)
        seen += [e["summary"]["subject"] for e in page]
        if not position:
            break
    assert seen == [f"n{n}" for n in (8, 7, 5, 4, 2, 1)]

    by_recipient, position = email_log_page(
        log_filter=LogFilter(date_from=day, date_to=day, recipient="alice@example.com", tag=("kind", "alert")),
        size=4)
    more, _ = email_log_page(
        log_filter=LogFilter(date_from=day, date_to=day, recipient="alice@example.com", tag=("kind", "alert")),
        size=4, position=position)
    assert [e["summary"]["subject"] for e in by_recipient + more] == [f"n{n}" for n in (8, 7, 5, 4, 2, 1)]
