"""Time helpers: parse `--since`, convert epoch milliseconds, name periods."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

from harvester.errors import ConfigError
from harvester.models import ensure_utc, utcnow

_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdwmy])\s*$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def months_before(value: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier; a day the month lacks
    (31 March less one month) becomes that month's last day."""
    index = value.year * 12 + value.month - 1 - months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """The exclusive end an `--until` names: like `parse_since`, except that a bare date
    (2026-07-31) includes that whole day."""
    end = parse_since(text, now)
    return end + timedelta(days=1) if len(text.strip()) == 10 else end


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """'90d', '12w', '36h', '6m' or '1y' (calendar months and years), or an ISO date/datetime
    -> aware UTC datetime."""
    now = now or utcnow()
    match = _RELATIVE.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        if unit in "my":
            return months_before(now, count * (12 if unit == "y" else 1))
        return now - count * _UNITS[unit]
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"Cannot read the time {text!r}: use a span such as 90d, 12w, 6m, 1y or a date such as 2026-08-01."
        ) from None
    return ensure_utc(parsed)


def parse_past(text: str, option: str = "--since", now: datetime | None = None) -> datetime:
    """parse_since, refusing a start in the future (it would select nothing)."""
    now = now or utcnow()
    value = parse_since(text, now)
    if value > now:
        raise ConfigError(f"{option} {text.strip()} is in the future. Give a past date, or a span such as 90d or 6m.")
    return value


def to_ms(value: datetime) -> int:
    return int(ensure_utc(value).timestamp() * 1000)


def quarter_of(value: datetime) -> str:
    value = ensure_utc(value)
    return f"{value.year}-Q{(value.month - 1) // 3 + 1}"


def month_of(value: datetime) -> str:
    return ensure_utc(value).strftime("%Y-%m")


def period_of(value: datetime, unit: str) -> str:
    if unit == "month":
        return month_of(value)
    if unit == "quarter":
        return quarter_of(value)
    if unit == "half":
        value = ensure_utc(value)
        return f"{value.year}-H{1 if value.month <= 6 else 2}"
    if unit == "year":
        return str(ensure_utc(value).year)
    raise ValueError(f"unknown period {unit!r}: use month, quarter, half or year")


def period_bounds(label: str) -> tuple[datetime, datetime]:
    """'2026-Q3' | '2026-H2' | '2026-07' | '2026' -> [start, end) in UTC."""
    m = re.fullmatch(r"(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?", label.strip().upper())
    if not m:
        raise ConfigError(f"Cannot read the period {label!r}: use 2026, 2026-H2, 2026-Q3 or 2026-07.")
    year, part = int(m.group(1)), m.group(2)
    if part is None:
        start, months = date(year, 1, 1), 12
    elif part.startswith("Q"):
        start, months = date(year, 3 * (int(part[1]) - 1) + 1, 1), 3
    elif part.startswith("H"):
        start, months = date(year, 1 if part == "H1" else 7, 1), 6
    else:
        if not 1 <= int(part) <= 12:
            raise ConfigError(f"Cannot read the period {label!r}: month must be 01-12.")
        start, months = date(year, int(part), 1), 1
    end_month = start.month - 1 + months
    end = date(start.year + end_month // 12, end_month % 12 + 1, 1)
    to_dt = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)  # noqa: E731
    return to_dt(start), to_dt(end)
