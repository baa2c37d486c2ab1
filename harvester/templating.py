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
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, bytecode_cache=template_cache())
    environment.filters.update(filters)
    environment.globals.update(globals or {})
    return environment


def template_cache():
    """Compiled templates kept in the app dir's cache/templates, so a command renders without
    compiling its templates again (Jinja keys each file on the template's source and its own
    version). A cache that cannot be read or written is passed over: the template is compiled."""
    import jinja2

    from harvester.config import AppDirError, app_dir

    class TemplateCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError, TypeError):  # unreadable or damaged: compile afresh
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        folder = app_dir() / "cache" / "templates"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, AppDirError):
        return None
    return TemplateCache(str(folder))
