from django.urls import URLResolver, path
from django.urls.resolvers import RoutePattern
from django.views.generic import RedirectView

from emailhub.api import api

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # What `path("admin/", admin.site.urls)` builds, but with the module's name
    # instead of the module: Django imports it on first use (dashboard/urls.py).
    URLResolver(RoutePattern("admin/", is_endpoint=False), "dashboard.urls", app_name="admin", namespace="admin"),
    path("", api.urls),
]
