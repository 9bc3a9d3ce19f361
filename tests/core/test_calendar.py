"""The working-day calendar: official 调休 days count, holidays do not, civil-code periods, overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimwise.core import calendar
from claimwise.core.calendar import (
    add_calendar_days,
    add_hours,
    add_working_days,
    calendar_day_delete,
    calendar_day_save,
    deadline,
    is_provisional,
    is_workday,
    last_day,
    working_days_between,
)
from claimwise.core.models import AuditEntry, CalendarDay

CN = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Any:
    calendar.calendar_refresh()
    yield
    calendar.calendar_refresh()  # overrides made in a test are rolled back with it


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31, 23, 59), timezones=st.just(CN)
)
counts = st.integers(min_value=0, max_value=40)


def test_make_up_workdays_count_and_holidays_do_not() -> None:
    for day in (dt.date(2025, 9, 28), dt.date(2025, 10, 11), dt.date(2026, 2, 14), dt.date(2026, 2, 28)):
        assert day.weekday() >= 5 and is_workday(day) and chinese_calendar.is_workday(day)
    for day in (dt.date(2025, 10, 1), dt.date(2025, 10, 8), dt.date(2026, 2, 16), dt.date(2026, 2, 23)):
        assert not is_workday(day) and not chinese_calendar.is_workday(day)


def test_agrees_with_chinese_calendar_every_day_2025_2026() -> None:
    day = dt.date(2025, 1, 1)
    while day.year < 2027:
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        assert not is_provisional(day)
        day += dt.timedelta(days=1)


def test_working_days_around_national_day_2025() -> None:
    # Sunday 28 Sep 2025 is a make-up workday; 1–8 Oct are off; Saturday 11 Oct is a make-up workday.
    start = dt.datetime(2025, 9, 26, 15, 0, tzinfo=CN)  # Friday
    due, provisional = add_working_days(start, 1)
    assert last_day(due) == dt.date(2025, 9, 28) and due == dt.datetime(2025, 9, 29, tzinfo=CN)
    assert not provisional
    assert last_day(add_working_days(start, 3)[0]) == dt.date(2025, 9, 30)
    assert last_day(add_working_days(start, 4)[0]) == dt.date(2025, 10, 9)
    assert last_day(add_working_days(start, 6)[0]) == dt.date(2025, 10, 11)


def test_calendar_days_follow_civil_code() -> None:
    # Art. 201: the report day is not counted; art. 203: ends 24:00 of the last day.
    due, _ = add_calendar_days(dt.datetime(2026, 3, 2, 23, 30, tzinfo=CN), 3)  # Monday
    assert due == dt.datetime(2026, 3, 6, tzinfo=CN)  # 24:00 on Thursday 5 March
    # Last day on National Day 2026 (1–7 Oct off): the period runs to 24:00 of Thursday 8 Oct.
    due, _ = add_calendar_days(dt.datetime(2026, 9, 28, 10, 0, tzinfo=CN), 3)
    assert last_day(due) == dt.date(2026, 10, 8)
    # A last day on a make-up Saturday is a working day: no extension.
    due, _ = add_calendar_days(dt.datetime(2026, 10, 7, 10, 0, tzinfo=CN), 3)
    assert last_day(due) == dt.date(2026, 10, 10)


def test_hours_are_exact_and_deadline_dispatches() -> None:
    start = dt.datetime(2026, 9, 30, 18, 5, tzinfo=CN)
    assert add_hours(start, 72) == (start + dt.timedelta(hours=72), False)
    assert deadline(start, 72, "hours") == add_hours(start, 72)
    assert deadline(start, 5, "working_days") == add_working_days(start, 5)
    assert deadline(start, 30, "calendar_days") == add_calendar_days(start, 30)
    with pytest.raises(ValueError):
        deadline(start, 1, "fortnights")


@settings(max_examples=300, deadline=None)
@given(start=moments, n=counts)
def test_working_day_results_are_working_days_and_count_back(start: dt.datetime, n: int) -> None:
    due, provisional = add_working_days(start, n)
    day = last_day(due)
    assert is_workday(day)
    assert due == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CN)
    if n:
        assert working_days_between(start, due) == n
    else:
        assert day >= start.date() and working_days_between(start, due) == int(day != start.date())
    assert provisional == (day.year >= 2027)


@settings(max_examples=200, deadline=None)
@given(start=moments, n=counts, later=st.integers(min_value=0, max_value=400))
def test_monotonic_in_n_and_in_start(start: dt.datetime, n: int, later: int) -> None:
    assert add_working_days(start, n)[0] <= add_working_days(start, n + 1)[0]
    if n:  # n = 0 on a day off is the next working day, the same as n = 1
        assert add_working_days(start, n)[0] < add_working_days(start, n + 1)[0]
    moved = start + dt.timedelta(hours=later)
    assert add_working_days(start, n)[0] <= add_working_days(moved, n)[0]
    assert add_calendar_days(start, n)[0] <= add_calendar_days(moved, n)[0]
    assert add_calendar_days(start, n)[0] <= add_calendar_days(start, n + 1)[0]


@settings(max_examples=200, deadline=None)
@given(start=moments, n=st.integers(min_value=1, max_value=60))
def test_calendar_day_periods_end_on_a_working_day_at_or_after_the_nth_day(start: dt.datetime, n: int) -> None:
    due, provisional = add_calendar_days(start, n)
    day = last_day(due)
    nth = start.date() + dt.timedelta(days=n)
    assert day >= nth and is_workday(day)
    assert all(not is_workday(nth + dt.timedelta(days=k)) for k in range((day - nth).days))
    assert provisional == (day.year >= 2027)


def test_2027_is_provisional_until_the_notice_is_entered() -> None:
    start = dt.datetime(2026, 12, 30, 10, 0, tzinfo=CN)
    assert add_working_days(start, 1)[1] is False  # 31 Dec 2026
    due, provisional = add_working_days(start, 5)
    assert provisional and last_day(due).year == 2027
    assert is_provisional(dt.date(2027, 3, 1))
    assert not is_workday(dt.date(2027, 10, 1))  # the holidays package's estimate meanwhile


def test_calendar_day_override_changes_results_and_is_audited() -> None:
    start = dt.datetime(2027, 1, 29, 9, 0, tzinfo=CN)  # Friday
    assert last_day(add_working_days(start, 1)[0]) == dt.date(2027, 2, 1)
    row = calendar_day_save(
        actor=None, instance=CalendarDay(date=dt.date(2027, 1, 30), is_workday=True, name="春节调休")
    )
    due, provisional = add_working_days(start, 1)
    assert last_day(due) == dt.date(2027, 1, 30)
    assert not provisional  # the year's notice is being entered
    calendar_day_save(actor=None, instance=CalendarDay(date=dt.date(2026, 10, 9), is_workday=False, name="test"))
    assert not is_workday(dt.date(2026, 10, 9))
    calendar_day_delete(actor=None, instance=row)
    assert last_day(add_working_days(start, 1)[0]) == dt.date(2027, 2, 1)
    assert AuditEntry.objects.filter(action__startswith="calendarday.").count() == 3


def test_working_days_between_is_signed() -> None:
    a = dt.datetime(2026, 9, 24, 12, tzinfo=CN)  # Thursday before Mid-Autumn 2026 (25–27 Sep off)
    b = dt.datetime(2026, 9, 29, 12, tzinfo=CN)
    assert working_days_between(a, b) == 2  # 28 and 29 Sep
    assert working_days_between(b, a) == -2
    assert working_days_between(dt.date(2026, 9, 24), dt.date(2026, 9, 24)) == 0


def test_admin_calendar_entries_go_through_the_audited_service(client: Any) -> None:
    from tests import factories

    admin_user = factories.user("admin")  # staff access follows the role
    client.force_login(admin_user)
    response = client.post(
        "/admin/core/calendarday/add/", {"date": "2027-02-20", "is_workday": "on", "name": "春节调休"}
    )
    assert response.status_code == 302, response.content[:500]
    assert is_workday(dt.date(2027, 2, 20))  # a Saturday, now a make-up workday
    entry = AuditEntry.objects.get(action="calendarday.create")
    assert entry.actor_id == admin_user.pk
    assert client.get("/admin/core/calendarday/").status_code == 200
