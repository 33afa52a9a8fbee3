"""The user's own profile: their calendar feed's address (renewed and revoked in ciclo.reminders.views),
how early they are reminded of an appointment, and the language Ciclo writes to them in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.models import Profile
from ciclo.reminders.feeds import calendar_settings, feed_path
from ciclo.reminders.preferences import PreferencesInvalid, change_preferences


@require_http_methods(["GET", "HEAD", "POST"])
@ciclo_user
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # a user with a role (ciclo_user)
    found = calendar_settings(user)
    language = Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""
    values = {"lead_minutes": str(found.lead_minutes), "language": language}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            changed = change_preferences(
                user, by=user, lead_minutes=values["lead_minutes"], language=values["language"]
            )
        except PreferencesInvalid as exc:
            errors, status = exc.errors, 422
        else:
            messages.success(request, _("Your preferences are saved.") if changed else _("Nothing changed."))
            return redirect("profile")
    path = feed_path(user)
    return render(
        request,
        "accounts/profile.html",
        {
            "nav": "profile",
            "feed_url": request.build_absolute_uri(path) if path else "",
            "feed_made_at": found.feed_token_created_at,
            "values": values,
            "errors": errors,
            "language_choices": settings.LANGUAGES,
        },
        status=status,
    )
