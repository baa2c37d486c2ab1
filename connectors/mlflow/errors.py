"""One clear line for each MLflow client error a user can cause or fix."""

from __future__ import annotations

import re

from harvester.connectors.mlflow.settings import MlflowSettings
from harvester.connectors.mlflow.transport import RETRIED_STATUSES, ServerHttpError
from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message, redact


def translate_error(instance: str, settings: MlflowSettings, exc: Exception) -> ConnectorError:
    """One clear line for the errors a user can cause or fix."""
    # Redacted before it is cut, so a cut never leaves part of an echoed secret behind.
    message = redact(str(exc))
    status = None
    getter = getattr(exc, "get_http_status_code", None)
    if callable(getter):
        try:
            status = int(getter())
        except (TypeError, ValueError):
            status = None
    lowered = message.lower()
    retried = re.search(r"too many (\d{3}) error responses", lowered)  # urllib3 gave up retrying a status
    if retried:
        status = int(retried.group(1))
    if retried or isinstance(exc, ServerHttpError) and status in RETRIED_STATUSES:
        why = "rate limited" if status == 429 else "a server error; check the server's logs"
        return TransientError(instance, f"MLflow at {settings.tracking_uri} kept answering HTTP {status} ({why}); "
                                        "the next harvest retries.", status)
    if status in (401, 403) or "401" in lowered[:200] and "unauthorized" in lowered:
        if settings.on_databricks and settings.profile:
            hint = f"check the token of the profile {settings.profile!r} in ~/.databrickscfg (profile)"
        elif settings.on_databricks:
            hint = f"check the personal access token in {settings.token_env or 'DATABRICKS_TOKEN'} (token_env)"
        elif settings.token_env:
            hint = f"check the token in {settings.token_env}"
        else:
            hint = "set token_env in the connector table to the name of the variable holding your token"
        return AuthError(instance, f"MLflow at {settings.tracking_uri} refused the credentials (HTTP {status}); {hint}.",
                         status)
    if "incompleteread" in lowered or "connection broken" in lowered or "connection reset" in lowered \
            or "connection aborted" in lowered or "remotedisconnected" in lowered:
        # mlflow's client reports a transport error on some endpoints as HTTP 500: the server answered.
        return TransientError(instance, f"MLflow at {settings.tracking_uri} broke off its answer part-way (connection "
                                        "dropped or reset); everything saved so far is kept and the next harvest "
                                        "resumes from there.")
    connect_timeout = "connecttimeout" in lowered or "connect timeout" in lowered
    if ("timed out" in lowered or "read timeout" in lowered) and not connect_timeout:
        return TransientError(instance, f"MLflow at {settings.tracking_uri} did not answer within {settings.timeout} s; "
                                        "the next harvest resumes from the last saved page. If the server is busy, "
                                        "raise timeout in the connector table.")
    if "max retries exceeded" in lowered or "connection refused" in lowered or "failed to establish" in lowered \
            or "name or service not known" in lowered or connect_timeout:
        return TransientError(instance, f"cannot reach MLflow at {settings.tracking_uri}. Check tracking_uri "
                                        "and that the server is running.")
    said = quote_server_message(message) or type(exc).__name__
    return ConnectorError(instance, f"MLflow error{f' (HTTP {status})' if status else ''}: {said}", status)
