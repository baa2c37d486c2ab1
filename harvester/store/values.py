"""Values from sources as the database can hold them. SQLite keeps any string as it came;
PostgreSQL cannot hold the NUL character in text or JSONB (MLflow accepts it in experiment
names and tags), so there NUL is stored as U+FFFD, the same way on every write and in every
comparison, so a record with one is stored once and never counted as changed again."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

NUL_STAND_IN = "\ufffd"
# A JSON \u0000 escape, but not an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(value: str) -> str:
    return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value


def dump_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """The JSON serializer of every engine. NaN and infinities are not JSON (PostgreSQL refuses
    them, and NaN never equals itself, so a record holding one would count as changed on every
    harvest): they are stored as null, on both databases."""
    try:
        return json.dumps(value, allow_nan=False, default=default)
    except ValueError:
        return json.dumps(without_non_finite(value), allow_nan=False, default=default)


def dump_json_for_postgresql(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """The JSON serializer of PostgreSQL engines: as dump_json, and NUL inside strings becomes U+FFFD."""
    text = dump_json(value, default)
    return _JSON_NUL.sub(lambda m: m.group(1) + NUL_STAND_IN, text) if "\\u0000" in text else text


def without_non_finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: without_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_non_finite(v) for v in value]
    return value


def as_stored(value: Any, dialect: str) -> Any:
    """A value as the database gives it back: JSON round-tripped (tuples become lists), and
    on PostgreSQL NUL replaced as on write."""
    if isinstance(value, Mapping):
        dump = dump_json_for_postgresql if dialect == "postgresql" else dump_json
        return json.loads(dump(dict(value), default=str))
    if isinstance(value, str) and dialect == "postgresql":
        return without_nul(value)
    return value


class SafeString(sa.types.TypeDecorator):
    """VARCHAR that writes NUL as U+FFFD on PostgreSQL (and in WHERE clauses alike)."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, str) and dialect.name == "postgresql":
            return without_nul(value)
        return value


class SafeText(SafeString):
    impl = sa.Text
    cache_ok = True
