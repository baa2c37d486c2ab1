"""Jinja environments for the rendered outputs, built on first use so start-up never imports jinja2."""

from __future__ import annotations

from typing import Any, Callable


def load_environment(package: str, *, autoescape: bool, filters: dict[str, Callable[..., Any]],
                     globals: dict[str, Any] | None = None):
    """An environment reading `package`'s templates/ folder. Templates undefined names fail loudly;
    block tags leave no blank lines behind."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"), autoescape=autoescape, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters.update(filters)
    environment.globals.update(globals or {})
    return environment
