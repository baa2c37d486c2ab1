"""Numbers as a careful engineer writes them: as many digits as the change needs, units and
currency, a real minus sign, never a Python repr."""

from __future__ import annotations

import math

MINUS = "\u2212"


def significant_decimals(value: float, digits: int) -> int:
    """Decimals that show `digits` significant digits of `value`."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def pair_decimals(before: float, after: float, unit: str = "") -> int:
    """The fewest decimals (two significant digits at least) at which the two values differ
    and their shown difference is within a tenth of the real one."""
    top = max(abs(before), abs(after))
    start = significant_decimals(top, 2)
    fractional = not (float(before).is_integer() and float(after).is_integer())
    if fractional and start == 0 and top < 1000:  # 41.3 -> 35.9, not 41 -> 36
        start = significant_decimals(top, 3)
    if unit == "USD":
        start = max(start, 2) if top < 100 or fractional else start
    true = after - before
    if true == 0:
        return start
    for decimals in range(start, start + 8):
        shown = round(after, decimals) - round(before, decimals)
        if shown != 0 and abs(shown - true) <= 0.1 * abs(true):
            return decimals
    return start + 8


def format_decimal(value: float, decimals: int) -> str:
    text = f"{abs(value):,.{decimals}f}" if abs(value) >= 1000 else f"{abs(value):.{decimals}f}"
    return (MINUS + text) if value < 0 and float(text.replace(",", "")) != 0 else text


def with_unit(text: str, unit: str) -> str:
    if unit == "USD":
        return f"{text[:1]}${text[1:]}" if text.startswith(MINUS) else f"${text}"
    return f"{text} {unit}" if unit else text


def format_value(value: float | None, unit: str = "", decimals: int | None = None) -> str:
    """One value on its own: three significant digits unless told how many decimals."""
    if value is None:
        return "unknown"
    if decimals is None:
        if unit == "USD":
            return with_unit(format_decimal(float(value), max(significant_decimals(value, 3), 2)), unit)
        text = format_decimal(float(value), significant_decimals(value, 3))
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return with_unit(text, unit)
    return with_unit(format_decimal(float(value), decimals), unit)


def format_pair(before: float, after: float, unit: str = "") -> tuple[str, str]:
    """Both ends of a change at the same precision: ('0.81', '0.86'), ('420 ms', '140 ms')."""
    decimals = pair_decimals(float(before), float(after), unit)
    return format_value(before, unit, decimals), format_value(after, unit, decimals)


def format_percent(fraction: float, signed: bool = True) -> str:
    """A relative change with two significant digits: +6.7%, −67%, 0.19%."""
    pct = fraction * 100
    rounded = float(f"{abs(pct):.2g}")
    decimals = significant_decimals(rounded, 2) if rounded else 0
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if float(text) == 0:
        return "0%"
    sign = ("+" if pct > 0 else MINUS) if signed else ""
    return f"{sign}{text}%"


def plain_number(value: object) -> str:
    """A stored number for `drafts show`: exact, but 420 rather than 420.0."""
    if isinstance(value, bool) or value is None:
        return "unknown" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def join_words(items: list[str]) -> str:
    """a, b and c."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def quoted(text: object, limit: int = 90) -> str:
    """Free text from a source in quotes, on one line, cut to `limit` characters ('' for none)."""
    clean = " ".join(str(text or "").split())
    if len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "\u2026"
    return f'"{clean}"' if clean else ""
