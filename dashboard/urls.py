"""The admin's URLs (Django's and the dashboard's pages).

The root URLconf loads this module only when a path under /admin/ is first
resolved, or a URL is first reversed: an API cold start then never imports
the admin's ModelAdmins, their forms and the dashboard's views. That is also
why the admin app is a SimpleAdminConfig: the admin modules of the installed
apps are discovered here, not at start-up.
"""

from django.contrib import admin

admin.autodiscover()

urlpatterns = admin.site.get_urls()
