from django.contrib.admin.apps import SimpleAdminConfig
from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Emailhub dashboard"
    default_auto_field = "django.db.models.BigAutoField"


class DashboardAdminConfig(SimpleAdminConfig):
    """The Django admin, with Emailhub's site as `admin.site`. Its admin
    modules are discovered with its URLs (dashboard/urls.py), not at start-up."""

    default_site = "dashboard.site.EmailhubAdminSite"
