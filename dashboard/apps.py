from django.apps import AppConfig
from django.contrib.admin.apps import SimpleAdminConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Emailhub dashboard"


class DashboardAdminConfig(SimpleAdminConfig):
    """The Django admin, with Emailhub's site as `admin.site`. Nothing is
    autodiscovered: the site registers no ModelAdmin (Django's Users and
    Groups pages would need the ORM)."""

    default_site = "dashboard.site.EmailhubAdminSite"
