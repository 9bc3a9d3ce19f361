"""The PRC working-day calendar and deadline arithmetic (G3).

Which days are working days, in order of authority:
1. a `CalendarDay` row (an operator's entry from the State Council's holiday notice);
2. the `chinese-calendar` package (official holidays and 调休 make-up workdays) for the years it knows;
3. otherwise the `holidays` package's China calendar plus weekends. Its dates are estimates (no
   make-up workdays, the notice is not out yet), so results that count such a year are *provisional*
   until operators enter that year's notice as `CalendarDay` rows.

Deadlines run in Asia/Shanghai whatever the server's zone: the rules are Chinese law. A day ends at
24:00, stored as 00:00 of the next day. Answers come from per-year tables built once (no database
query per call); `CalendarDay` changes clear the tables.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays as holidays_pkg
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from claimwise.core.audit import audit_record, snapshot
from claimwise.core.models import CalendarDay

CN_TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)
# Another process may change CalendarDay rows: a long-running one re-reads them this often (the
# deadline job refreshes on every tick and recomputes every open clock after a change).
RELOAD_SECONDS = 3600


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class _Table:
    """Working-day flags and running counts over a span of whole years, by date ordinal."""

    def __init__(self, first_year: int, last_year: int, overrides: dict[dt.date, bool]) -> None:
        self.first_year, self.last_year = first_year, last_year
        self.base = dt.date(first_year, 1, 1).toordinal()
        self.end = dt.date(last_year + 1, 1, 1).toordinal()
        override_years = {d.year for d in overrides}
        self.provisional_years = frozenset(
            y for y in range(first_year, last_year + 1) if not _package_knows(y) and y not in override_years
        )
        flags = bytearray(self.end - self.base)
        for year in range(first_year, last_year + 1):
            if _package_knows(year):
                off_days = {d for d in chinese_calendar.holidays if d.year == year}
                extra_workdays = {d for d in chinese_calendar.workdays if d.year == year}
            else:
                off_days = set(holidays_pkg.country_holidays("CN", years=year))
                extra_workdays = set()
            day = dt.date(year, 1, 1)
            while day.year == year:
                flags[day.toordinal() - self.base] = day in extra_workdays or (
                    day.weekday() < 5 and day not in off_days
                )
                day += DAY
        for day, is_work in overrides.items():
            if first_year <= day.year <= last_year:
                flags[day.toordinal() - self.base] = is_work
        self.flags = flags
        # cum[i]: working days among the first i days of the span.
        cum = [0] * (len(flags) + 1)
        total = 0
        for i, f in enumerate(flags):
            total += f
            cum[i + 1] = total
        self.cum = cum

    def covers(self, first: int, last: int) -> bool:
        return self.first_year <= first and last <= self.last_year


class _Calendar:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: _Table | None = None
        self._overrides: dict[dt.date, bool] | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._table, self._overrides = None, None

    def table(self, first_year: int, last_year: int) -> _Table:
        table = self._table
        if (
            table is not None
            and table.covers(first_year, last_year)
            and time.monotonic() - self._loaded_at < RELOAD_SECONDS
        ):
            return table
        with self._lock:
            if self._overrides is None or time.monotonic() - self._loaded_at >= RELOAD_SECONDS:
                self._overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
                self._loaded_at = time.monotonic()
                self._table = None
            old = self._table
            lo = min(first_year, old.first_year if old else first_year, dt.date.today().year - 2)
            hi = max(last_year, old.last_year if old else last_year, dt.date.today().year + 2)
            if old is None or not old.covers(first_year, last_year):
                self._table = _Table(lo, hi, self._overrides)
            assert self._table is not None
            return self._table


_calendar = _Calendar()


def calendar_refresh() -> None:
    """Forget the cached tables: the next call re-reads `CalendarDay` rows."""
    _calendar.invalidate()


@receiver(post_save, sender=CalendarDay)
@receiver(post_delete, sender=CalendarDay)
def _calendar_day_changed(sender: Any, **kwargs: Any) -> None:
    calendar_refresh()
    # Also after commit (a rolled-back change must not stay in the tables).
    transaction.on_commit(calendar_refresh)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CN_TZ).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 of `day` in China (00:00 of the next day)."""
    return dt.datetime.combine(day + DAY, dt.time(), tzinfo=CN_TZ)


def last_day(due: dt.datetime) -> dt.date:
    """The day a deadline falls on: a due time of 00:00 is 24:00 of the day before."""
    return local_date(due - dt.timedelta(microseconds=1))


