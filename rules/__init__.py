"""Built-in rules. pyproject.toml registers this package as the `builtin` entry point of the
`harvester.rules` group, so every non-abstract Rule subclass defined in any of its modules is
registered (see harvester.registry) under the snake_case of its name (`MetricLiftRule` ->
`metric_lift`): a new rule is one new module here."""
