"""Career frameworks: dimensions with the finding kinds, metric families and keywords that map
to each, and optionally levels with what each dimension expects at each level.

A drafted finding is tagged from its structure (its kind, the families of its metrics) and,
for engineering and ticket work, from the words its author wrote (PR title, ticket summary);
never from the statement harvester generated, so a metric or param name cannot tag a draft."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from harvester.errors import ConfigError

DEFAULT_FRAMEWORK = "ml-engineer.toml"
DIMENSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Level:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    description: str = ""
    kinds: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    metric_families: tuple[str, ...] = ()
    expectations: tuple[tuple[str, str], ...] = ()

    def expectation(self, level_id: str) -> str:
        """What this dimension expects at a level ('' when the framework does not say)."""
        return dict(self.expectations).get(level_id, "")


@dataclass(frozen=True)
class Framework:
    name: str
    dimensions: tuple[Dimension, ...]
    levels: tuple[Level, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    def tag(self, kind: str, text: str) -> tuple[str, ...]:
        """Dimensions of a manual note: by its kind, then by keywords in the engineer's own text."""
        lowered = text.lower()
        return tuple(d.id for d in self.dimensions
                     if kind in d.kinds or any(k.lower() in lowered for k in d.keywords))

    def tag_finding(self, kind: str, metric_families: Iterable[str] = (), texts: Iterable[str] = (),
                    default_dimensions: Iterable[str] = ()) -> tuple[str, ...]:
        """Dimensions a finding evidences: the dimensions that list its kind or one of its metric
        families, plus keyword matches in `texts` (words a person wrote, never generated ones).
        When no dimension lists the kind, its declared default dimensions that exist here."""
        families = set(metric_families)
        lowered = " ".join(texts).lower()
        found = [d.id for d in self.dimensions
                 if kind in d.kinds or families & set(d.metric_families)
                 or (lowered and any(k.lower() in lowered for k in d.keywords))]
        if not any(kind in d.kinds for d in self.dimensions):
            found += [dim for dim in default_dimensions if dim in self.ids and dim not in found]
        return tuple(d for d in self.ids if d in found)

    def dimension(self, dim_id: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == dim_id), None)

    def level(self, level_id: str) -> Level:
        """The level with this id; a ConfigError listing the known ones otherwise."""
        found = next((lv for lv in self.levels if lv.id == level_id), None)
        if found is None:
            known = ", ".join(lv.id for lv in self.levels) or "none (the framework has no [[levels]])"
            raise ConfigError(f"Unknown level {level_id!r} in framework {self.name!r}. Known levels: {known}.")
        return found


def load_framework(path: str | None = None) -> Framework:
    if path:
        file = Path(path).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"[rubric] framework: cannot read {file} ({exc.strerror}). Fix the path in your config.") from None
        return parse_framework(text, str(file))
    return _default_framework()


@lru_cache(maxsize=1)
def _default_framework() -> Framework:
    text = resources.files("harvester").joinpath("data", DEFAULT_FRAMEWORK).read_text(encoding="utf-8")
    return parse_framework(text, DEFAULT_FRAMEWORK)


def parse_framework(text: str, label: str) -> Framework:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML ({exc}).") from None
    levels = parse_levels(raw.get("levels", []), label)
    dims = raw.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise ConfigError(f"{label}: a framework needs at least one [[dimensions]] table with id and title.")
    out, seen = [], set()
    for i, d in enumerate(dims, 1):
        if not isinstance(d, dict) or not d.get("id") or not d.get("title"):
            raise ConfigError(f"{label}: dimension #{i} needs an id and a title.")
        unknown = set(d) - {"id", "title", "description", "kinds", "keywords", "metric_families", "expectations",
                            "levels"}
        if unknown:
            raise ConfigError(f"{label}: dimension {d['id']!r} has unknown key {sorted(unknown)[0]!r}.")
        if not DIMENSION_ID.match(str(d["id"])):
            raise ConfigError(f"{label}: dimension id {d['id']!r}: use letters, digits, '-', '_' or '.' "
                              "(it is typed in commands such as `harvester tag 12 +id`).")
        if d["id"] in seen:
            raise ConfigError(f"{label}: dimension id {d['id']!r} appears twice.")
        seen.add(d["id"])
        for key in ("kinds", "keywords", "metric_families"):
            if not isinstance(d.get(key, []), list):
                raise ConfigError(f"{label}: dimension {d['id']!r}: {key} must be a list of strings.")
        out.append(Dimension(id=str(d["id"]), title=str(d["title"]), description=str(d.get("description", "")),
                             kinds=tuple(d.get("kinds", ())), keywords=tuple(d.get("keywords", ())),
                             metric_families=tuple(d.get("metric_families", ())),
                             expectations=parse_expectations(d, levels, label)))
    return Framework(name=str(raw.get("name", label)), dimensions=tuple(out), levels=levels)


def parse_levels(items: object, label: str) -> tuple[Level, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{label}: levels must be [[levels]] tables with id and title.")
    out: list[Level] = []
    for i, lv in enumerate(items, 1):
        if not isinstance(lv, dict) or not lv.get("id") or not lv.get("title"):
            raise ConfigError(f"{label}: level #{i} needs an id and a title.")
        unknown = set(lv) - {"id", "title", "description"}
        if unknown:
            raise ConfigError(f"{label}: level {lv['id']!r} has unknown key {sorted(unknown)[0]!r}.")
        if any(x.id == lv["id"] for x in out):
            raise ConfigError(f"{label}: level id {lv['id']!r} appears twice.")
        out.append(Level(id=str(lv["id"]), title=str(lv["title"]), description=str(lv.get("description", ""))))
    return tuple(out)


def parse_expectations(d: dict, levels: tuple[Level, ...], label: str) -> tuple[tuple[str, str], ...]:
    table = d.get("expectations", d.get("levels", {}))  # "levels" was the early name of this table
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: dimension {d['id']!r}: expectations must be a table of level id = \"text\".")
    known = {lv.id for lv in levels}
    for level_id in table:
        if level_id not in known:
            listed = ", ".join(sorted(known)) or "none: add [[levels]] tables first"
            raise ConfigError(f"{label}: dimension {d['id']!r} has expectations for unknown level {level_id!r} "
                              f"(levels: {listed}).")
    return tuple((str(k), str(v)) for k, v in table.items())
