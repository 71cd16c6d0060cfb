"""`yun.Client`: a synchronous HTTP client for the control API (`/v1/...`) and invoke (`/fn/...`).

Settings are discovered the same way the CLI does it: explicit argument → `YUN_*` environment →
the files `yun up` writes into the data dir → defaults. Every failure the server reports comes
back as one exception type, `ApiError`, so callers map a single thing at their edge.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast
from urllib.parse import quote

import httpx

from yun import runtime
from yun.core.errors import YunError
from yun.storage._object_names import check_key

__all__ = ["ApiError", "Client", "ClientSettings", "InvokeResult"]

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DATA_DIR = ".yun"

# A deploy installs requirements on the server, and pip can stay silent for minutes between
# progress lines; the normal read timeout would abort a healthy deploy.
_DEPLOY_READ_TIMEOUT = 900.0


class ApiError(YunError):
    """The server answered with an error, or could not be reached (`status` 0)."""

    def __init__(self, status: int, type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = type

    def __repr__(self) -> str:
        return f"ApiError({self.status!r}, {self.type!r}, {self.message!r})"


@dataclass(frozen=True)
class ClientSettings:
    """The effective connection settings and where each one came from (for `yun config show`)."""

    url: str
    url_source: str
    api_key: str | None
    api_key_source: str
    data_dir: Path
    data_dir_source: str

    @classmethod
    def discover(
        cls,
        url: str | None = None,
        api_key: str | None = None,
        data_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientSettings:
        """Argument → `YUN_URL`/`YUN_API_KEY`/`YUN_DATA_DIR` → data-dir files → defaults."""
        env = os.environ if environ is None else environ
        if data_dir is not None:
            folder, folder_source = Path(data_dir), "argument"
        elif env.get("YUN_DATA_DIR"):
            folder, folder_source = Path(env["YUN_DATA_DIR"]), "$YUN_DATA_DIR"
        else:
            folder, folder_source = Path(DEFAULT_DATA_DIR), "default"

        endpoint_file = folder / "endpoint"
        if url is not None:
            found_url, url_source = url, "argument"
        elif env.get("YUN_URL"):
            found_url, url_source = env["YUN_URL"], "$YUN_URL"
        elif (text := _read_text(endpoint_file)) is not None:
            found_url, url_source = text, str(endpoint_file)
        else:
            found_url, url_source = DEFAULT_URL, "default"
        if "://" not in found_url:
            found_url = f"http://{found_url}"

        key_file = folder / "admin.key"
        key: str | None
        if api_key is not None:
            key, key_source = api_key, "argument"
        elif env.get("YUN_API_KEY"):
            key, key_source = env["YUN_API_KEY"], "$YUN_API_KEY"
        elif (text := _read_text(key_file)) is not None:
            key, key_source = text, str(key_file)
        else:
            key, key_source = None, "not set"

        return cls(found_url.rstrip("/"), url_source, key, key_source, folder, folder_source)


def _read_text(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


@dataclass(frozen=True)
class InvokeResult:
    """What `/fn/...` answered. A 4xx/5xx is a result too: the function's error is data."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def activation_id(self) -> str | None:
        return _header(self.headers, "x-yun-activation-id")

    @property
    def function_error(self) -> str | None:
        return _header(self.headers, "x-yun-function-error")


