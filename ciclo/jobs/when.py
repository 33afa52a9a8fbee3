"""When a periodic job is due: its periods, and the text that names them in settings.

Pure Python (no Django import), so that settings.py can check CICLO_SCHEDULES while it loads.

A schedule cuts time into periods; a job runs once per period, at or soon after its start:

- ``daily 03:30``: one period a day, starting at 03:30 in the site's TIME_ZONE;
- ``every 15 minutes`` (also ``every 15m``, ``every 2 hours``/``2h``, ``every 30 seconds``/``30s``):
  periods of that length counted from each local midnight (the last one of a day may be shorter);
- ``off``: never.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_UNITS = {
    "s": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
}
_DAILY = re.compile(r"daily\s+(\d{1,2}):(\d{2})")
_EVERY = re.compile(r"every\s+(\d+)\s*([a-z]+)")

RULE = "daily HH:MM, every N seconds|minutes|hours (or Ns, Nm, Nh), or off"


class BadSchedule(ValueError):
    """A schedule's text that does not follow RULE."""


@dataclass(frozen=True)
class Daily:
    at: time

    def period_start(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The start of the period `now` falls in: today's `at` in `zone`, or yesterday's if that is still to come."""
        local = now.astimezone(zone)
        start = datetime.combine(local.date(), self.at, tzinfo=zone)
        if start > now:
            start = datetime.combine(local.date() - timedelta(days=1), self.at, tzinfo=zone)
        return start.astimezone(UTC)

    def next_start(self, now: datetime, zone: ZoneInfo) -> datetime:
        local = self.period_start(now, zone).astimezone(zone)
        return datetime.combine(local.date() + timedelta(days=1), self.at, tzinfo=zone).astimezone(UTC)

    def __str__(self) -> str:
        return f"daily {self.at:%H:%M}"


@dataclass(frozen=True)
class Every:
    seconds: int

    def _midnight(self, now: datetime, zone: ZoneInfo) -> datetime:
        return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(UTC)

    def period_start(self, now: datetime, zone: ZoneInfo) -> datetime:
        midnight = self._midnight(now, zone)
        periods = int((now - midnight).total_seconds() // self.seconds)
        return midnight + timedelta(seconds=periods * self.seconds)

    def next_start(self, now: datetime, zone: ZoneInfo) -> datetime:
        following = self.period_start(now, zone) + timedelta(seconds=self.seconds)
        # A period never runs past midnight: the next day counts its own from 00:00.
        tomorrow = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
        return min(following, tomorrow.astimezone(UTC))

    def __str__(self) -> str:
        for unit, size in (("hours", 3600), ("minutes", 60)):
            if self.seconds % size == 0:
                return f"every {self.seconds // size} {unit}"
        return f"every {self.seconds} seconds"


When = Daily | Every


def parse_when(text: str) -> When | None:
    """The schedule `text` names (None for ``off``); BadSchedule when it follows no RULE."""
    raw = " ".join(text.strip().lower().split())
    if raw == "off":
        return None
    if match := _DAILY.fullmatch(raw):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise BadSchedule(f"{text!r}: the time of day must be from 00:00 to 23:59")
        return Daily(time(hour, minute))
    if match := _EVERY.fullmatch(raw):
        count, unit = int(match[1]), match[2]
        if unit not in _UNITS:
            raise BadSchedule(f"{text!r}: the unit must be seconds, minutes or hours")
        seconds = count * _UNITS[unit]
        if not 1 <= seconds <= 86400:
            raise BadSchedule(f"{text!r}: the period must be from 1 second to 24 hours")
        return Every(seconds)
    raise BadSchedule(f"{text!r} must be {RULE}")


def parse_schedules(raw: str) -> dict[str, str]:
    """``name=when, name=when`` (CICLO_SCHEDULES) as a dict, each `when` checked by parse_when."""
    schedules: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, when = item.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[a-z0-9_]+", name):
            raise BadSchedule(f"{item.strip()!r} must be name=when, the name being a job's (lower case, digits, _)")
        parse_when(when)
        schedules[name] = " ".join(when.split())
    return schedules
