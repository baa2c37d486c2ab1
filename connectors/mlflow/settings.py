"""Settings of the MLflow connector, and the checks of its tracking URI that need no network."""

from __future__ import annotations

from dataclasses import dataclass

from harvester.settings import setting


# URI schemes MLflow's tracking client reads; a database scheme may carry a driver (postgresql+psycopg).
TRACKING_SCHEMES = ("http", "https", "file", "databricks", "sqlite", "postgresql", "mysql", "mssql")


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str = setting(help="the tracking server: http(s)://HOST, file:///path/to/mlruns, or "
                                     "\"databricks\" (a workspace: DATABRICKS_HOST, or a profile)")
    registry_uri: str = setting("", "the model registry; \"databricks-uc\" = Unity Catalog "
                                    "(default: the tracking server's)")
    profile: str = setting("", "a ~/.databrickscfg profile for the workspace host and token "
                               "(tracking_uri = \"databricks\"); default: DATABRICKS_HOST and the token")
    ui_url: str = setting("", "base of evidence links; default: tracking_uri when it is http(s), on "
                              "Databricks the workspace host (profile, DATABRICKS_HOST, DEFAULT profile)")
    token_env: str = setting("", "env var holding a bearer token (on Databricks: a personal access token; "
                                 "default there: DATABRICKS_TOKEN)")
    username_env: str = setting("", "env var holding the basic-auth user, if your server uses it")
    password_env: str = setting("", "env var holding the basic-auth password")
    handles: tuple[str, ...] = setting((), "extra mlflow.user values that are you, on this server only")
    experiments: tuple[str, ...] = setting((), "only these experiment names (glob patterns); default: all active")
    exclude_experiments: tuple[str, ...] = setting((), "never these experiments (glob patterns)")
    serving_aliases: tuple[str, ...] = setting(("champion", "production", "prod"),
                                               "an alias moving here is a promotion (case-insensitive)")
    serving_stages: tuple[str, ...] = setting(("Production",), "a (deprecated) stage transition here is a promotion")
    registry: bool = setting(True, "harvest the model registry too")
    max_results: int = setting(50000, "runs per page (the server's maximum)")
    max_retries: int = setting(2, "HTTP retries on connection errors, 429 and 5xx")
    timeout: int = setting(60, "seconds per request")

    def __post_init__(self):
        if not 1 <= self.max_results <= 50000:
            raise ValueError("max_results must be between 1 and 50000 (the MLflow server's limit)")
        check_tracking_uri(self.tracking_uri)
        if self.registry_uri.strip().lower().startswith("databricks-uc") and not self.on_databricks:
            raise ValueError('registry_uri = "databricks-uc" needs tracking_uri = "databricks": Unity Catalog '
                             "versions are attributed through runs of the same workspace")

    @property
    def on_databricks(self) -> bool:
        """The tracking server is a Databricks workspace ("databricks" or "databricks://PROFILE")."""
        return self.tracking_uri.strip().lower().split(":", 1)[0] == "databricks"

    @property
    def unity_catalog(self) -> bool:
        return self.registry_uri.strip().lower().startswith("databricks-uc")


def check_tracking_uri(uri: str) -> None:
    """Refuse a URI MLflow cannot read."""
    from urllib.parse import urlsplit

    if not uri.strip():
        raise ValueError("tracking_uri is empty: set it to the server's address, e.g. https://mlflow.example.com")
    scheme = urlsplit(uri.strip()).scheme.lower()
    if len(scheme) > 1 and scheme.split("+")[0] not in TRACKING_SCHEMES:  # one letter: a Windows drive
        raise ValueError(f"tracking_uri {uri!r} has the unknown scheme {scheme}://. Use http(s)://, file:// or "
                         f"a database URI ({', '.join(TRACKING_SCHEMES)}).")


def missing_file_store(uri: str) -> str | None:
    """The folder of a file:// (or plain path) tracking URI when it does not exist."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme == "file":
        folder = Path(unquote(parsed.path))
    elif parsed.scheme == "" and uri and uri.strip().lower() != "databricks":  # mlflow's name for a workspace
        folder = Path(uri).expanduser()
    else:
        return None
    return None if folder.is_dir() else str(folder)


def databricks_env(settings: MlflowSettings, where: str) -> dict[str, str]:
    """What mlflow's Databricks credentials need, as environment: the profile, else DATABRICKS_HOST
    and the token (from token_env, else DATABRICKS_TOKEN). mlflow's own credential readers are
    used rather than the Databricks SDK's, whose auth probing and retries ignore the connector's
    retry and timeout settings."""
    import os

    from harvester.config import read_secret
    from harvester.errors import ConfigError

    env = {"MLFLOW_ENABLE_DB_SDK": "false"}
    if settings.profile:
        env["DATABRICKS_CONFIG_PROFILE"] = settings.profile
        remember_profile_token(settings.profile)
    if settings.profile or "://" in settings.tracking_uri:  # "databricks://PROFILE" names one too
        return env
    if not os.environ.get("DATABRICKS_HOST", "").strip():
        raise ConfigError(f"{where}: tracking_uri = \"databricks\" needs the workspace address: export "
                          "DATABRICKS_HOST=https://<workspace>.cloud.databricks.com, or set profile to a "
                          "~/.databrickscfg profile.")
    env["DATABRICKS_TOKEN"] = read_secret(settings.token_env or "DATABRICKS_TOKEN", f"{where} token_env")
    return env


def remember_profile_token(profile: str) -> None:
    """A profile's token is read by mlflow from ~/.databrickscfg; it is redacted like any named secret."""
    from mlflow.legacy_databricks_cli.configure.provider import ProfileConfigProvider

    from harvester.redact import remember_secret

    config = ProfileConfigProvider(profile).get_config()
    if config is not None and config.token:
        remember_secret(config.token)
