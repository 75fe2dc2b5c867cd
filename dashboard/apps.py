from django.apps import AppConfig
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Emailhub dashboard"
    default_auto_field = "django.db.models.BigAutoField"


class DashboardAdminConfig(SimpleAdminConfig):
    """The Django admin, with Emailhub's site as `admin.site`. Its admin
    modules are discovered with its URLs (dashboard/urls.py), not at start-up."""

    default_site = "dashboard.site.EmailhubAdminSite"

    def ready(self):
        # SimpleAdminConfig.ready() registers these two checks; the admin app's
        # own check must see the ModelAdmins the URLs will load, whatever order
        # Django runs its checks in.
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_admin_app_discovered, checks.Tags.admin)


def check_admin_app_discovered(app_configs, **kwargs):
    from django.contrib import admin

    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)
