"""Settings of the MLflow connector, and the checks of its tracking URI that need no network."""

from __future__ import annotations

from dataclasses import dataclass


# URI schemes MLflow's tracking client reads; a database scheme may carry a driver (postgresql+psycopg).
TRACKING_SCHEMES = ("http", "https", "file", "databricks", "sqlite", "postgresql", "mysql", "mssql")


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str
    registry_uri: str = ""
    ui_url: str = ""
    token_env: str = ""
    username_env: str = ""
    password_env: str = ""
    handles: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    exclude_experiments: tuple[str, ...] = ()
    serving_aliases: tuple[str, ...] = ("champion", "production", "prod")
    serving_stages: tuple[str, ...] = ("Production",)
    registry: bool = True
    max_results: int = 50000
    max_retries: int = 2
    timeout: int = 60

    def __post_init__(self):
        if not 1 <= self.max_results <= 50000:
            raise ValueError("max_results must be between 1 and 50000 (the MLflow server's limit)")
        check_tracking_uri(self.tracking_uri)


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
    elif parsed.scheme == "" and uri:
        folder = Path(uri).expanduser()
    else:
        return None
    return None if folder.is_dir() else str(folder)