def is_workday(day: dt.date) -> bool:
    t = _calendar.table(day.year, day.year)
    return bool(t.flags[day.toordinal() - t.base])


def is_provisional(day: dt.date) -> bool:
    """True when `day`'s year is counted from the estimated calendar (no official schedule yet)."""
    return day.year in _calendar.table(day.year, day.year).provisional_years


def _provisional(t: _Table, first: dt.date, last: dt.date) -> bool:
    return any(y in t.provisional_years for y in range(first.year, last.year + 1))


def add_working_days(start: dt.datetime, n: int) -> tuple[dt.datetime, bool]:
    """End (24:00) of the nth working day after the start's local date; n = 0: the end of the start
    day if it is a working day, else of the next one. Returns (due, provisional)."""
    if n < 0:
        raise ValueError("n must not be negative")
    begin = local_date(start)
    # A year holds at least ~240 working days; one extra year covers a short span of holidays.
    span_years = n // 240 + 1
    t = _calendar.table(begin.year, begin.year + span_years)
    i = begin.toordinal() - t.base
    target = t.cum[i + 1] + n if n else t.cum[i] + 1
    j = bisect.bisect_left(t.cum, target)  # cum[j] == target: day j-1 is the nth working day
    if j >= len(t.cum):
        t = _calendar.table(begin.year, begin.year + span_years + 2)
        i = begin.toordinal() - t.base
        j = bisect.bisect_left(t.cum, t.cum[i + 1] + n if n else t.cum[i] + 1)
    day = dt.date.fromordinal(t.base + j - 1)
    return end_of_day(day), _provisional(t, begin, day)


def add_calendar_days(start: dt.datetime, n: int) -> tuple[dt.datetime, bool]:
    """PRC Civil Code art. 201: the start day is not counted; art. 203: the period ends at 24:00 of
    its last day, and a last day that is a statutory day off (weekends included, as the courts read
    法定休假日; make-up workdays are working days) moves to the first working day after it."""
    begin = local_date(start)
    day = begin + dt.timedelta(days=n)
    t = _calendar.table(day.year, day.year + 1)
    i = day.toordinal() - t.base
    while not t.flags[i]:
        i += 1
    day = dt.date.fromordinal(t.base + i)
    return end_of_day(day), _provisional(t, day, day)


def add_hours(start: dt.datetime, n: int) -> tuple[dt.datetime, bool]:
    """Hours run around the clock (e.g. the 72-hour registration rule)."""
    return start + dt.timedelta(hours=n), False


def deadline(start: dt.datetime, value: int, unit: str) -> tuple[dt.datetime, bool]:
    """`unit`: "hours", "calendar_days" or "working_days" (process.choices.LimitUnit)."""
    if unit == "hours":
        return add_hours(start, value)
    if unit == "calendar_days":
        return add_calendar_days(start, value)
    if unit == "working_days":
        return add_working_days(start, value)
    raise ValueError(f"unknown unit {unit!r}")


def working_days_between(a: dt.datetime | dt.date, b: dt.datetime | dt.date) -> int:
    """Working days after a's day up to and including b's day (a due time of 00:00 counts as 24:00
    of the day before), so `working_days_between(s, add_working_days(s, n)[0]) == n`. Negative when
    b is before a."""
    da = local_date(a) if isinstance(a, dt.datetime) else a
    db = last_day(b) if isinstance(b, dt.datetime) else b
    if db < da:
        return -working_days_between(db, da)
    t = _calendar.table(da.year, db.year)
    return t.cum[db.toordinal() - t.base + 1] - t.cum[da.toordinal() - t.base + 1]


# --- operator entries -------------------------------------------------------------------------------


@transaction.atomic
def calendar_day_save(*, actor: Any, instance: CalendarDay) -> CalendarDay:
    """An entry from the State Council's holiday notice; it overrides the packages for that day."""
    before = None
    if instance.pk is not None:
        current = CalendarDay.objects.select_for_update().filter(pk=instance.pk).first()
        before = snapshot(current) if current is not None else None
    instance.full_clean()
    instance.save()
    audit_record(
        actor=actor,
        action=f"calendarday.{'update' if before is not None else 'create'}",
        obj=instance,
        before=before,
        after=snapshot(instance),
    )
    return instance


@transaction.atomic
def calendar_day_delete(*, actor: Any, instance: CalendarDay) -> None:
    before, pk = snapshot(instance), instance.pk
    instance.delete()
    audit_record(actor=actor, action="calendarday.delete", object_type="core.calendarday", object_id=pk, before=before)
