"""`init`, `rules list`, `connectors list`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say


def write_whole_file(target: Path, text: str) -> None:
    """Write beside the target, then rename over it: a full disk never leaves half a config."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--path", type=click.Path(dir_okay=False), help="Where to write (default: the app dir's config.toml).")
    @click.option("--force", is_flag=True, help="Overwrite an existing file.")
    def init(path, force):
        """Write a commented starter config to edit."""
        from importlib import resources

        from harvester.config import HOME_CONFIG_FILENAME, AppDirError, app_dir, describe_unwritable

        target = Path(path) if path else app_dir() / HOME_CONFIG_FILENAME
        if target.exists() and not force:
            raise click.ClickException(f"{target} already exists; use --force to overwrite it.")
        starter = resources.files("harvester").joinpath("data", "starter.toml").read_text(encoding="utf-8")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_whole_file(target, starter)
        except OSError as exc:
            fix = ("Choose a writable place with --path." if path else
                   "Make the app dir writable, set HARVESTER_HOME to a folder you can write to, or use --path.")
            raise AppDirError(describe_unwritable(exc, "the config", target, fix)) from None
        say(f"Wrote {target}. Edit [identity] and a [connectors.*] table, then run `harvester harvest --since 90d`.")

    @cli.group()
    def rules():
        """The rules that recognise reportable work."""

    @rules.command("list")
    @json_option
    @pass_app
    def list_rules(app, as_json):
        """Each rule with its parameters: defaults and the values your config sets."""
        from harvester.registry import rule_classes
        from harvester.settings import describe_settings

        configured = app.config.rules
        items = []
        for name, cls in sorted(rule_classes().items()):
            params = [{"name": p, "type": t, "default": d, "value": configured.get(name, {}).get(p, d)}
                      for p, t, d in describe_settings(cls)]
            items.append({"name": name, "description": cls.description, "kinds": sorted(cls.kinds), "parameters": params})
        if as_json:
            echo_json(items)
            return
        for item in items:
            say(f"{item['name']}: {item['description']}")
            for p in item["parameters"]:
                mark = "" if p["value"] == p["default"] else f"  (config: {p['value']!r})"
                say(f"    {p['name']} = {p['default']!r}  [{p['type']}]{mark}")

    @cli.group()
    def connectors():
        """The sources harvester can read."""

    @connectors.command("list")
    @json_option
    @pass_app
    def list_connectors(app, as_json):
        """Connector types, their settings, and the instances your config defines."""
        from harvester.registry import connector_class, connector_targets
        from harvester.settings import describe_settings

        items = []
        for type_name in sorted(connector_targets()):
            cls = connector_class(type_name)
            instances = sorted(n for n, i in app.config.connectors.items() if i.type == type_name)
            items.append({"type": type_name, "description": cls.description, "streams": list(cls.streams),
                          "instances": instances,
                          "settings": [{"name": n, "type": t, "default": d}
                                       for n, t, d in describe_settings(cls.settings_class)]})
        if as_json:
            echo_json(items)
            return
        for item in items:
            inst = ", ".join(item["instances"]) or "none configured"
            say(f"{item['type']}: {item['description']}  (instances: {inst})")
            for s in item["settings"]:
                say(f"    {s['name']} = {s['default']!r}  [{s['type']}]")
