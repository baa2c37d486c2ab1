"""Settings written as TOML lines a user can paste into the config."""

from __future__ import annotations

import json
import math
from typing import Any

REQUIRED = "(required)"
TOML_TYPES = {"tuple": "list", "dict": "table", "str": "string", "bool": "boolean"}


def format_toml_value(value: Any) -> str | None:
    """The TOML spelling of a setting's value; None when TOML has none (an unset optional)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [format_toml_value(v) for v in value]
        return "[" + ", ".join(i for i in items if i is not None) + "]"
    if isinstance(value, dict):
        pairs = [(k, format_toml_value(v)) for k, v in value.items()]
        return "{" + ", ".join(f"{json.dumps(str(k))} = {v}" for k, v in pairs if v is not None) + "}"
    return json.dumps(str(value))


def format_setting_line(name: str, type_name: str, default: Any, value: Any = REQUIRED) -> str:
    """`key = value  # type`: the config's value when it differs from the default, a required
    key with an empty placeholder, an unset optional commented out."""
    shown = default if value is REQUIRED else value
    note = TOML_TYPES.get(type_name, type_name)
    if default == REQUIRED:
        note += ", required"
        shown = "" if value is REQUIRED else value
    elif value is not REQUIRED and value != default:
        note += f", default {format_toml_value(default) or 'unset'}"
    text = format_toml_value(shown)
    if text is None:
        return f"# {name} =   # {note}, unset"
    return f"{name} = {text}  # {note}"
