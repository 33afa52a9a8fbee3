"""Calendar feeds: each user's private iCalendar URL (a secret token), and the iCalendar of appointments.

The feed lists the user's appointments from FEED_PAST_DAYS back to FEED_FUTURE_DAYS ahead, each a
VEVENT whose UID is the appointment's uid (stable however often it moves), whose SEQUENCE is the
appointment's sequence and LAST-MODIFIED its last change, so that a calendar application updates
the event it already has instead of adding another; a cancelled appointment stays in the feed with
STATUS:CANCELLED, which removes it from the application's calendar. Times are written in the site's
time zone (America/Sao_Paulo) with its VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ciclo.history.models import Change, record_change, snapshot
from ciclo.reminders.models import CalendarSettings

# The feed's token travels in the query string (?key=): logs write paths, never query strings.
FEED_KEY = "key"
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 180
PRODID = "-//Ciclo//Agenda//EN"
# A feed's written VEVENTs are kept this long (calendar_bytes), each under a digest of everything it
# shows (event_key): an appointment that changes gets another, so a kept event is never out of date.
FEED_CACHE_SECONDS = 7 * 24 * 3600

# What a VEVENT shows, as .values() names it: the feed reads no model instances.
EVENT_FIELDS = (
    "uid",
    "start",
    "end",
    "title",
    "place",
    "channel",
    "notes",
    "status",
    "sequence",
    "created_at",
    "updated_at",
    "ticket_id",
    "ticket__subject",
    "person__name",
)


# ---- the feed's token -----------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_settings(user: Any) -> CalendarSettings:
    """The user's calendar settings, made on first use with a feed token.

    Every user has a feed until they revoke it.
    """
    found = CalendarSettings.objects.filter(user_id=user.pk).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            made = CalendarSettings.objects.create(
                user_id=user.pk, feed_token=_new_token(), feed_token_created_at=timezone.now()
            )
    except IntegrityError:
        # Made by another request of the same user at the same moment.
        return CalendarSettings.objects.get(user_id=user.pk)
    return made


def renew_feed(user: Any, *, by: Any) -> CalendarSettings:
    """A new secret for the user's feed: the new URL works at once, the old one answers 404 from now on."""
    with transaction.atomic():
        found = calendar_settings(user)
        found = CalendarSettings.objects.select_for_update().get(pk=found.pk)
        before = snapshot(found)
        found.feed_token = _new_token()
        found.feed_token_created_at = timezone.now()
        found.save(update_fields=["feed_token", "feed_token_created_at"])
        # The token is a secret field: the row says that the URL was made again, never what it is.
        record_change(found, by=by, action=Change.Action.CHANGED, before=before, extra={"feed_renewed": [False, True]})
    return found


def revoke_feed(user: Any, *, by: Any) -> bool:
    """The user's feed stops answering (404) until they make a new URL; False when it was revoked already."""
    with transaction.atomic():
        found = calendar_settings(user)
        found = CalendarSettings.objects.select_for_update().get(pk=found.pk)
        if found.feed_token is None:
            return False
        before = snapshot(found)
        found.feed_token = None
        found.feed_token_created_at = None
        found.save(update_fields=["feed_token", "feed_token_created_at"])
        record_change(found, by=by, action=Change.Action.DEACTIVATED, before=before)
    return True


def feed_user(token: str) -> Any | None:
    """The active user whose feed `token` opens, or None (no such token, revoked, or the user is inactive)."""
    if not token or len(token) > 64:
        return None
    found = CalendarSettings.objects.filter(feed_token=token).select_related("user").first()
    if found is None or not found.user.is_active:
        return None
    return found.user


def feed_path(user: Any) -> str | None:
    """The path and query of the user's feed (None when revoked); the URL is this on the site's address."""
    token = calendar_settings(user).feed_token
    return None if token is None else f"{reverse('calendar_feed')}?{urlencode({FEED_KEY: token})}"


# ---- iCalendar ------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    return calendar


def _timezone(first: dt.date, last: dt.date) -> icalendar.Timezone:
    return icalendar.Timezone.from_tzid(settings.TIME_ZONE, first_date=first, last_date=last)


_STATUS = {"planned": "CONFIRMED", "done": "CONFIRMED", "cancelled": "CANCELLED"}


def _channel_label(channel: str) -> str:
    from ciclo.tickets.models import Channel

    return str(Channel(channel).label) if channel in Channel.values else channel


