"""The new statuses as staff see them: badges, the log's status filter, the timeline."""

from datetime import timedelta

from emailhub import model
from emailhub.staff.roles import ADMIN
from tests.conftest import message


def test_scheduled_canceled_and_expired_show_in_the_log_and_the_detail(send, verified, clock, staff_client, client,
                                                                        api_key):
    scheduled = send(message(subject="Later", send_at=(clock.now + timedelta(hours=3)).isoformat())).json()
    canceled = send(message(subject="Never", send_at=(clock.now + timedelta(hours=3)).isoformat())).json()
    client.post(f"/emails/{canceled['id']}/cancel", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    staff = staff_client(ADMIN)
    day = clock.now.date().isoformat()
    for status, email_id in (("scheduled", scheduled["id"]), ("canceled", canceled["id"])):
        page = staff.get("/admin/emails/", {"status": status, "date_from": day, "date_to": day}).content.decode()
        assert email_id in page and f'eh-status eh-{status}' in page
    detail = staff.get(f"/admin/emails/{canceled['id']}/").content.decode()
    assert "Canceled before it was sent" in detail and "Send at" in detail
    css = open("dashboard/static/dashboard/dashboard.css").read()
    assert all(f".eh-{status} " in css for status in (model.SCHEDULED, model.CANCELED, model.EXPIRED))
