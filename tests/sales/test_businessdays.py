"""Business days: weekends, Brazil's national holidays and the company's own days off."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from ciclo.sales.businessdays import (
    BusinessCalendar,
    business_days_between,
    business_days_since,
    is_business_day,
)
from ciclo.sales.models import DayOff
from tests.factory import make_company

SP = ZoneInfo("America/Sao_Paulo")
pytestmark = pytest.mark.django_db


def test_national_holidays_and_weekends_are_not_business_days():
    assert not is_business_day(dt.date(2026, 11, 20))  # Consciência Negra, a Friday
    assert not is_business_day(dt.date(2026, 11, 15))  # Proclamação da República, a Sunday
    assert not is_business_day(dt.date(2026, 11, 21))  # a Saturday
    assert is_business_day(dt.date(2026, 11, 19))
    assert is_business_day(dt.date(2026, 11, 23))


def test_counting_across_the_black_awareness_day_skips_it_and_the_weekend():
    # Thursday 19 → Monday 23 November 2026: Friday 20 is a holiday, 21–22 the weekend.
    assert business_days_between(dt.date(2026, 11, 19), dt.date(2026, 11, 23)) == 1
    # Monday 16 → Monday 23: 17, 18, 19 and 23.
    assert business_days_between(dt.date(2026, 11, 16), dt.date(2026, 11, 23)) == 4


def test_a_holiday_on_a_weekend_is_not_counted_twice():
    # Friday 13 → Monday 16 November 2026: Sunday 15 is a holiday on the weekend.
    assert business_days_between(dt.date(2026, 11, 13), dt.date(2026, 11, 16)) == 1


def test_the_same_or_an_earlier_day_counts_nothing():
    assert business_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 23)) == 0
    assert business_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 16)) == 0


def test_a_long_span_counts_each_year_s_holidays():
    # 2026 has 252 weekdays that are not national holidays (261 weekdays, 9 holidays on weekdays).
    assert business_days_between(dt.date(2025, 12, 31), dt.date(2026, 12, 31)) == 252


def test_a_company_day_off_counts_only_for_that_company():
    mine, other = make_company(), make_company()
    DayOff.objects.create(date=dt.date(2026, 11, 18), company=mine, description="Inventário")
    assert not is_business_day(dt.date(2026, 11, 18), mine.pk)
    assert is_business_day(dt.date(2026, 11, 18), other.pk)
    assert business_days_between(dt.date(2026, 11, 16), dt.date(2026, 11, 23), mine.pk) == 3
    assert business_days_between(dt.date(2026, 11, 16), dt.date(2026, 11, 23), other.pk) == 4


def test_a_day_off_of_every_company_counts_for_each():
    company = make_company()
    DayOff.objects.create(date=dt.date(2026, 12, 24), description="Véspera de Natal")
    assert not is_business_day(dt.date(2026, 12, 24), company.pk)
    assert not is_business_day(dt.date(2026, 12, 24))
    assert business_days_between(dt.date(2026, 12, 23), dt.date(2026, 12, 28), company.pk) == 1


def test_one_calendar_counts_for_many_companies_with_one_query(django_assert_num_queries):
    a, b = make_company(), make_company()
    DayOff.objects.create(date=dt.date(2026, 11, 18), company=a, description="Inventário")
    DayOff.objects.create(date=dt.date(2026, 11, 17), description="Feriado municipal")
    with django_assert_num_queries(1):
        calendar = BusinessCalendar.for_companies([a.pk, b.pk])
        counts = [calendar.business_days_between(dt.date(2026, 11, 16), dt.date(2026, 11, 23), c) for c in (a.pk, b.pk)]
    assert counts == [2, 3]


def test_days_in_phase_with_frozen_time_across_the_holiday():
    company = make_company()
    DayOff.objects.create(date=dt.date(2026, 11, 18), company=company, description="Inventário")
    entered = dt.datetime(2026, 11, 17, 23, 30, tzinfo=SP)  # late on Tuesday, local time
    with time_machine.travel(dt.datetime(2026, 11, 19, 9, 0, tzinfo=SP), tick=False):
        assert business_days_since(entered, company.pk) == 1  # Wed 18 is the company's day off
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=SP), tick=False):
        assert business_days_since(entered, company.pk) == 1  # Fri 20: Consciência Negra
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SP), tick=False):
        assert business_days_since(entered, company.pk) == 2
        assert business_days_since(entered) == 3
