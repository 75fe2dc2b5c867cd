"""Staff accounts (admins only): list, add, change role, deactivate and
reactivate, reset a password (shown once, like an API key), turn off a lost
second factor, lift a sign-in lock. Changes are confirmed on GET and made on
POST; the services audit them."""

from django.contrib import messages
from django.http import Http404
from django.urls import reverse

from dashboard.forms import StaffCreateForm, StaffRoleForm
from dashboard.pages import MANAGE_STAFF, actor, done, render_page, require
from emailhub.staff.accounts import (
    StaffError, staff_create, staff_get, staff_list, staff_mfa_reset, staff_set_active, staff_set_password,
    staff_set_role, staff_unlock,
)
from emailhub.staff.throttle import login_lock_of

# Handed to the next page through the server-side session (never a cookie), then gone.
NEW_PASSWORD = "dashboard.new_password"

CHANGES = {
    "deactivate": ("Deactivate", "They are signed out everywhere on their next request and cannot sign in."),
    "reactivate": ("Reactivate", "They can sign in again with their password."),
    "password": ("Reset the password of", "A new password is generated and shown once; "
                 "they are signed out everywhere."),
    "mfa": ("Turn off two-factor for", "They sign in with their password alone until they enrol again; "
            "they are signed out everywhere."),
    "unlock": ("Unlock sign-in for", "The lock set by repeated failed sign-ins is lifted at once."),
}
# Your own account: these would sign you out with nothing to show for it.
NOT_ON_YOURSELF = {"deactivate": "You cannot deactivate yourself; ask another admin.",
                   "password": "Change your own password under “Change password” (it keeps you signed in)."}


@require(MANAGE_STAFF)
def staff_page(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, password = staff_create(actor=actor(request), **form.cleaned_data)
        except StaffError as err:
            form.add_error(None, err.message)
        else:
            request.session[NEW_PASSWORD] = {"username": user.username, "password": password}
            return done(request, f"Staff user {user.username} created ({user.role}).",
                        reverse("admin:staff_detail", args=[user.username]))
    return render_page(request, "dashboard/staff.html", title="Staff", users=staff_list(), form=form)


def _user_or_404(username):
    user = staff_get(username=username)
    if user is None:
        raise Http404("No such staff user.")
    return user


@require(MANAGE_STAFF)
def staff_detail(request, username):
    user = _user_or_404(username)
    shown = request.session.pop(NEW_PASSWORD, None)
    return render_page(request, "dashboard/staff_detail.html", title=f"Staff user {user.username}",
                       breadcrumbs=[("Staff", reverse("admin:staff"))], subject=user,
                       role_form=StaffRoleForm(initial={"role": user.role}), lock=login_lock_of(username=user.username),
                       yourself=user.username == request.user.get_username(),
                       new_password=shown["password"] if shown and shown["username"] == user.username else None)


@require(MANAGE_STAFF)
def staff_change(request, username, change):
    user = _user_or_404(username)
    back = reverse("admin:staff_detail", args=[user.username])
    if change == "role":
        return _role(request, user, back)
    if change not in CHANGES:
        raise Http404("No such change.")
    if change in NOT_ON_YOURSELF and user.username == request.user.get_username():
        return done(request, NOT_ON_YOURSELF[change], back, level=messages.ERROR)
    if request.method != "POST":
        verb, effect = CHANGES[change]
        return render_page(request, "dashboard/confirm_staff.html", title=f"{verb} {user.username}",
                           breadcrumbs=[("Staff", reverse("admin:staff")), (user.username, back)],
                           verb=verb, effect=effect, subject=user, back=back)
    try:
        text = _apply(request, user, change)
    except StaffError as err:
        return done(request, err.message, back, level=messages.ERROR)
    return done(request, text, back)


def _apply(request, user, change):
    who = actor(request)
    if change in ("deactivate", "reactivate"):
        staff_set_active(username=user.username, active=change == "reactivate", actor=who)
        return f"{user.username} {change}d."
    if change == "password":
        password = staff_set_password(username=user.username, actor=who)
        request.session[NEW_PASSWORD] = {"username": user.username, "password": password}
        return f"New password for {user.username} set."
    if change == "unlock":
        staff_unlock(username=user.username, actor=who)
        return f"Sign-in unlocked for {user.username}."
    staff_mfa_reset(username=user.username, actor=who)
    return f"Two-factor turned off for {user.username}."


def _role(request, user, back):
    form = StaffRoleForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return done(request, "Choose a role and press Change role.", back, level=messages.ERROR)
    try:
        changed = staff_set_role(username=user.username, role=form.cleaned_data["role"], actor=actor(request))
    except StaffError as err:
        return done(request, err.message, back, level=messages.ERROR)
    return done(request, f"{user.username} is now {changed.role}.", back)
