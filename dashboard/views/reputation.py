"""Resume sending that the reputation guard paused: confirm on GET, act on POST."""

from django.conf import settings
from django.urls import reverse

from dashboard.pages import RESUME_SENDING, actor, done, render_page, require
from emailhub.audit import audit_record
from emailhub.reputation import reputation_read, reputation_resume


@require(RESUME_SENDING)
def sending_resume(request):
    reputation = reputation_read()
    if request.method == "POST":
        item = reputation_resume(actor=actor(request))
        rates = (f"bounce rate {reputation.bounce_rate:.2f} %, complaint rate {reputation.complaint_rate:.3f} % "
                 f"over {reputation.sent} sent")
        audit_record(actor=actor(request), action="sending.resume", target="reputation guard",
                     outcome=f"resumed sending until {item['resumed_until']} ({rates})")
        return done(request, f"Sending resumed until {item['resumed_until']} UTC.", reverse("admin:index"))
    return render_page(request, "dashboard/confirm_resume.html", title="Resume sending",
                       reputation=reputation, resume_hours=settings.EMAILHUB_GUARD_RESUME_HOURS)
