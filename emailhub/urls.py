from django.urls import path
from django.views.generic import RedirectView

from emailhub.api import api, openapi_document

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # What `path("admin/", admin.site.urls)` builds, with the module's name in
    # place of the module: Django imports it on first use (dashboard/urls.py).
    path("admin/", ("dashboard.urls", "admin", "admin")),
    path("api/openapi.json", openapi_document),  # ahead of django-ninja's own: adds `servers`
    path("", api.urls),
]