class Client:
    """`Client()` finds the local `yun up`; pass `url`/`api_key` to talk to another one."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        data_dir: str | Path | None = None,
        timeout: float = 60,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = ClientSettings.discover(url, api_key, data_dir)
        self.timeout = timeout
        headers = {"user-agent": "yun-sdk"}
        if self.settings.api_key:
            headers["authorization"] = f"Bearer {self.settings.api_key}"
        self._http = httpx.Client(
            base_url=self.settings.url, headers=headers, timeout=timeout, transport=transport
        )

    @property
    def url(self) -> str:
        return self.settings.url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- functions -------------------------------------------------------------------------

    def deploy(
        self, bundle: bytes, progress: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Upload a zip bundle; `progress` receives each build line the server streams."""
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, _DEPLOY_READ_TIMEOUT))
        headers = {"content-type": "application/zip", "accept": "application/x-ndjson"}
        with self._errors_mapped():
            request = self._http.build_request(
                "POST", "/v1/functions", content=bundle, headers=headers, timeout=timeout
            )
            response = self._http.send(request, stream=True)
            try:
                if response.status_code != 200 or "ndjson" not in response.headers.get(
                    "content-type", ""
                ):
                    response.read()
                    return _json_object(response)
                return _read_deploy_stream(response, progress)
            finally:
                response.close()

    def functions(self) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/v1/functions"), "functions")

    def function(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/functions/{_seg(name)}")

    def versions(self, name: str) -> list[dict[str, Any]]:
        return _items(self._request("GET", f"/v1/functions/{_seg(name)}/versions"), "versions")

    def delete(self, name: str) -> None:
        self._request("DELETE", f"/v1/functions/{_seg(name)}")

    # -- aliases ---------------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, weights: dict[int, int] | None = None
    ) -> dict[str, Any]:
        """Point `alias` at `version`; `weights` sends that percentage to other versions."""
        body = {"version": version, "weights": {str(v): p for v, p in (weights or {}).items()}}
        return self._request("PUT", f"/v1/functions/{_seg(name)}/aliases/{_seg(alias)}", json=body)

    def aliases(self, name: str) -> list[dict[str, Any]]:
        return _items(self._request("GET", f"/v1/functions/{_seg(name)}/aliases"), "aliases")

    def delete_alias(self, name: str, alias: str) -> None:
        self._request("DELETE", f"/v1/functions/{_seg(name)}/aliases/{_seg(alias)}")

    def triggers(self, function: str | None = None) -> list[dict[str, Any]]:
        """Triggers of every function (or one), with the URLs of routes and webhooks."""
        params = {"function": function} if function is not None else {}
        return _items(self._request("GET", "/v1/triggers", params=params), "triggers")

    def add_trigger(self, function: str, trigger: Mapping[str, Any]) -> dict[str, Any]:
        """Add a trigger written as in yun.yaml (`{"cron": "*/5 * * * *"}`); the function
        gets a new version with the same code."""
        return dict(self._request("POST", f"/v1/functions/{function}/triggers",
                                  json=dict(trigger)))

    def remove_trigger(self, function: str, index: int) -> dict[str, Any]:
        """Remove the function's trigger at `index` (as `triggers()` lists it)."""
        return dict(self._request("DELETE", f"/v1/functions/{function}/triggers/{index}"))

    # -- tenants (admin keys only) ---------------------------------------------------------

    def create_tenant(
        self, name: str, quotas: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """A new tenant; `quotas` overrides defaults, e.g. `{"functions": 10}`."""
        return self._request("POST", "/v1/tenants", json={"name": name,
                                                          "quotas": dict(quotas or {})})

    def tenants(self) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/v1/tenants"), "tenants")

    def tenant(self, name: str) -> dict[str, Any]:
        """The tenant with its effective quotas, overrides and usage."""
        return self._request("GET", f"/v1/tenants/{_seg(name)}")

    def update_tenant(
        self,
        name: str,
        *,
        disabled: bool | None = None,
        quotas: Mapping[str, float | None] | None = None,
    ) -> dict[str, Any]:
        """Disable/enable, and merge quota overrides (a None value restores the default)."""
        body: dict[str, Any] = {}
        if disabled is not None:
            body["disabled"] = disabled
        if quotas is not None:
            body["quotas"] = dict(quotas)
        return self._request("PATCH", f"/v1/tenants/{_seg(name)}", json=body)

    # -- API keys --------------------------------------------------------------------------

    def create_key(
        self, name: str | None = None, tenant: str | None = None, admin: bool = False
    ) -> dict[str, Any]:
        """A new key of this key's tenant (an admin may name another `tenant`). The answer's
        `key` is the plaintext, which the server never shows again."""
        body: dict[str, Any] = {"admin": admin}
        if name is not None:
            body["name"] = name
        return self._request("POST", "/v1/keys", json=body, params=_tenant_param(tenant))

    def keys(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Active keys (id, name, prefix, created, expiry); never their plaintext."""
        return _items(self._request("GET", "/v1/keys", params=_tenant_param(tenant)), "keys")

    def revoke_key(self, key_id: str) -> None:
        self._request("DELETE", f"/v1/keys/{_seg(key_id)}")

    def rotate_key(self, key_id: str, grace: float = 0.0) -> dict[str, Any]:
        """A new key replacing `key_id`, which keeps working `grace` seconds (0: stops now)."""
        return self._request("POST", f"/v1/keys/{_seg(key_id)}/rotate", json={"grace": grace})

    # -- invoke ----------------------------------------------------------------------------

    def invoke(self, name: str, data: object = None, qualifier: str | None = None) -> InvokeResult:
        """Call a function synchronously; `data` is sent as JSON (None as `null`)."""
        target = _seg(name) if qualifier is None else f"{_seg(name)}:{_seg(qualifier)}"
        headers = {"content-type": "application/json"}
        # Called from inside a function: one hop deeper, so a chain that never ends is stopped
        # by the gateway's hop limit instead of holding an instance per hop.
        invocation = runtime.current()
        if invocation is not None:
            headers["x-yun-depth"] = str(invocation.depth + 1)
        with self._errors_mapped():
            response = self._http.post(
                f"/fn/{target}",
                content=json.dumps(data).encode(),
                headers=headers,
            )
        return InvokeResult(response.status_code, response.headers, response.content)

    def invoke_async(self, name: str, data: object = None, qualifier: str | None = None,
                     idempotency_key: str | None = None) -> str:
        """Queue an invocation; its id once Yun stored it durably (see `invocation`)."""
        target = _seg(name) if qualifier is None else f"{_seg(name)}:{_seg(qualifier)}"
        headers = {"content-type": "application/json"}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        body = self._request("POST", f"/fn/{target}/async", content=json.dumps(data).encode(),
                             headers=headers)
        return str(body["id"])

    def invocation(self, id: str) -> dict[str, Any]:
        """An async invocation: status, attempts, result, errors."""
        return self._request("GET", f"/v1/invocations/{_seg(id)}")

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/v1/dlq", params={"limit": limit}), "dead_letters")

    def dead_letter(self, id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/dlq/{_seg(id)}")

    def redrive(self, id: str) -> None:
        self._request("POST", f"/v1/dlq/{_seg(id)}/redrive")

    def purge_dead_letters(self, id: str | None = None) -> int:
        """Delete one dead letter, or all of them; how many went."""
        if id is not None:
            self._request("DELETE", f"/v1/dlq/{_seg(id)}")
            return 1
        return int(self._request("DELETE", "/v1/dlq")["purged"])

    # -- flows -----------------------------------------------------------------------------

    def deploy_flow(self, name: str, definition: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Deploy a state machine (ASL as JSON or YAML text, or a parsed object). The answer
        has `version` and `created` (False when the definition is unchanged). An invalid
        definition is an `ApiError` listing every problem, one per line."""
        if isinstance(definition, Mapping):
            content = json.dumps(definition).encode()
            kind = "application/json"
        else:
            content = definition.encode() if isinstance(definition, str) else definition
            kind = "application/yaml"
        with self._errors_mapped():
            response = self._http.put(f"/v1/flows/{_seg(name)}", content=content,
                                      headers={"content-type": kind})
        if response.status_code == 400:
            problems = _problems(response)
            if problems:
                raise ApiError(400, "InvalidDefinition", "invalid state machine definition:\n"
                               + "\n".join(f"  - {p}" for p in problems))
        return _json_object(response)

    def flows(self) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/v1/flows"), "flows")

    def flow(self, name: str, version: int | None = None) -> dict[str, Any]:
        """The flow with its definition (the latest version, or `version`)."""
        params = {} if version is None else {"version": version}
        return self._request("GET", f"/v1/flows/{_seg(name)}", params=params)

    def delete_flow(self, name: str) -> None:
        self._request("DELETE", f"/v1/flows/{_seg(name)}")

    def start_execution(
        self, flow: str, input: object = None, name: str | None = None, wait: float = 0.0
    ) -> dict[str, Any]:
        """Start an execution (input None is `{}`); the same `name` with the same input is
        the same execution. With `wait` (≤ 300 s) the answer comes when it has ended or
        after `wait` seconds. The answer's `id` is `FLOW:NAME`; `created` tells a new one."""
        body: dict[str, Any] = {"input": {} if input is None else input, "wait": wait}
        if name is not None:
            body["name"] = name
        return self._request("POST", f"/v1/flows/{_seg(flow)}/executions", json=body,
                             timeout=self._wait_timeout(wait))

    def executions(self, flow: str, limit: int = 50) -> list[dict[str, Any]]:
        """Executions of a flow, newest first."""
        path = f"/v1/flows/{_seg(flow)}/executions"
        return _items(self._request("GET", path, params={"limit": limit}), "executions")

    def execution(self, execution_id: str, wait: float = 0.0) -> dict[str, Any]:
        """Status, input, output, error, cause of `FLOW:NAME`; with `wait` (≤ 300 s), once
        it has ended or after `wait` seconds."""
        params = {"wait": wait} if wait else {}
        return self._request("GET", f"/v1/executions/{_seg(execution_id)}", params=params,
                             timeout=self._wait_timeout(wait))

    def execution_history(
        self, execution_id: str, after: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """History events (Step Functions' shape) with `id > after`, ascending."""
        params = {"after": after, "limit": limit}
        path = f"/v1/executions/{_seg(execution_id)}/history"
        return _items(self._request("GET", path, params=params), "events")

    def stop_execution(
        self, execution_id: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """Abort a running execution; a finished one is answered as it is."""
        return self._request("POST", f"/v1/executions/{_seg(execution_id)}/stop",
                             json={"error": error, "cause": cause})

    def _wait_timeout(self, wait: float) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, read=max(self.timeout, wait + 30))

    # -- records ---------------------------------------------------------------------------

    def activations(self, function: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": limit}
        if function is not None:
            params["function"] = function
        return _items(self._request("GET", "/v1/activations", params=params), "activations")

    def instances(self) -> list[dict[str, Any]]:
        """Per function version on the node: instances, in-flight, cold starts, memory."""
        return _items(self._request("GET", "/v1/instances"), "pools")

    def queued(self) -> dict[str, int]:
        """Async jobs waiting or running, per function target."""
        queued = self._request("GET", "/v1/instances").get("queued", {})
        return {str(k): int(v) for k, v in queued.items()}

    def activation(self, id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/activations/{_seg(id)}")

    def logs(
        self,
        function: str | None = None,
        after: int = 0,
        limit: int = 200,
        activation: str | None = None,
    ) -> list[dict[str, Any]]:
        """Log lines with `seq > after`, oldest first; poll with the last `seq` to follow."""
        params: dict[str, str | int] = {"after": after, "limit": limit}
        if function is not None:
            params["function"] = function
        if activation is not None:
            params["activation"] = activation
        return _items(self._request("GET", "/v1/logs", params=params), "logs")

    # -- buckets ---------------------------------------------------------------------------

    def create_bucket(self, name: str) -> dict[str, Any]:
        return self._request("POST", "/v1/buckets", json={"name": name})

    def buckets(self) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/v1/buckets"), "buckets")

    def bucket(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/buckets/{_seg(name)}")

    def delete_bucket(self, name: str, force: bool = False) -> None:
        params = {"force": "true"} if force else {}
        self._request("DELETE", f"/v1/buckets/{_seg(name)}", params=params)

    def objects(self, bucket: str, prefix: str = "", delimiter: str = "", limit: int = 1000,
                token: str | None = None) -> dict[str, Any]:
        """One page: `objects`, `prefixes` and `next_token` (None on the last page)."""
        params: dict[str, str | int] = {"prefix": prefix, "delimiter": delimiter,
                                        "limit": limit}  # fmt: skip
        if token is not None:
            params["token"] = token
        return self._request("GET", f"/v1/buckets/{_seg(bucket)}/objects", params=params)

    def put_object(self, bucket: str, key: str, data: bytes | BinaryIO | Iterable[bytes],
                   content_type: str | None = None,
                   metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Upload `data`: bytes, a file opened in binary mode, or chunks (streamed)."""
        headers = {f"x-yun-meta-{name}": value for name, value in (metadata or {}).items()}
        if content_type:
            headers["content-type"] = content_type
        return self._request("PUT", _object_path(bucket, key), content=data, headers=headers)

    def get_object(self, bucket: str, key: str, into: BinaryIO) -> dict[str, str]:
        """Stream the object into `into`; returns its headers (etag, content-type, ...)."""
        with self._errors_mapped(), self._http.stream("GET", _object_path(bucket, key)) as got:
            if got.status_code >= 400:
                got.read()
                raise _error_from(got)
            for chunk in got.iter_bytes():
                into.write(chunk)
            return dict(got.headers)

    def delete_object(self, bucket: str, key: str) -> None:
        self._request("DELETE", _object_path(bucket, key))

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        with self._errors_mapped():
            response = self._http.request(method, path, **kwargs)
        return _json_object(response)

    @contextmanager
    def _errors_mapped(self) -> Iterator[None]:
        """Turn transport failures into `ApiError(0, ...)`, so callers catch one type."""
        try:
            yield
        except httpx.ConnectError as exc:
            raise ApiError(
                0, "Unreachable", f"cannot reach Yun at {self.url}: is `yun up` running?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ApiError(
                0, "Timeout", f"Yun at {self.url} did not answer within {self.timeout:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise ApiError(
                0, "Unreachable", f"connection to Yun at {self.url} failed: {exc}"
            ) from exc


def _header(headers: httpx.Headers, name: str) -> str | None:
    value: str | None = headers.get(name)
    return value


def _tenant_param(tenant: str | None) -> dict[str, str]:
    return {} if tenant is None else {"tenant": tenant}


def _seg(value: str) -> str:
    """One URL path segment: a name can never reach a different route."""
    return quote(value, safe="")


def _object_path(bucket: str, key: str) -> str:
    # Checked here as well: a key with '..' parts would otherwise be resolved by the URL.
    check_key(key)
    return f"/v1/buckets/{_seg(bucket)}/objects/{quote(key, safe='/')}"


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; an `ApiError` for any status >= 400."""
    if response.status_code >= 400:
        raise _error_from(response)
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise ApiError(
            response.status_code,
            "BadResponse",
            f"expected JSON from {response.url}, got: {response.text[:200]!r}",
        ) from exc
    if not isinstance(body, dict):
        raise ApiError(
            response.status_code, "BadResponse", f"expected a JSON object from {response.url}"
        )
    return cast(dict[str, Any], body)


def _error_from(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, str(error["type"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        # Not our error body: a proxy in between, or a crash before the error mapper ran.
        text = response.text.strip()[:200] or response.reason_phrase
        return ApiError(response.status_code, "HTTPError", f"HTTP {response.status_code}: {text}")


def _problems(response: httpx.Response) -> list[str]:
    """The list of problems an invalid flow definition is answered with, if any."""
    try:
        problems = response.json()["error"]["problems"]
    except (ValueError, KeyError, TypeError):
        return []
    return [str(p) for p in problems] if isinstance(problems, list) else []


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = body.get(key)
    if not isinstance(items, list):
        raise ApiError(0, "BadResponse", f"expected a {key!r} list in the answer")
    return cast(list[dict[str, Any]], items)


def _read_deploy_stream(
    response: httpx.Response, progress: Callable[[str], None] | None
) -> dict[str, Any]:
    """Consume the NDJSON deploy stream: progress lines, then one `result` or `error`."""
    for line in response.iter_lines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise ApiError(
                0, "BadResponse", f"bad line in the deploy stream: {line[:200]!r}"
            ) from exc
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "progress":
            if progress is not None:
                progress(str(event.get("message", "")))
        elif kind == "result":
            return cast(dict[str, Any], event)
        elif kind == "error":
            error = event.get("error") or {}
            raise ApiError(
                int(event.get("status", 500)),
                str(error.get("type", "DeployError")),
                str(error.get("message", "deploy failed")),
            )
    # The connection ended mid-build (server restart, proxy timeout): the outcome is unknown.
    raise ApiError(0, "Incomplete", "the deploy stream ended without a result; check `yun ls`")
