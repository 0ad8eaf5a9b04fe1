"""Dates: reading ISO dates, and turning the date words of a question into a date range.

"last week", "this month", "yesterday", "on Tuesday", "in June 2022", "in 2021", "on June 5":
each becomes ``(first day, last day)`` relative to the question's as-of date (or today).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(_WEEKDAYS)

_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\byesterday\b"), "yesterday"),
    (re.compile(r"\btoday\b|\btonight\b"), "today"),
    (re.compile(r"\b(this|last|past|previous) (week|month|year)\b"), "relative"),
    (re.compile(r"\bin recent (days|weeks)\b|\brecently\b|\bin the past few days\b"), "recent"),
    (re.compile(rf"\b(?:on|last|this) ({_WEEKDAY})\b"), "weekday"),
    (re.compile(rf"\b(?:on |in )?({_MONTH})\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b"), "mdy"),
    (re.compile(rf"\bon ({_MONTH})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b"), "md"),
    (re.compile(rf"\bin ({_MONTH}),? (\d{{4}})\b"), "my"),
    (re.compile(rf"\bin ({_MONTH})\b"), "m"),
    (re.compile(r"\bin (\d{4})\b"), "y"),
]


def parse_iso(value: str) -> date:
    """A date from ``YYYY-MM-DD`` or an ISO timestamp (``2022-05-20T10:00:00+02:00``)."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def question_range(question: str, today: date) -> tuple[date, date, str] | None:
    """``(first, last, phrase)`` for the first date expression in ``question``, else None."""
    q = question.lower()
    for pattern, kind in _PATTERNS:
        match = pattern.search(q)
        if match:
            span = _range(kind, match, today)
            if span:
                first, last = span
                return first, min(last, today), match.group(0).strip()
    return None


def _range(kind: str, m: re.Match, today: date) -> tuple[date, date] | None:
    if kind == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if kind == "today":
        return today, today
    if kind == "recent":
        return today - timedelta(days=14), today
    if kind == "relative":
        which, unit = m.group(1), m.group(2)
        if unit == "week":
            monday = today - timedelta(days=today.weekday())
            if which == "this":
                return monday, today
            if which == "past":
                return today - timedelta(days=7), today
            return monday - timedelta(days=7), monday - timedelta(days=1)
        if unit == "month":
            first = today.replace(day=1)
            if which == "this":
                return first, today
            if which == "past":
                return today - timedelta(days=30), today
            last = first - timedelta(days=1)
            return last.replace(day=1), last
        if which == "this":
            return today.replace(month=1, day=1), today
        if which == "past":
            return today - timedelta(days=365), today
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if kind == "weekday":
        back = (today.weekday() - _WEEKDAYS[m.group(1)]) % 7
        day = today - timedelta(days=back)
        return day, day
    if kind in ("mdy", "md"):
        month, day = _MONTHS[m.group(1)], int(m.group(2))
        year = int(m.group(3)) if kind == "mdy" else _latest_year(today, month, day)
        try:
            exact = date(year, month, day)
        except ValueError:
            return None
        return exact, exact
    if kind in ("my", "m"):
        month = _MONTHS[m.group(1)]
        year = int(m.group(2)) if kind == "my" else _latest_year(today, month, 1)
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if kind == "y":
        year = int(m.group(1))
        if not 1900 <= year <= today.year:
            return None
        return date(year, 1, 1), date(year, 12, 31)
    return None


def _latest_year(today: date, month: int, day: int) -> int:
    """The year in which ``month/day`` last came, on or before ``today``."""
    return today.year if (month, day) <= (today.month, today.day) else today.year - 1
