"""What a user sets for themselves on their profile: how early they are reminded, and their language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from ciclo.accounts.models import Profile
from ciclo.history.models import Change, record_change, snapshot
from ciclo.http import parse_int
from ciclo.reminders.feeds import calendar_settings
from ciclo.reminders.models import MAX_LEAD_MINUTES, CalendarSettings


class PreferencesInvalid(Exception):
    """Bad values; `errors` maps each field to its messages. Nothing was changed."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


def check_preferences(lead_minutes: Any, language: Any) -> tuple[int, str, dict[str, list[str]]]:
    """The values as they are kept (lead minutes from 1 to MAX_LEAD_MINUTES; a language of the site, or ""
    for the site's), and the errors by field. Text is read as a form sends it."""
    errors: dict[str, list[str]] = {}
    minutes = lead_minutes if isinstance(lead_minutes, int) and not isinstance(lead_minutes, bool) else None
    if minutes is None and isinstance(lead_minutes, str):
        minutes = parse_int(lead_minutes.strip(), minimum=0)
    if minutes is None or not 1 <= minutes <= MAX_LEAD_MINUTES:
        errors["lead_minutes"] = [
            _("Give the reminder's lead time as whole minutes from 1 to %(max)s.") % {"max": MAX_LEAD_MINUTES}
        ]
    chosen = language.strip().lower() if isinstance(language, str) else None
    if chosen is None or (chosen and chosen not in dict(settings.LANGUAGES)):
        errors["language"] = [_("Choose one of the languages offered.")]
    return minutes or 0, chosen or "", errors


def change_preferences(user: Any, *, by: Any, lead_minutes: Any, language: Any) -> bool:
    """Set the user's reminder lead time and language; False when nothing changed. A history row per change."""
    minutes, chosen, errors = check_preferences(lead_minutes, language)
    if errors:
        raise PreferencesInvalid(errors)
    changed = False
    with transaction.atomic():
        found = calendar_settings(user)
        found = CalendarSettings.objects.select_for_update().get(pk=found.pk)
        if found.lead_minutes != minutes:
            before = snapshot(found)
            found.lead_minutes = minutes
            found.save(update_fields=["lead_minutes"])
            record_change(found, by=by, action=Change.Action.CHANGED, before=before)
            changed = True
        profile, _created = Profile.objects.select_for_update().get_or_create(user_id=user.pk)
        if profile.language != chosen:
            before = snapshot(profile)
            profile.language = chosen
            profile.save(update_fields=["language"])
            record_change(profile, by=by, action=Change.Action.CHANGED, before=before)
            changed = True
    return changed
