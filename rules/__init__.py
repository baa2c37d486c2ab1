"""Built-in rules. Every non-abstract `*Rule` class in this package's modules is registered
automatically under the snake_case of its name (`MetricLiftRule` -> `metric_lift`)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil


def builtin_rule_classes() -> list[type]:
    from harvester.rules.base import Rule

    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, Rule) and obj.__module__ == module.__name__
                    and not obj.__dict__.get("abstract", False)):
                found.append(obj)
    return found
