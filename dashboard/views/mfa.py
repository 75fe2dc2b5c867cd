"""Your own second factor: enrol with a QR code drawn on the server, or turn it off."""

from django.contrib import messages
from django.urls import reverse

from dashboard.forms import MfaEnrolForm
from dashboard.pages import actor, done, render_page
from emailhub.staff import throttle
from emailhub.staff.accounts import staff_mfa_reset
from emailhub.staff.mfa import mfa_enable, mfa_qr_svg, mfa_secret_new, mfa_verify
from emailhub.staff.roles import mfa_required

# The secret being enrolled waits in the server-side session, never in a cookie.
PENDING = "dashboard.mfa_pending"


def mfa_page(request):
    user = request.user
    if user.mfa_enabled:
        return _enrolled(request, user)
    secret = request.session.get(PENDING) or mfa_secret_new()
    request.session[PENDING] = secret
    form = MfaEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa_enable(user=user, secret=secret, code=form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            return done(request, "Two-factor sign-in is on: you will be asked for a code each time.",
                        reverse("admin:index"))
        form.add_error("code", "That code does not match. Check the time on your phone and try the next code.")
    return render_page(request, "dashboard/two_factor.html", title="Two-factor sign-in", form=form,
                       qr=mfa_qr_svg(secret=secret, username=user.username), secret=secret,
                       required=mfa_required(user))


def _enrolled(request, user):
    form = MfaEnrolForm(request.POST or None)
    required = mfa_required(user)
    if request.method == "POST" and not required and form.is_valid():
        try:  # throttled like a sign-in: a borrowed session cannot guess codes
            right = throttle.guarded(lambda: mfa_verify(user=user, code=form.cleaned_data["code"]),
                                     username=user.username)
        except throttle.Locked as locked:
            right = False
            form.add_error("code", locked.lock.message)
        if right:
            staff_mfa_reset(username=user.username, actor=actor(request))
            return done(request, "Two-factor sign-in is off. Sign in again.", reverse("admin:login"),
                        level=messages.WARNING)
        if not form.errors:
            form.add_error("code", "That code does not match.")
    return render_page(request, "dashboard/two_factor.html", title="Two-factor sign-in", form=form,
                       enrolled=True, required=required)
