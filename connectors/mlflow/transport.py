"""HTTP to an MLflow tracking server, for the REST endpoints the connector reads.

Two transports answer the same calls. `ServerHttp` is the connector's own, on a `requests`
session: for an http(s) tracking server it saves importing mlflow, which costs more than the
rest of a nightly harvest put together (bench/RESULTS.md, start-up of a nightly run). It reads
the credentials and TLS settings mlflow's client reads, from the same variables: a bearer token
(MLFLOW_TRACKING_TOKEN), basic auth (MLFLOW_TRACKING_USERNAME / _PASSWORD),
MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH and _CLIENT_CERT_PATH; it
retries connection errors, 429 and 5xx as mlflow does. `MlflowRestHttp` goes through mlflow's
own REST helper with a store's host credentials: Databricks workspaces, and servers reached
through an auth plugin or AWS SigV4, whose credentials only mlflow knows how to make.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import Any
from urllib.parse import urlsplit

API = "/api/2.0/mlflow"
RETRIED_STATUSES = (429, 500, 502, 503, 504)  # mlflow's _TRANSIENT_FAILURE_RESPONSE_CODES
# Set, these need mlflow's own request path (auth plugins, SigV4 signing).
MLFLOW_ONLY_VARIABLES = ("MLFLOW_TRACKING_AUTH", "MLFLOW_TRACKING_AWS_SIGV4")
TRUE_WORDS = ("true", "1", "yes")


class ServerHttpError(Exception):
    """An MLflow server's answer with an error status: its HTTP status, error_code and message."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(f"{error_code}: {message}" if error_code else message)
        self.status = status
        self.error_code = error_code

    def get_http_status_code(self) -> int:  # the name mlflow's exceptions use, read by errors.py
        return self.status


def serves_plain_http(tracking_uri: str, registry_uri: str, env: Mapping[str, str]) -> bool:
    """The tracking server (and registry, when it is another) is reached over http(s) with
    credentials the connector can send itself."""
    def is_http(uri: str) -> bool:
        return urlsplit(uri.strip()).scheme.lower() in ("http", "https")

    if not is_http(tracking_uri) or (registry_uri.strip() and registry_uri.strip() != tracking_uri.strip()):
        return False
    return not any(str(env.get(name, "")).strip() for name in MLFLOW_ONLY_VARIABLES)


class RestCalls:
    """What the connector asks of a transport, on top of its `send`."""

    def send(self, method: str, endpoint: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             stream: bool = False):
        raise NotImplementedError

    def call(self, method: str, endpoint: str, *, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON of one answer (None for a body that is not JSON)."""
        with closing(self.send(method, endpoint, body=body, params=params)) as response:
            return read_json(response)

    def open_stream(self, endpoint: str, body: Any):
        """A POST whose answer is read as it arrives; the caller closes it."""
        return self.send("POST", endpoint, body=body, stream=True)


class ServerHttp(RestCalls):
    """One session bound to a tracking server, with mlflow's credential variables read from `env`."""

    def __init__(self, tracking_uri: str, env: Mapping[str, str], *, max_retries: int, timeout: float):
        import requests

        from harvester.connectors.http import build_retry, mount_retry

        self.base = tracking_uri.strip().rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "harvester (MLflow reader)"
        user, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
        token = env.get("MLFLOW_TRACKING_TOKEN")
        if user and password:
            self.session.auth = (user, password)
        elif token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if str(env.get("MLFLOW_TRACKING_INSECURE_TLS", "")).strip().lower() in TRUE_WORDS:
            self.session.verify = False
        elif env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
            self.session.verify = env["MLFLOW_TRACKING_SERVER_CERT_PATH"]
        if env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
            self.session.cert = env["MLFLOW_TRACKING_CLIENT_CERT_PATH"]
        # The last answer of a retried status comes back and is raised as a ServerHttpError.
        mount_retry(self.session, build_retry(max_retries, RETRIED_STATUSES, backoff=1.0))

    def send(self, method: str, endpoint: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             stream: bool = False):
        response = self.session.request(method, self.base + endpoint, json=body, params=params, timeout=self.timeout,
                                        stream=stream)
        if response.status_code != 200:
            with closing(response):
                raise error_from(response)
        return response



class MlflowRestHttp(RestCalls):
    """The same calls through mlflow's REST helper, with a store's host credentials."""

    def __init__(self, host_creds: Any):
        self.host_creds = host_creds

    def send(self, method: str, endpoint: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             stream: bool = False):
        from mlflow.utils.rest_utils import http_request, verify_rest_response

        kwargs: dict[str, Any] = {"stream": True} if stream else {}
        if body is not None:
            kwargs["json"] = body
        if params is not None:
            kwargs["params"] = dict(params)
        response = http_request(self.host_creds, endpoint, method, **kwargs)
        if response.status_code != 200:
            with closing(response):
                verify_rest_response(response, endpoint)  # raises mlflow's own exception
        return response


def read_json(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_from(response) -> ServerHttpError:
    """MLflow answers an error with {"error_code", "message"}; a proxy in front may answer anything."""
    from harvester.redact import quote_server_message

    body = read_json(response)
    if isinstance(body, Mapping) and (body.get("error_code") or body.get("message")):
        return ServerHttpError(response.status_code, str(body.get("error_code") or ""), str(body.get("message") or ""))
    said = quote_server_message(response.text or "", 200) or response.reason or ""
    return ServerHttpError(response.status_code, "", f"HTTP {response.status_code} {said}".strip())
