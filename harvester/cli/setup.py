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
            from harvester.errors import ConfigError

            raise ConfigError(f"{target} already exists; use --force to overwrite it.")
        starter = resources.files("harvester").joinpath("data", "starter.toml").read_text(encoding="utf-8")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_whole_file(target, starter)
        except OSError as exc:
            fix = ("Choose a writable place with --path." if path else
                   "Make the app dir writable, set HARVESTER_HOME to a folder you can write to, or use --path.")
            raise AppDirError(describe_unwritable(exc, "the config", target, fix)) from None
        from harvester.commands import command_prefix_for

        command = command_prefix_for(target)
        say(f"Wrote {target}. Edit [identity] and a [connectors.*] table, then check it with `{command} doctor` and "
            f"run `{command} harvest --since 90d`.")

    @cli.group()
    def rules():
        """The rules that recognise reportable work."""

    @rules.command("list")
    @json_option
    @pass_app
    def list_rules(app, as_json):
        """Each rule with its parameters, as TOML to paste into the config: your config's
        values where it sets them, the defaults elsewhere."""
        from harvester.drafting.redraft import load_rules
        from harvester.registry import rule_classes
        from harvester.settings import describe_settings

        load_rules(app.config)  # an unknown [rules.*] table or key is refused here as in harvest
        configured = app.config.rules
        items = []
        for name, cls in sorted(rule_classes().items()):
            params = [{"name": p, "type": t, "default": d, "value": configured.get(name, {}).get(p, d)}
                      for p, t, d in describe_settings(cls)]
            items.append({"name": name, "description": cls.description, "kinds": sorted(cls.kinds), "parameters": params})
        if as_json:
            echo_json(items)
            return
        from harvester.cli.toml_text import format_setting_line

        for n, item in enumerate(items):
            say(("\n" if n else "") + f"# {item['description']}")
            say(f"[rules.{item['name']}]")
            for p in item["parameters"]:
                say(format_setting_line(p["name"], p["type"], p["default"], p["value"]))

    @cli.group()
    def connectors():
        """The sources harvester can read."""

    @connectors.command("list")
    @json_option
    @pass_app
    def list_connectors(app, as_json):
        """Connector types and their settings, as TOML to paste into the config (rename
        the table), with the instances your config defines."""
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
        from harvester.cli.toml_text import format_setting_line

        for n, item in enumerate(items):
            inst = ", ".join(item["instances"]) or "none configured"
            say(("\n" if n else "") + f"# {item['description']} Instances in your config: {inst}.")
            say(f"[connectors.my-{item['type']}]")
            say(f'type = "{item["type"]}"')
            for s in item["settings"]:
                say(format_setting_line(s["name"], s["type"], s["default"]))
