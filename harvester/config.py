"""Find, read and validate the TOML config. Secrets are never read from the file."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from harvester.errors import ConfigError, HarvesterError
from harvester.settings import build_settings

if TYPE_CHECKING:
    from harvester.drafting.rubric import Framework

CONFIG_FILENAME = "harvester.toml"
HOME_CONFIG_FILENAME = "config.toml"
# Top-level tables a config may hold; each feature validates its own table.
KNOWN_SECTIONS = ("identity", "store", "harvest", "connectors", "rules", "rubric", "wording", "digest", "nightly",
                  "report", "team", "mcp", "serve")


class AppDirError(HarvesterError):
    """The app dir, or a file harvester keeps in it, cannot be used (not a folder, not writable)."""


def app_dir() -> Path:
    """The per-user directory for the default store, config, logs and lock."""
    override = os.environ.get("HARVESTER_HOME")
    if override:
        path = Path(override).expanduser()
        if path.exists() and not path.is_dir():
            raise AppDirError(f"HARVESTER_HOME is {path}, which is a file, not a folder. Point HARVESTER_HOME at "
                              "a folder (it is created if missing), or unset it to use the default app dir.")
        return path
    import click

    path = Path(click.get_app_dir("harvester"))
    if path.exists() and not path.is_dir():
        raise AppDirError(f"The app dir {path} is a file, not a folder. Move the file away, or set HARVESTER_HOME "
                          "to a folder to keep harvester's files in.")
    return path


def describe_unwritable(exc: OSError, what: str, path: Path, fix: str) -> str:
    """One line for a file harvester could not create or write: `what` is e.g. "the lock file"."""
    return f"Cannot write {what} {path} ({exc.strerror or type(exc).__name__}). {fix}"


@dataclass(frozen=True)
class IdentitySettings:
    name: str = ""
    email: str = ""
    handles: tuple[str, ...] = ()
    key: str = ""

    @property
    def owner(self) -> str:
        """The user key every stored row carries, so a team can share one database."""
        return (self.key or self.email or self.name or "me").strip().lower()

    @property
    def all_handles(self) -> frozenset[str]:
        found = {h.strip().lower() for h in self.handles if h.strip()}
        if self.email:
            found.add(self.email.strip().lower())
        return frozenset(found)


@dataclass(frozen=True)
class StoreSettings:
    url: str = ""


@dataclass(frozen=True)
class HarvestSettings:
    default_since: str = "90d"
    page_size: int = 1000


@dataclass(frozen=True)
class RubricSettings:
    framework: str = ""
    level: str = ""  # a level id of the framework; reports show its expectations

    def resolved(self, config_path: Path | None) -> "RubricSettings":
        """A relative framework path is read next to the config file, not the working directory."""
        if not self.framework or config_path is None or Path(self.framework).expanduser().is_absolute():
            return self
        return RubricSettings(framework=str(config_path.parent / self.framework), level=self.level)


@dataclass(frozen=True)
class WordingSettings:
    """How drafts name things: `metric_names = { val_auc = "holdout AUC" }` overrides the plain
    name of a metric (or param) key in statements; the raw key stays in the draft's metrics."""

    metric_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for key, value in self.metric_names.items():
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"metric_names.{key} must be a non-empty string")


@dataclass(frozen=True)
class ConnectorInstance:
    name: str
    type: str
    table: Mapping[str, Any]
    where: str


