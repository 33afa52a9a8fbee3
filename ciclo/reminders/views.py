"""The calendar's pages: a user's feed (by its secret URL), one appointment as .ics, the feed's renewal
and revocation from the profile, and dismissing a reminder's notice on the home page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.models import Profile
from ciclo.accounts.roles import role_of
from ciclo.agenda.appointments import visible_users
from ciclo.agenda.models import Appointment
from ciclo.http import HtmxHttpRequest
from ciclo.reminders import feeds
from ciclo.reminders.sending import dismiss_notice

CALENDAR_TYPE = "text/calendar; charset=utf-8"


def _site(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=CALENDAR_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # The URL is a secret: no cache in between keeps a copy, no search engine lists it.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _language(user_id: int) -> str:
    chosen = Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    return chosen or settings.LANGUAGE_CODE


@require_safe
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """The user's appointments as iCalendar, for their calendar application: the token (`?key=`) is the only key.

    The token is in the query string, which the access log and the 404 warnings never write.
    An unknown or revoked token, or a user who may no longer use Ciclo, is a 404 like any other.
    """
    user = feeds.feed_user(request.GET.get(feeds.FEED_KEY, ""))
    if user is None or role_of(user) is None:
        raise Http404(_("No such calendar."))
    with translation.override(_language(user.pk)):
        body = feeds.feed_bytes(user, site=_site(request))
    return _ics(body, "ciclo.ics")


@require_safe
@ciclo_user
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One appointment as an .ics file, for whoever may open its agenda (404 for anyone else)."""
    found = Appointment.objects.filter(pk=pk, user__in=visible_users(request.user)).values(*feeds.EVENT_FIELDS).first()
    if found is None:
        raise Http404(_("No such appointment."))
    body = feeds.calendar_bytes([found], name=found["title"], site=_site(request))
    return _ics(body, f"appointment-{pk}.ics")


@require_POST
@ciclo_user
def renew_feed(request: HttpRequest) -> HttpResponse:
    feeds.renew_feed(request.user, by=request.user)
    messages.success(
        request, _("Your calendar has a new address. The old one no longer works: update your calendar application.")
    )
    return redirect("profile")


@require_POST
@ciclo_user
def revoke_feed(request: HttpRequest) -> HttpResponse:
    if feeds.revoke_feed(request.user, by=request.user):
        messages.success(request, _("Your calendar's address no longer works. Make a new one when you want it again."))
    else:
        messages.info(request, _("Your calendar's address was already turned off."))
    return redirect("profile")


@require_POST
@ciclo_user
def dismiss(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Hide a reminder's notice from the home page (only the user's own; another's is a 404)."""
    if not dismiss_notice(request.user, pk):
        raise Http404(_("No such notice."))
    if request.htmx:
        return HttpResponse("")
    return redirect("home")
