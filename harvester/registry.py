"""Connector and rule registries, filled from the `harvester.connectors` and `harvester.rules`
entry-point groups. Built-ins register through the same groups as third-party plugins."""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from harvester.errors import ConfigError

BUILTIN_CONNECTORS = {
    "mlflow": "harvester.connectors.mlflow:MlflowConnector",
    "wandb": "harvester.connectors.wandb:WandbConnector",
    "github": "harvester.connectors.github:GithubConnector",
    "jira": "harvester.connectors.jira:JiraConnector",
}


def snake_name(class_name: str, suffix: str) -> str:
    base = class_name[: -len(suffix)] if class_name.endswith(suffix) else class_name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = import_module(module)
    return getattr(obj, attr) if attr else obj


@lru_cache(maxsize=1)
def connector_targets() -> dict[str, str]:
    """type name -> 'module:Class', without importing any connector."""
    targets = dict(BUILTIN_CONNECTORS)
    for ep in entry_points(group="harvester.connectors"):
        targets.setdefault(ep.name, ep.value)
    return targets


def connector_class(type_name: str, where: str = "") -> type:
    targets = connector_targets()
    if type_name not in targets:
        known = ", ".join(sorted(targets))
        raise ConfigError(f"{where}: unknown connector type {type_name!r}. Known types: {known}.")
    return _load(targets[type_name])


@lru_cache(maxsize=1)
def rule_classes() -> dict[str, type]:
    """Every non-abstract *Rule class from the built-in rules package and plugins, by name."""
    from harvester.rules import builtin_rule_classes
    from harvester.rules.base import Rule

    found: dict[str, type] = {cls.rule_name(): cls for cls in builtin_rule_classes()}
    for ep in entry_points(group="harvester.rules"):
        obj = ep.load()
        candidates = vars(obj).values() if isinstance(obj, ModuleType) else [obj]
        for cls in candidates:
            if inspect.isclass(cls) and issubclass(cls, Rule) and not cls.__dict__.get("abstract", False):
                found.setdefault(cls.rule_name(), cls)
    return found


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