@dataclass(frozen=True)
class Config:
    path: Path | None
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    rubric: RubricSettings = field(default_factory=RubricSettings)
    wording: WordingSettings = field(default_factory=WordingSettings)
    connectors: Mapping[str, ConnectorInstance] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "(built-in defaults)"

    @property
    def store_url(self) -> str:
        return self.store.url or default_store_url()

    def section(self, name: str) -> Mapping[str, Any]:
        """A feature's own table (e.g. 'digest'), to validate with build_settings."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def where(self, *keys: str) -> str:
        return f"{self.label} [{'.'.join(keys)}]"

    @cached_property
    def framework(self) -> Framework:
        """The promotion rubric in use, read once per command."""
        from harvester.drafting.rubric import load_framework

        return load_framework(self.rubric.framework or None)


def default_store_url() -> str:
    return f"sqlite:///{app_dir() / 'harvester.db'}"


def find_config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """--config, then $HARVESTER_CONFIG, then ./harvester.toml, then the app dir."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist. Create it with `harvester init --path {path}`.")
        return path
    env = os.environ.get("HARVESTER_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"HARVESTER_CONFIG points to {path}, which does not exist. Fix the variable or run `harvester init`.")
        return path
    for candidate in (Path.cwd() / CONFIG_FILENAME, app_dir() / HOME_CONFIG_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    path = find_config_path(explicit)
    if path is None:
        return Config(path=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the syntax and try again.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path | None) -> Config:
    label = str(path) if path else "(config)"
    unknown = sorted(set(raw) - set(KNOWN_SECTIONS))
    if unknown:
        raise ConfigError(
            f"{label}: unknown table [{unknown[0]}]. Known tables: {', '.join(KNOWN_SECTIONS)}."
        )
    for name in KNOWN_SECTIONS:
        if name in raw and not isinstance(raw[name], dict):
            raise ConfigError(f"{label}: {name} must be a table ([{name}]), not a single value.")
    remember_configured_secrets(raw)
    return Config(
        path=path,
        identity=build_settings(IdentitySettings, raw.get("identity", {}), f"{label} [identity]"),
        store=build_settings(StoreSettings, raw.get("store", {}), f"{label} [store]"),
        harvest=build_settings(HarvestSettings, raw.get("harvest", {}), f"{label} [harvest]"),
        rubric=build_settings(RubricSettings, raw.get("rubric", {}), f"{label} [rubric]").resolved(path),
        wording=build_settings(WordingSettings, raw.get("wording", {}), f"{label} [wording]"),
        connectors=parse_connectors(raw.get("connectors", {}), label),
        rules={str(k): v for k, v in raw.get("rules", {}).items()},
        raw=raw,
    )


_INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_connectors(table: Mapping[str, Any], label: str) -> dict[str, ConnectorInstance]:
    instances = {}
    for name, body in table.items():
        where = f"{label} [connectors.{name}]"
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: must be a table with at least `type = \"mlflow\"`.")
        if not _INSTANCE_NAME.match(name):
            raise ConfigError(f"{where}: instance names may use letters, digits, '-', '_' and '.'.")
        kind = body.get("type")
        if not isinstance(kind, str) or not kind:
            raise ConfigError(f"{where}: missing key 'type' (for example type = \"mlflow\").")
        rest = {k: v for k, v in body.items() if k != "type"}
        instances[name] = ConnectorInstance(name=name, type=kind, table=rest, where=where)
    return instances


def remember_configured_secrets(table: Mapping[str, Any]) -> None:
    """Every secret the config names (`*_env` keys) is redacted from output from the start,
    even in a command that never uses it: a draft or an error may quote it."""
    from harvester.redact import remember_secret

    for key, value in table.items():
        if isinstance(value, Mapping):
            remember_configured_secrets(value)
        elif key.endswith("_env") and "user" not in key and isinstance(value, str) and value:  # names aren't secret
            remember_secret(os.environ.get(value, ""))


def describe_missing_secret(env_name: str, where: str) -> str:
    return f"{where}: environment variable {env_name} is not set. Export it (export {env_name}=...) or remove the key."


def read_secret(env_name: str, where: str) -> str:
    """The value of the environment variable named in the config; never logged."""
    value = os.environ.get(env_name, "")
    if not value:
        raise ConfigError(describe_missing_secret(env_name, where))
    from harvester.redact import remember_secret

    remember_secret(value)
    return value
