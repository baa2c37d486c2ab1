"""GraphQL over HTTP for the W&B connector: the read-only queries it sends, retries (urllib3's,
mounted on the session; see connectors/http.py), and one clear error for each thing that can go wrong.

Queries go to POST {base_url}/graphql with HTTP basic auth ("api", key), the endpoint and
auth the wandb SDK itself uses. Field names follow the W&B schema (`project.runs`,
`models` for the project list, `organization.orgEntity.artifactMemberships` for registry
versions). Several projects share one request through GraphQL aliases (`q0`, `q1`, ...).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from harvester.errors import AuthError, ConnectorError, TransientError
from harvester.redact import quote_server_message, redact, remember_basic_credential

MAX_RETRY_WAIT = 60.0

VIEWER_QUERY = """query Viewer {
  viewer {
    id
    username
    entity
  }
}"""

ORGANIZATION_QUERY = """query FetchOrgInfoFromEntity($entity: String!) {
  entity(name: $entity) {
    organization {
      name
    }
    user {
      organizations {
        name
      }
    }
  }
}"""

PROJECT_BLOCK = """  q{i}: models(entityName: $entity{i}, after: $cursor{i}, first: $perPage) {{
    edges {{
      node {{
        id
        name
        entityName
        createdAt
      }}
    }}
    pageInfo {{
      endCursor
      hasNextPage
    }}
  }}"""

RUN_BLOCK = """  q{i}: project(name: $project{i}, entityName: $entity{i}) {{
    name
    entityName
    runs(filters: $filters, after: $cursor{i}, first: $perPage, order: $order) {{
      edges {{
        node {{
          ...RunFields
        }}
        cursor
      }}
      pageInfo {{
        endCursor
        hasNextPage
      }}
    }}
  }}"""

RUN_FIELDS = """fragment RunFields on Run {
  id
  name
  displayName
  state
  config
  group
  jobType
  createdAt
  heartbeatAt
  summaryMetrics
  tags
  notes
  user {
    name
    username
  }
}"""

MEMBERSHIP_BLOCK = """  q{i}: organization(name: $organization) {{
    orgEntity {{
      name
      artifactMemberships(projectFilters: $registryFilter, filters: $filter{i}, after: $cursor{i}, first: $perPage) {{
        pageInfo {{
          endCursor
          hasNextPage
        }}
        edges {{
          node {{
            ...MembershipFields
          }}
        }}
      }}
    }}
  }}"""

MEMBERSHIP_FIELDS = """fragment MembershipFields on ArtifactCollectionMembership {
  id
  versionIndex
  createdAt
  aliases {
    alias
  }
  artifactCollection {
    name
    project {
      name
      entity {
        name
      }
    }
  }
  artifact {
    id
    versionIndex
    createdAt
    updatedAt
    state
    artifactType {
      name
    }
    createdBy {
      __typename
      ... on Run {
        name
        displayName
        summaryMetrics
        user {
          username
        }
        project {
          name
          entity {
            name
          }
        }
      }
      ... on User {
        username
      }
    }
  }
}"""


@dataclass(frozen=True)
class AliasedQuery:
    """One paginated connection per key, many keys per request.

    `block` is the text of one aliased field (formatted with `i`), `block_variables` the
    variables one key adds (given the key and i), `connection` finds the connection in the
    aliased result (None when the parent object does not exist).
    """

    operation: str
    header: str
    block: str
    block_variables: Callable[[Any, int], dict[str, Any]]
    block_declarations: str
    connection: Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None]
    fragment: str = ""

    def text(self, count: int) -> str:
        declarations = ", ".join(self.block_declarations.format(i=i) for i in range(count))
        blocks = "\n".join(self.block.format(i=i) for i in range(count))
        head = f"query {self.operation}({self.header}, {declarations}) {{"
        return "\n".join(part for part in (head, blocks, "}", self.fragment) if part)


def child(value: Any, *keys: str) -> Any:
    """value[k1][k2]...; None where a parent is null (the object does not exist). A parent that
    is not an object is passed on as it is, for read_connection to refuse."""
    for key in keys:
        if value is None or not isinstance(value, Mapping):
            return value
        value = value.get(key)
    return value


PROJECTS = AliasedQuery(
    operation="Projects", header="$perPage: Int", block=PROJECT_BLOCK,
    block_declarations="$entity{i}: String, $cursor{i}: String",
    block_variables=lambda entity, i: {f"entity{i}": entity},
    connection=lambda data: data,
)

RUNS = AliasedQuery(
    operation="Runs", header="$filters: JSONString, $perPage: Int, $order: String", block=RUN_BLOCK,
    block_declarations="$entity{i}: String!, $project{i}: String!, $cursor{i}: String",
    block_variables=lambda key, i: {f"entity{i}": key[0], f"project{i}": key[1]},
    connection=lambda data: child(data, "runs"),
    fragment=RUN_FIELDS,
)

MEMBERSHIPS = AliasedQuery(
    operation="RegistryVersions", header="$organization: String!, $registryFilter: JSONString, $perPage: Int",
    block=MEMBERSHIP_BLOCK, block_declarations="$filter{i}: JSONString, $cursor{i}: String",
    block_variables=lambda key, i: {f"filter{i}": key[1]},
    connection=lambda data: child(data, "orgEntity", "artifactMemberships"),
    fragment=MEMBERSHIP_FIELDS,
)


class QueryRejected(ConnectorError):
    """W&B refused a query (a GraphQL error, or HTTP 4xx): `detail` is its (redacted) message,
    for callers that can ask differently."""

    def __init__(self, source: str, message: str, detail: str, status: int | None = None):
        super().__init__(source, message, status)
        self.detail = redact(detail)


class WandbGraphql:
    """A requests session bound to one W&B server and key. Make one per harvest."""

    def __init__(self, instance: str, base_url: str, api_key: str, token_env: str, *, timeout: float,
                 max_retries: int, retry_backoff: float, sleep: Callable[[float], None] = time.sleep):
        import requests

        from harvester.connectors.http import SERVER_ERRORS, build_retry, mount_retry

        self.instance = instance
        self.url = base_url.rstrip("/") + "/graphql"
        self.base_url = base_url.rstrip("/")
        self.token_env = token_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self.session = requests.Session()
        self.session.auth = ("api", api_key)
        remember_basic_credential("api", api_key)  # a server echoing the header gives the key away
        self.session.headers["User-Agent"] = "harvester (W&B public API reader)"
        # `self.sleep` is looked up at each wait, so it can be replaced after the client is made.
        mount_retry(self.session, build_retry(max_retries, (429, *SERVER_ERRORS), backoff=retry_backoff,
                                              pause=lambda seconds: self.sleep(seconds), max_wait=MAX_RETRY_WAIT))

    def close(self) -> None:
        self.session.close()

    def execute(self, operation: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one GraphQL operation, after the session's retries on 429, 5xx and lost
        connections."""
        import requests

        from harvester.connectors.http import transport_failure

        body = {"operationName": operation, "query": query, "variables": dict(variables or {})}
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.instance, f"cannot reach W&B at {self.base_url} ({transport_failure(exc)}). "
                                                "Check base_url and the network; the next harvest resumes where "
                                                "this one stopped.") from None
        status = response.status_code
        if status in (401, 403):
            raise self.auth_error(status)
        if status == 429 or status >= 500:
            raise TransientError(self.instance, f"W&B at {self.base_url} answered HTTP {status} to {operation} after "
                                                f"{self.max_retries + 1} attempt(s); the next harvest resumes where "
                                                "this one stopped.", status)
        return self.read_data(operation, response)

    def auth_error(self, status: int) -> AuthError:
        if status == 401:
            return AuthError(self.instance, f"W&B at {self.base_url} rejected the API key in {self.token_env} "
                                            f"(HTTP 401). Put a valid key in {self.token_env} (the key from your W&B "
                                            "user settings page) and check base_url for self-hosted servers.", status)
        return AuthError(self.instance, f"W&B at {self.base_url} refused access with the key in {self.token_env} "
                                        "(HTTP 403). Use a key of a user who can read these projects, or narrow "
                                        "entities/projects to ones it can read.", status)

    def read_data(self, operation: str, response) -> dict[str, Any]:
        if response.status_code >= 400:
            detail = graphql_message(safe_json(response)) or response.text.strip()
            # Redacted before it is cut, so a cut never leaves part of an echoed secret behind.
            raise QueryRejected(self.instance, f"W&B answered HTTP {response.status_code} to {operation}: "
                                               f"{quote_server_message(detail, 200)}", detail, response.status_code)
        body = safe_json(response)
        if body is None:
            raise ConnectorError(self.instance, f"W&B at {self.base_url} did not answer {operation} with JSON; "
                                                "is base_url the W&B API (e.g. https://api.wandb.ai)?")
        if not isinstance(body, Mapping):
            raise ConnectorError(self.instance, f"W&B answered {operation} with JSON that is not an object.")
        message = graphql_message(body)
        if message:
            if "unauthorized" in message.lower() or "not logged in" in message.lower():
                raise self.auth_error(401)
            raise QueryRejected(self.instance, f"W&B rejected {operation}: {quote_server_message(message, 300)}", message)
        data = body.get("data")
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise ConnectorError(self.instance, f"W&B answered {operation} with a `data` that is not an object.")
        return dict(data)

    def paginate(self, query: AliasedQuery, keys: Sequence[Any], shared: Mapping[str, Any],
                 batch: int) -> Iterator[tuple[Any, list[dict[str, Any]], bool]]:
        """For every key: (key, nodes of one page, whether that key is finished).

        Keys are taken `batch` at a time; each request asks for the next page of every key of
        the batch that still has one, so K keys cost ceil(K / batch) requests when they fit
        on one page.
        """
        for start in range(0, len(keys), batch):
            cursors: dict[Any, str | None] = {key: None for key in keys[start:start + batch]}
            while cursors:
                open_keys = list(cursors)
                variables = dict(shared)
                for i, key in enumerate(open_keys):
                    variables.update(query.block_variables(key, i))
                    variables[f"cursor{i}"] = cursors[key]
                data = self.execute(query.operation, query.text(len(open_keys)), variables)
                for i, key in enumerate(open_keys):
                    connection = query.connection(data.get(f"q{i}"))
                    nodes, end = self.read_connection(query.operation, connection)
                    more = bool(end) and end != cursors[key]
                    if more:
                        cursors[key] = end
                    else:
                        del cursors[key]
                    yield key, nodes, not more

    def read_connection(self, operation: str, connection: Any) -> tuple[list[Any], str | None]:
        """(nodes, cursor of the next page or None) of a relay connection. Null nodes (hidden from
        this key) are dropped; an edge that is not an object is passed on for the parser to
        skip; a connection of the wrong shape is a ConnectorError."""
        if connection is None:
            return [], None
        edges = connection.get("edges") if isinstance(connection, Mapping) else None
        info = connection.get("pageInfo") if isinstance(connection, Mapping) else None
        if not isinstance(connection, Mapping) or not isinstance(edges, (list, type(None))) \
                or not isinstance(info, (Mapping, type(None))):
            raise ConnectorError(self.instance, f"W&B answered {operation} with a connection of an unexpected "
                                                "shape (edges must be a list and pageInfo an object).")
        nodes = [e.get("node") if isinstance(e, Mapping) else e for e in edges or ()]
        nodes = [n for n in nodes if n is not None]
        info = info or {}
        end = info.get("endCursor")
        if info.get("hasNextPage") is True and isinstance(end, str) and end:
            return nodes, end
        return nodes, None


def safe_json(response) -> Any:
    """The response's JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def graphql_message(body: Any) -> str:
    """The first GraphQL error's message, or ""."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not errors:
        return ""
    first = errors[0] if isinstance(errors, list) else errors
    if isinstance(first, Mapping):
        return str(first.get("message") or first)
    return str(first)
