"""`manage.py backfill_log_index`: emails stored before the tag and
match-status indexes become findable; running it twice, or in pieces, does
the same as once."""

from io import StringIO

from django.core.management import call_command

from emailhub import model
from emailhub.aws import clients
from emailhub.selectors import LogFilter, email_log_page
from tests.conftest import drain_outbox, message
from tests.test_log_filters import all_emails, brute_force, today


def make_legacy(email_id):
    """What a release before the indexes stored: recipient items without a
    status, no tag items, no `companions` list."""
    dynamo = clients.client("dynamodb")
    pk = {"S": f"EMAIL#{email_id}"}
    items = dynamo.query(TableName="emailhub", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": pk})["Items"]
    for item in items:
        key = {"pk": pk, "sk": item["sk"]}
        if item["sk"]["S"] == "EMAIL":
            dynamo.update_item(TableName="emailhub", Key=key, UpdateExpression="REMOVE companions")
        elif item["sk"]["S"].startswith("TAG#"):
            dynamo.delete_item(TableName="emailhub", Key=key)
        else:
            dynamo.update_item(TableName="emailhub", Key=key, UpdateExpression="REMOVE #s, match_status",
                               ExpressionAttributeNames={"#s": "status"})


def backfill(*args):
    out = StringIO()
    call_command("backfill_log_index", *args, stdout=out)
    return out.getvalue()


def pages(day):
    """Every filter the back-fill serves, each compared with a brute-force read."""
    filters = [LogFilter(date_from=day, date_to=day, tag=("type", "alert")),
               LogFilter(date_from=day, date_to=day, tag=("type", "alert"), status="sent"),
               LogFilter(date_from=day, date_to=day, recipient="alice@example.com", status="sent"),
               LogFilter(date_from=day, date_to=day, recipient="alice@example.com", status="queued")]
    return [([e["id"] for e in email_log_page(log_filter=f, size=50)[0]], brute_force(f)) for f in filters]


def legacy_emails(send, count):
    ids = [send(message(tags={"type": "alert"}, subject=f"n{n}")).json()["id"] for n in range(count)]
    drain_outbox()
    ids.append(send(message(tags={"type": "alert"}, subject="still queued")).json()["id"])
    for email_id in ids:
        make_legacy(email_id)
    return ids


def test_backfill_makes_old_emails_findable_and_is_idempotent(send, verified):
    ids = legacy_emails(send, 3)
    day = today(ids[0])
    assert all(shown == [] for shown, _ in pages(day))  # the old emails are invisible to the new indexes

    out = backfill()
    assert "4 emails, 4 back-filled, 0 already had their index items" in out and "Done" in out
    for shown, expected in pages(day):
        assert shown == expected and shown
    drain_outbox()  # the queued one is sent now: its small items follow
    for shown, expected in pages(day):
        assert shown == expected

    before = {e["id"]: e for e in all_emails()}
    out = backfill()
    assert "0 back-filled, 4 already had their index items" in out
    assert {e["id"]: e for e in all_emails()} == before


def test_backfill_resumes_where_it_stopped(send, verified):
    ids = legacy_emails(send, 4)
    out = backfill("--max-emails", "2")
    assert "2 back-filled" in out and "run again" in out
    done = [e["id"] for e in all_emails() if "companions" in e]
    assert len(done) == 2

    out = backfill()
    assert out.startswith("Resuming at") and "3 emails, 3 back-filled, 0 already" in out
    assert all("companions" in e for e in all_emails())
    day = today(ids[0])
    for shown, expected in pages(day):
        assert shown == expected


def test_a_new_email_needs_no_backfill(send, verified):
    email_id = send(message(tags={"type": "alert"})).json()["id"]
    assert "0 back-filled, 1 already had their index items" in backfill()
    day = today(email_id)
    page, _ = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, tag=("type", "alert"),
                                                  status=model.QUEUED))
    assert [e["id"] for e in page] == [email_id]
