"""What a cold start loads: the dashboard only with its URLs (an API cold start
never imports its views, nor the second factor's libraries), no ModelAdmin at
all (Django's Users and Groups pages would need the ORM); and the long-lived
objects are frozen out of the garbage collector's walks once the apps are ready."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: the test process has long since loaded the admin.
SCRIPT = """
import sys
import django

django.setup()
from django.contrib.admin.checks import ModelAdminChecks
from django.core import checks
from django.urls import Resolver404, resolve

def loaded():  # the dashboard's views, the TOTP library, Django's auth ModelAdmins
    return [name in sys.modules for name in ("dashboard.views.emails", "pyotp", "django.contrib.auth.admin")]

for path in ("/send-email", "/emails/0190c0de-0000-7000-8000-000000000000", "/health", "/nowhere"):
    try:
        resolve(path)
    except Resolver404:
        pass
print("api", *loaded())

checked = []
check = ModelAdminChecks.check
ModelAdminChecks.check = lambda self, admin_obj, **kw: checked.append(type(admin_obj).__name__) or check(self, admin_obj, **kw)
errors = checks.run_checks(tags=[checks.Tags.admin])
print("checks", *sorted(checked), len(errors))

resolve("/admin/emails/")
print("admin", *loaded())
"""


def _run(script):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "emailhub.settings"}
    ran = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return ran


def test_api_paths_leave_the_dashboard_unloaded_and_no_model_admin_exists():
    ran = _run(SCRIPT)
    assert ran.stdout.splitlines() == [
        "api False False False",
        "checks 0",
        "admin True True False",
    ]


def test_the_apps_leave_the_collector_on_with_what_they_loaded_frozen():
    ran = _run("import gc, django; before = gc.get_freeze_count(); django.setup(); "
               "print(before, gc.get_freeze_count() > 50_000, gc.isenabled())")
    assert ran.stdout.split() == ["0", "True", "True"]
