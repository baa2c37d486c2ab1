"""Validate a TOML table against a settings dataclass: unknown keys, missing keys, wrong types."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Mapping

from harvester.errors import ConfigError


def setting(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING) -> Any:
    """A settings field with its meaning, which the README's settings tables show."""
    return dataclasses.field(default=default, default_factory=factory, metadata={"help": help})


def build_settings(cls: type, table: Mapping[str, Any], where: str) -> Any:
    """Return `cls(**table)` after checking every key; `where` names the file and table."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}. Known keys: {known}.")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing required key {name!r}.")
            continue
        values[name] = coerce_value(table[name], hints[name], f"{where}: key {name!r}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def coerce_value(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce_value(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: unexpected value {value!r}.")
    if hint is Any:
        return value
    if origin in (tuple, list, frozenset, set):
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {type_name(value)}.")
        item_hint = args[0] if args else Any
        items = [coerce_value(v, item_hint, where) for v in value]
        return tuple(items) if origin is tuple else origin(items)
    if origin in (dict, typing.Mapping) or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {type_name(value)}.")
        value_hint = args[1] if len(args) == 2 else Any
        return {str(k): coerce_value(v, value_hint, where) for k, v in value.items()}
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {type_name(value)}.")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {type_name(value)}.")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {type_name(value)}.")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {type_name(value)}.")
        return value
    return value


def type_name(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def describe_settings(cls: type) -> list[tuple[str, str, Any]]:
    """(name, type, default) for each field: used by `rules list` and `connectors list`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        rows.append((f.name, format_hint(hints[f.name]), default))
    return rows


def format_hint(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
