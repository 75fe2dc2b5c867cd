"""The admin's URLs (Django's and the dashboard's pages).

The root URLconf loads this module only when a path under /admin/ is first
resolved, or a URL is first reversed: an API cold start then never imports
the dashboard's views. No ModelAdmin is registered (and none discovered):
nothing in the dashboard is stored by the ORM.
"""

from django.contrib import admin

urlpatterns = admin.site.get_urls()
