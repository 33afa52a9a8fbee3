from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from ciclo.jobs import views as jobs_views


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page links: send them to the icon."""
    return HttpResponsePermanentRedirect(static("ciclo/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", jobs_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("ciclo.api.urls")),
    path("accounts/", include("ciclo.accounts.urls")),
    path("followup/", include("ciclo.sales.urls")),
    path("agenda/", include("ciclo.agenda.urls")),
    path("calendar/", include("ciclo.reminders.urls")),
    path("receivables/", include("ciclo.receivables_import.urls")),
    path("insight/", include("ciclo.insight.urls")),
    path("collections/", include("ciclo.collections.urls")),
    path("", include("ciclo.tickets.urls")),
]
