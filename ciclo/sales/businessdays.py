"""Business days: Monday to Friday, except Brazil's national holidays (the `holidays` package) and the
company's own days off (DayOff rows of that company and of every company).

A list that counts for many rows reads the days off once: BusinessCalendar.for_companies(...).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays
from django.db.models import Q

from ciclo.sales.models import DayOff

SATURDAY = 5


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[dt.date]:
    """Brazil's national holidays of a year (no state or city ones)."""
    return frozenset(holidays.country_holidays("BR", years=year))


def _weekdays_after(start: dt.date, end: dt.date) -> int:
    """How many Mondays to Fridays there are in (start, end]."""
    days = (end - start).days
    weeks, extra = divmod(days, 7)
    count = weeks * 5
    weekday = start.weekday()
    for offset in range(1, extra + 1):
        if (weekday + offset) % 7 < SATURDAY:
            count += 1
    return count


class BusinessCalendar:
    """The days off of some companies, read once; counts business days for any of them."""

    def __init__(self, days_off: Iterable[tuple[dt.date, int | None]]) -> None:
        self._every: set[dt.date] = set()
        self._by_company: dict[int, set[dt.date]] = {}
        for day, company_id in days_off:
            if company_id is None:
                self._every.add(day)
            else:
                self._by_company.setdefault(company_id, set()).add(day)
        self._sorted: dict[tuple[int | None, int, int], list[dt.date]] = {}

    @classmethod
    def for_companies(
        cls, company_ids: Iterable[int] | None = None, *, start: dt.date | None = None, end: dt.date | None = None
    ) -> BusinessCalendar:
        """The calendar of these companies (None: of every company), with the days off between start and end
        when given (one query)."""
        rows = DayOff.objects.all()
        if company_ids is not None:
            rows = rows.filter(Q(company__isnull=True) | Q(company_id__in=list(company_ids)))
        if start is not None:
            rows = rows.filter(date__gte=start)
        if end is not None:
            rows = rows.filter(date__lte=end)
        return cls(rows.values_list("date", "company_id"))

    def is_business_day(self, day: dt.date, company_id: int | None = None) -> bool:
        if day.weekday() >= SATURDAY or day in national_holidays(day.year) or day in self._every:
            return False
        return company_id is None or day not in self._by_company.get(company_id, ())

    def _off_weekdays(self, company_id: int | None, first_year: int, last_year: int) -> list[dt.date]:
        key = (company_id, first_year, last_year)
        if key not in self._sorted:
            off = set(self._every)
            if company_id is not None:
                off |= self._by_company.get(company_id, set())
            for year in range(first_year, last_year + 1):
                off |= national_holidays(year)
            self._sorted[key] = sorted(d for d in off if d.weekday() < SATURDAY)
        return self._sorted[key]

    def business_days_between(self, start: dt.date, end: dt.date, company_id: int | None = None) -> int:
        """The business days after `start` up to and including `end` (0 when end is not after start):
        a ticket that entered its phase on a Monday has been there 1 business day on the Tuesday."""
        if end <= start:
            return 0
        off = self._off_weekdays(company_id, start.year, end.year)
        holidays_in = bisect.bisect_right(off, end) - bisect.bisect_right(off, start)
        return _weekdays_after(start, end) - holidays_in


def is_business_day(day: dt.date, company_id: int | None = None) -> bool:
    """Whether `day` is worked in the company (None: a day off of every company counts, no company's own)."""
    if day.weekday() >= SATURDAY or day in national_holidays(day.year):
        return False
    return BusinessCalendar.for_companies(
        [] if company_id is None else [company_id], start=day, end=day
    ).is_business_day(day, company_id)


def business_days_between(start: dt.date, end: dt.date, company_id: int | None = None) -> int:
    """The business days after `start` up to and including `end` in the company (see BusinessCalendar)."""
    if end <= start:
        return 0
    calendar = BusinessCalendar.for_companies([] if company_id is None else [company_id], start=start, end=end)
    return calendar.business_days_between(start, end, company_id)


def business_days_since(moment: dt.datetime, company_id: int | None = None, *, today: dt.date | None = None) -> int:
    """The business days from the local day of `moment` to today: a ticket's days in its phase."""
    from django.utils import timezone

    return business_days_between(timezone.localdate(moment), today or timezone.localdate(), company_id)