def event(row: Mapping[str, Any], *, site: str, stamp: dt.datetime) -> icalendar.Event:
    """The VEVENT of one appointment (the values of EVENT_FIELDS); `site` is the address links start with.

    Each property is given as its iCalendar type: icalendar need not guess it from the value.
    """
    zone = _zone()
    ev = icalendar.Event()
    ev["UID"] = icalendar.vText(str(row["uid"]))
    ev["DTSTAMP"] = icalendar.vDDDTypes(stamp)
    ev["DTSTART"] = icalendar.vDDDTypes(row["start"].astimezone(zone))
    ev["DTEND"] = icalendar.vDDDTypes(row["end"].astimezone(zone))
    ev["SEQUENCE"] = icalendar.vInt(row["sequence"])
    ev["CREATED"] = icalendar.vDDDTypes(row["created_at"].astimezone(dt.UTC))
    ev["LAST-MODIFIED"] = icalendar.vDDDTypes(row["updated_at"].astimezone(dt.UTC))
    ev["STATUS"] = icalendar.vText(_STATUS.get(row["status"], "CONFIRMED"))
    ev["SUMMARY"] = icalendar.vText(row["title"])
    lines = []
    if row["person__name"]:
        lines.append(_("Person: %(name)s") % {"name": row["person__name"]})
    if row["ticket_id"] is not None:
        lines.append(_("Ticket %(id)s: %(subject)s") % {"id": row["ticket_id"], "subject": row["ticket__subject"]})
    if row["channel"]:
        lines.append(_("Channel: %(channel)s") % {"channel": _channel_label(row["channel"])})
    if row["notes"]:
        lines.append(row["notes"])
    if lines:
        ev["DESCRIPTION"] = icalendar.vText("\n".join(lines))
    location = row["place"] or (_channel_label(row["channel"]) if row["channel"] else "")
    if location:
        ev["LOCATION"] = icalendar.vText(location)
    if row["ticket_id"] is not None:
        ev["URL"] = icalendar.vUri(site + reverse("ticket", args=[row["ticket_id"]]))
    return ev


def event_key(row: Mapping[str, Any]) -> bytes:
    """A digest of every value the VEVENT shows: any change to the appointment (its sequence, its last
    change), its person's name or its ticket's subject makes another."""
    raw = "\x1f".join(str(row[name]) for name in EVENT_FIELDS)
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def calendar_bytes(
    rows: Iterable[Mapping[str, Any]],
    *,
    name: str,
    site: str,
    at: dt.datetime | None = None,
    cache_key: str | None = None,
) -> bytes:
    """The iCalendar text (VCALENDAR with its VTIMEZONE and a VEVENT per row) of the appointments `rows`.

    With a `cache_key` (a user's feed), the VEVENTs written are kept in Django's cache, in one entry
    under that key, by event_key: the next request writes again only the events whose appointment
    changed. Writing a VEVENT (icalendar folds each line character by character) costs ~0.2 ms,
    which a feed of 2,000 appointments cannot pay on every request. DTSTAMP is when the event was
    written, which RFC 5545 allows for a published calendar (METHOD:PUBLISH).
    """
    now = at or timezone.now()
    rows = list(rows)
    keys = [event_key(row) for row in rows]
    kept: dict[bytes, bytes] = (cache.get(cache_key) or {}) if cache_key else {}
    events: dict[bytes, bytes] = {}
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for row, key in zip(rows, keys, strict=True):
        if key not in events:
            found = kept.get(key)
            events[key] = found if found is not None else event(row, site=site, stamp=stamp).to_ical()
    if cache_key and events.keys() != kept.keys():
        cache.set(cache_key, events, FEED_CACHE_SECONDS)
    local = now.astimezone(_zone()).date()
    starts = [row["start"].astimezone(_zone()).date() for row in rows]
    first = min([local - dt.timedelta(days=FEED_PAST_DAYS), *starts])
    last = max([local + dt.timedelta(days=FEED_FUTURE_DAYS), *starts]) + dt.timedelta(days=1)
    calendar = _calendar(name)
    calendar.add_component(_timezone(first, last))
    shell = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert shell.endswith(end)
    return shell[: -len(end)] + b"".join(events[key] for key in keys) + end


def feed_rows(user: Any, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The user's appointments the feed lists: from FEED_PAST_DAYS back to FEED_FUTURE_DAYS ahead, by start.

    The tickets' subjects and the people's names are read by id, in a query each, not joined: for
    a few thousand appointments PostgreSQL would hash-join the whole tickets and people tables.
    """
    from ciclo.agenda.appointments import appointments_between
    from ciclo.people.models import Person
    from ciclo.tickets.models import Ticket

    now = at or timezone.now()
    start, end = now - dt.timedelta(days=FEED_PAST_DAYS), now + dt.timedelta(days=FEED_FUTURE_DAYS)
    own = [name for name in EVENT_FIELDS if "__" not in name]
    rows = list(appointments_between([user], start, end).order_by("start", "id").values(*own, "person_id"))
    ticket_ids = {r["ticket_id"] for r in rows if r["ticket_id"] is not None}
    person_ids = {r["person_id"] for r in rows if r["person_id"] is not None}
    subjects = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("id", "subject")) if ticket_ids else {}
    names = dict(Person.objects.filter(pk__in=person_ids).values_list("id", "name")) if person_ids else {}
    for row in rows:
        row["ticket__subject"] = subjects.get(row["ticket_id"])
        row["person__name"] = names.get(row.pop("person_id"))
    return rows


def feed_bytes(user: Any, *, site: str, at: dt.datetime | None = None) -> bytes:
    name = _("Ciclo: %(name)s") % {"name": user.get_full_name() or user.get_username()}
    language = translation.get_language() or settings.LANGUAGE_CODE
    # The events' text depends on the site's address and the language too.
    site_key = hashlib.blake2b(f"{site}\x1f{language}".encode(), digest_size=8).hexdigest()
    cache_key = f"ciclo:feed:{user.pk}:{site_key}"
    return calendar_bytes(feed_rows(user, at=at), name=name, site=site, at=at, cache_key=cache_key)
