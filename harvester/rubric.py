"""Career frameworks: dimensions with the event kinds and keywords that map to each."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from harvester.errors import ConfigError

DEFAULT_FRAMEWORK = "ml-engineer.toml"


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    description: str = ""
    kinds: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Framework:
    name: str
    dimensions: tuple[Dimension, ...]
    levels: tuple[dict, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    def tag(self, kind: str, text: str) -> tuple[str, ...]:
        """Dimensions a piece of work evidences: by its kind, then by keywords in its text."""
        lowered = text.lower()
        return tuple(d.id for d in self.dimensions
                     if kind in d.kinds or any(k.lower() in lowered for k in d.keywords))

    def dimension(self, dim_id: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == dim_id), None)


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
    dims = raw.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise ConfigError(f"{label}: a framework needs at least one [[dimensions]] table with id and title.")
    out, seen = [], set()
    for i, d in enumerate(dims, 1):
        if not isinstance(d, dict) or not d.get("id") or not d.get("title"):
            raise ConfigError(f"{label}: dimension #{i} needs an id and a title.")
        unknown = set(d) - {"id", "title", "description", "kinds", "keywords", "levels"}
        if unknown:
            raise ConfigError(f"{label}: dimension {d['id']!r} has unknown key {sorted(unknown)[0]!r}.")
        if d["id"] in seen:
            raise ConfigError(f"{label}: dimension id {d['id']!r} appears twice.")
        seen.add(d["id"])
        out.append(Dimension(id=str(d["id"]), title=str(d["title"]), description=str(d.get("description", "")),
                             kinds=tuple(d.get("kinds", ())), keywords=tuple(d.get("keywords", ()))))
    return Framework(name=str(raw.get("name", label)), dimensions=tuple(out), levels=tuple(raw.get("levels", ())))
