"""Connector and rule registries, filled from the `harvester.connectors` and `harvester.rules`
entry-point groups. Built-ins register through the same groups as third-party plugins: they
are declared in harvester's own pyproject.toml, each connector by type name and the rules as
the `harvester.rules` package.

A rules entry point names a Rule class, a module or a package. From a module, every
non-abstract Rule subclass defined in it is registered; from a package, those of every module
in it. Names come from the class (`MetricLiftRule` -> `metric_lift`), and a plugin never
replaces a built-in of the same name."""

from __future__ import annotations

import inspect
import pkgutil
import re
from functools import lru_cache
from importlib import import_module
from importlib.metadata import EntryPoint, distributions, entry_points
from types import ModuleType
from typing import Any

from harvester.errors import ConfigError, HarvesterError

DISTRIBUTION = "harvester"  # the distribution whose entry points are the built-ins


def is_builtin(ep: EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and re.sub(r"[-_.]+", "-", dist.name).lower() == DISTRIBUTION


def builtin_entry_points(group: str) -> list[EntryPoint]:
    """harvester's own entry points in `group`, from the first copy of its metadata on the path
    that declares any: run from the source folder, the egg-info a build leaves there comes
    before the installed metadata, and may predate entry points declared since."""
    for dist in distributions(name=DISTRIBUTION):
        found = list(dist.entry_points.select(group=group))
        if found:
            return found
    return []


def registered_entry_points(group: str) -> list[EntryPoint]:
    """The group's entry points, harvester's own first. Without its own (a source checkout that
    was never installed, or installed before its entry points were declared) the registry would
    be empty or plugins only, so that is an error naming the fix."""
    builtin = builtin_entry_points(group)
    if not builtin:
        raise HarvesterError(f"harvester's built-in connectors and rules are not registered (no {group!r} entry "
                             "points of the harvester package): install it, from its source folder: pip install -e .")
    return builtin + [ep for ep in entry_points(group=group) if not is_builtin(ep)]


def load_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = import_module(module)
    return getattr(obj, attr) if attr else obj


@lru_cache(maxsize=1)
def connector_targets() -> dict[str, str]:
    """type name -> 'module:Class', without importing any connector."""
    targets: dict[str, str] = {}
    for ep in registered_entry_points("harvester.connectors"):
        targets.setdefault(ep.name, ep.value)
    return targets


def connector_class(type_name: str, where: str = "") -> type:
    targets = connector_targets()
    if type_name not in targets:
        known = ", ".join(sorted(targets))
        raise ConfigError(f"{where}: unknown connector type {type_name!r}. Known types: {known}.")
    return load_target(targets[type_name])


@lru_cache(maxsize=1)
def rule_classes() -> dict[str, type]:
    """Every rule the `harvester.rules` entry points name (see the module docstring), by name."""
    found: dict[str, type] = {}
    for ep in registered_entry_points("harvester.rules"):
        for cls in rule_classes_in(ep.load()):
            found.setdefault(cls.rule_name(), cls)
    return found


def rule_classes_in(obj: Any) -> list[type]:
    """The rules an entry point's object holds: itself when it is one, those defined in a
    module, or those defined in each module of a package (modules in name order)."""
    if not isinstance(obj, ModuleType):
        return [obj] if is_rule_class(obj) else []
    modules = [obj]
    if hasattr(obj, "__path__"):
        names = sorted(info.name for info in pkgutil.iter_modules(obj.__path__))
        modules += [import_module(f"{obj.__name__}.{name}") for name in names]
    return [cls for module in modules for cls in vars(module).values()
            if is_rule_class(cls) and cls.__module__ == module.__name__]


def is_rule_class(obj: Any) -> bool:
    from harvester.rules.base import Rule

    return inspect.isclass(obj) and issubclass(obj, Rule) and not obj.__dict__.get("abstract", False)


def build_rules(rule_tables: dict[str, Any], where: str) -> list[Any]:
    """Instantiate every enabled rule with its `[rules.<name>]` table as constructor arguments."""
    from harvester.settings import build_settings

    classes = rule_classes()
    unknown = sorted(set(rule_tables) - set(classes))
    if unknown:
        raise ConfigError(f"{where} [rules.{unknown[0]}]: unknown rule. Known rules: {', '.join(sorted(classes))}.")
    rules = []
    for name, cls in sorted(classes.items()):
        table = rule_tables.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where} [rules.{name}]: must be a table of parameters.")
        rule = build_settings(cls, table, f"{where} [rules.{name}]")
        if rule.enabled:
            rules.append(rule)
    return rules
