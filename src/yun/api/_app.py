"""The control plane: `/v1/...` for functions, versions, aliases, activations and logs, and
(in `_tenants`, `_keys`, `_flows`) tenants, API keys and flows. Every route but health acts
on its key's tenant only; see `_access` for the rules.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""


import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from yun import __version__
from yun.api._bucket_hooks import bucket_hooks_router
from yun.api._buckets import buckets_router
from yun.api._deploy import Deployer
from yun.api._flows import flows_router
from yun.api._invocations import invocations_router
from yun.api._keys import keys_router
from yun.api._tenants import tenants_router
from yun.api._triggers import Describe, Editor, triggers_router
from yun.api._views import activation_view, alias_view, log_view, summary_view, version_view
from yun.core import (
    Alias,
    InvalidRequest,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    YunError,
    error_body,
    http_status,
)
from yun.events import BucketSource
from yun.flows import Runner
from yun.gateway import KeyCache, QuotaBook
from yun.queue import Submitter
from yun.storage import MAX_BUNDLE_BYTES, MAX_OBJECT_BYTES, Buckets, S3Buckets
from yun.store import ApiKey, NewApiKey, Store, Tenant

Json = dict[str, object]


class AliasBody(BaseModel):
    version: int = Field(ge=1)
    weights: dict[str, int] = Field(default_factory=dict)


def create_api(store: Store, keys: KeyCache, deployer: Deployer,
               on_changed: Callable[[str, str], None],
               on_removed: Callable[[str, str], None],
               node_status: Callable[[str], list[Json]],
               *,
               quotas: QuotaBook,
               on_tenant_changed: Callable[[Tenant], Awaitable[None]] | None = None,
               on_key_replaced: Callable[[ApiKey, NewApiKey], None] = lambda _old, _new: None,
               flows: Runner | None = None,
               submitter: Submitter | None = None,
               queue_depth: Callable[[str], Awaitable[dict[str, int]]] | None = None,
               triggers: Describe | None = None,
               buckets: Buckets | None = None,
               max_object_bytes: int = MAX_OBJECT_BYTES,
               bucket_source: BucketSource | None = None,
               ) -> FastAPI:
    """`on_tenant_changed` follows every create/update of a tenant (to stop a disabled
    tenant's instances); `on_key_replaced` every rotation (to rewrite admin.key). `flows`,
    the flow runner, enables `/v1/flows` and `/v1/executions`; `submitter` (the async
    path) enables `/v1/invocations` and `/v1/dlq`, and `queue_depth` adds the jobs queued
    per function to `/v1/instances`; `triggers` (the trigger manager's `describe`) enables
    `/v1/triggers`; `buckets` enables `/v1/buckets` (objects up to `max_object_bytes`);
    `bucket_source` adds the loop guard's refusals and, for an S3-compatible store, its
    notification webhook."""
    api = FastAPI(title="Yun control API", version=__version__, docs_url="/docs",
                  openapi_url="/openapi.json")

    async def caller(request: Request) -> ApiKey:
        return await keys.authenticate(request.headers.get("authorization"))

    Caller = Annotated[ApiKey, Depends(caller)]

    @api.exception_handler(YunError)
    async def yun_error(_request: Request, exc: YunError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"retry-after": str(max(1, math.ceil(exc.retry_after)))}
        return JSONResponse(error_payload(exc), status_code=http_status(exc), headers=headers)

    api.include_router(tenants_router(store, keys, quotas, caller, on_tenant_changed,
                                      node_status))
    api.include_router(keys_router(store, keys, caller, on_key_replaced))
    if flows is not None:
        api.include_router(flows_router(store, flows, caller))
    if submitter is not None:
        api.include_router(invocations_router(store, submitter, caller))
    if triggers is not None:
        api.include_router(triggers_router(triggers, caller, Editor(deployer.edit_triggers)))
    if buckets is not None:
        api.include_router(buckets_router(buckets, caller, max_object_bytes, bucket_source,
                                          quotas))
        if bucket_source is not None and isinstance(buckets, S3Buckets):
            api.include_router(bucket_hooks_router(buckets, bucket_source))

    @api.get("/v1/health", tags=["system"])
    async def health() -> Json:
        return {"status": "ok", "version": __version__}

    @api.post("/v1/functions", tags=["functions"], status_code=201,
              openapi_extra={"requestBody": {"content": {"application/zip": {}}}})
    async def deploy(request: Request, key: Caller) -> Response:
        data = await _read_bundle(request)
        if "application/x-ndjson" in request.headers.get("accept", ""):
            return StreamingResponse(_deploy_stream(deployer, key.tenant, data),
                                     media_type="application/x-ndjson")
        done = await deployer.deploy(key.tenant, data)
        return JSONResponse(
            {"function": done.version.function, "version": done.version.number,
             "created": done.created, "message": done.message},
            status_code=201 if done.created else 200)

    @api.get("/v1/functions", tags=["functions"])
    async def list_functions(key: Caller) -> Json:
        return {"functions": [summary_view(s) for s in await store.list_functions(key.tenant)]}

    @api.get("/v1/functions/{name}", tags=["functions"])
    async def get_function(name: str, key: Caller) -> Json:
        latest = await store.latest_version(key.tenant, name)
        aliases = await store.list_aliases(key.tenant, name)
        return {"name": name, "latest": version_view(latest),
                "aliases": [alias_view(a) for a in aliases]}

    @api.delete("/v1/functions/{name}", tags=["functions"], status_code=204)
    async def delete_function(name: str, key: Caller) -> Response:
        await store.delete_function(key.tenant, name)
        on_removed(key.tenant, name)
        return Response(status_code=204)

    @api.get("/v1/functions/{name}/versions", tags=["functions"])
    async def list_versions(name: str, key: Caller) -> Json:
        return {"versions": [version_view(v) for v in await store.list_versions(key.tenant, name)]}

    @api.get("/v1/functions/{name}/aliases", tags=["aliases"])
    async def list_aliases(name: str, key: Caller) -> Json:
        return {"aliases": [alias_view(a) for a in await store.list_aliases(key.tenant, name)]}

    @api.put("/v1/functions/{name}/aliases/{alias}", tags=["aliases"])
    async def set_alias(name: str, alias: str, body: AliasBody, key: Caller) -> Json:
        weights = {}
        for version, percent in body.weights.items():
            if not version.isdigit():
                raise InvalidRequest(f"weights are keyed by version number, was: {version!r}")
            weights[int(version)] = percent
        saved = await store.set_alias(key.tenant, Alias(name, alias, body.version, weights))
        on_changed(key.tenant, name)
        return alias_view(saved)

    @api.delete("/v1/functions/{name}/aliases/{alias}", tags=["aliases"], status_code=204)
    async def delete_alias(name: str, alias: str, key: Caller) -> Response:
        await store.delete_alias(key.tenant, name, alias)
        on_changed(key.tenant, name)
        return Response(status_code=204)

    @api.get("/v1/instances", tags=["instances"])
    async def list_instances(key: Caller) -> Json:
        """Per function version on this node: instances, in-flight, waiting, cold starts,
        memory; and per function target, the async jobs queued (waiting or running)."""
        queued = await queue_depth(key.tenant) if queue_depth is not None else {}
        return {"pools": node_status(key.tenant), "queued": queued}

    @api.get("/v1/activations", tags=["activations"])
    async def list_activations(key: Caller, function: str | None = None,
                               limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> Json:
        records = await store.list_activations(key.tenant, function, limit)
        return {"activations": [activation_view(r) for r in records]}

    @api.get("/v1/activations/{activation_id}", tags=["activations"])
    async def get_activation(activation_id: str, key: Caller) -> Json:
        return activation_view(await store.get_activation(key.tenant, activation_id), True)

    @api.get("/v1/logs", tags=["activations"])
    async def list_logs(key: Caller, function: str | None = None, after: int = 0,
                        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
                        activation: str | None = None) -> Json:
        lines = await store.list_logs(key.tenant, function, after, limit, activation)
        return {"logs": [log_view(line) for line in lines]}

    return api


async def _read_bundle(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BUNDLE_BYTES:
        raise PayloadTooLarge(f"bundle of {int(declared)} bytes exceeds the "
                              f"{MAX_BUNDLE_BYTES >> 20} MiB limit")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BUNDLE_BYTES:
            raise PayloadTooLarge(f"bundle exceeds the {MAX_BUNDLE_BYTES >> 20} MiB limit")
        chunks.append(chunk)
    if not size:
        raise InvalidRequest("empty request body: send the function bundle as a zip "
                             "(`yun deploy PATH` builds it)")
    return b"".join(chunks)


async def _deploy_stream(deployer: Deployer, tenant: str, data: bytes) -> AsyncIterator[bytes]:
    """NDJSON: progress lines while dependencies install, then the result or the error."""
    import asyncio

    lines: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1000)

    def progress(line: str) -> None:
        if not lines.full():
            lines.put_nowait(line)

    task = asyncio.ensure_future(deployer.deploy(tenant, data, progress))
    task.add_done_callback(lambda _t: lines.put_nowait(None) if not lines.full() else None)
    while True:
        try:
            line = await asyncio.wait_for(lines.get(), 0.5)
        except TimeoutError:
            if task.done():
                break
            continue
        if line is None:
            break
        yield _ndjson({"event": "progress", "message": line})
    try:
        done = await task
    except YunError as exc:
        yield _ndjson({"event": "error", "status": http_status(exc), **error_payload(exc)})
        return
    yield _ndjson({"event": "result", "function": done.version.function,
                   "version": done.version.number, "created": done.created,
                   "message": done.message})


def error_payload(exc: YunError) -> Json:
    """The error body; a quota refusal also names the quota, its limit and the value."""
    body: Json = dict(error_body(exc))
    if isinstance(exc, QuotaExceeded | RateLimited):
        body["error"] = {**error_body(exc)["error"], "quota": exc.quota, "limit": exc.limit,
                         "value": exc.value}  # fmt: skip
    return body


def _ndjson(event: Json) -> bytes:
    return json.dumps(event).encode() + b"\n"
