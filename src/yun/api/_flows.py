"""`/v1/flows` and `/v1/executions`: deploy state machines, start, watch and stop executions.

An execution is named `FLOW:NAME` (its name is unique within its flow), as functions are
`NAME:ALIAS`. Everything is scoped to the key's tenant: another tenant's flow or execution
is `404` in the words a missing one gets.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from yun.core import PayloadTooLarge
from yun.flows import (
    DefinitionError,
    Runner,
    check_flow_name,
    load_definition,
    parse_definition,
)
from yun.store import ApiKey, Flow, FlowExecution, Store

Json = dict[str, object]

MAX_DEFINITION_BYTES = 1 << 20  # Step Functions' limit for a definition
MAX_WAIT_SECONDS = 300.0

_DEFINITION_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "the ASL definition"}},
    "application/yaml": {"schema": {"type": "string", "description": "the ASL definition"}},
}}}  # fmt: skip


class StartBody(BaseModel):
    input: Any = Field(default_factory=dict, description="the execution input (any JSON)")
    name: str | None = Field(default=None, description="unique per flow; a repeat with the "
                             "same input is the same execution (idempotent start)")
    wait: float = Field(default=0.0, ge=0, le=MAX_WAIT_SECONDS,
                        description="seconds to wait for the execution to end")


class StopBody(BaseModel):
    error: str | None = None
    cause: str | None = None


def flow_view(flow: Flow, definition: bool = True) -> Json:
    view: Json = {"name": flow.name, "version": flow.version, "created_at": flow.created_at,
                  "updated_at": flow.updated_at,
                  "states": len(flow.definition.get("States", {}))}  # fmt: skip
    if definition:
        view["definition"] = flow.definition
    return view


def execution_view(row: FlowExecution) -> Json:
    return {"id": row.id, "flow": row.flow, "name": row.name, "flow_version": row.flow_version,
            "status": row.status, "input": row.input, "output": row.output, "error": row.error,
            "cause": row.cause, "started_at": row.started_at, "stopped_at": row.stopped_at,
            "history_events": row.history_events}  # fmt: skip


def flows_router(store: Store, runner: Runner, caller: Callable[..., Any]) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(tags=["flows"])

    async def deploy(name: str, request: Request, key: ApiKey) -> JSONResponse:
        check_flow_name(name)
        text = await _read_definition(request)
        try:
            definition = parse_definition(text)
            load_definition(definition)  # every problem, each naming its state and field
        except DefinitionError as exc:
            return JSONResponse({"error": {"type": exc.code, "message": exc.message,
                                           "problems": exc.problems}}, status_code=400)
        flow, created = await store.put_flow(key.tenant, name, definition)
        return JSONResponse({**flow_view(flow, False), "created": created},
                            status_code=201 if created else 200)

    @router.put("/v1/flows/{name}", status_code=201, openapi_extra=_DEFINITION_BODY)
    async def put_flow(name: str, request: Request, key: Caller) -> JSONResponse:
        """Deploy a definition (JSON or YAML): 201 with a new version, 200 if unchanged."""
        return await deploy(name, request, key)

    @router.post("/v1/flows/{name}", status_code=201, openapi_extra=_DEFINITION_BODY)
    async def post_flow(name: str, request: Request, key: Caller) -> JSONResponse:
        """The same as PUT."""
        return await deploy(name, request, key)

    @router.get("/v1/flows")
    async def list_flows(key: Caller) -> Json:
        return {"flows": [flow_view(f, False) for f in await store.list_flows(key.tenant)]}

    @router.get("/v1/flows/{name}")
    async def get_flow(name: str, key: Caller,
                       version: Annotated[int | None, Query(ge=1)] = None) -> Json:
        return flow_view(await store.get_flow(key.tenant, name, version))

    @router.delete("/v1/flows/{name}", status_code=204)
    async def delete_flow(name: str, key: Caller) -> Response:
        """Remove the flow and its executions; 409 while one of them is running."""
        await store.delete_flow(key.tenant, name)
        return Response(status_code=204)

    @router.post("/v1/flows/{name}/executions", status_code=201)
    async def start(name: str, key: Caller, body: StartBody | None = None) -> JSONResponse:
        """Start an execution: 201, or 200 with the existing one when the name was used
        with the same input (409 with another input). With `wait`, answers when it has
        ended or after `wait` seconds, whichever is first."""
        body = body or StartBody()
        row, created = await runner.start(key.tenant, name, body.input, body.name)
        if body.wait > 0:
            row = await runner.wait(key.tenant, row.id, body.wait)
        return JSONResponse({**execution_view(row), "created": created},
                            status_code=201 if created else 200)

    @router.get("/v1/flows/{name}/executions")
    async def list_executions(name: str, key: Caller,
                              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Json:
        rows = await store.list_executions(key.tenant, name, limit)
        return {"executions": [execution_view(r) for r in rows]}

    # The execution id is FLOW:NAME; the parameter is called `name`, as elsewhere.
    @router.get("/v1/executions/{name}")
    async def get_execution(name: str, key: Caller,
                            wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0.0,
                            ) -> Json:
        """Status, input, output, error and cause. With `wait`, answers when it has ended
        or after `wait` seconds (long polling)."""
        if wait > 0:
            return execution_view(await runner.wait(key.tenant, name, wait))
        return execution_view(await runner.describe(key.tenant, name))

    @router.get("/v1/executions/{name}/history")
    async def history(name: str, key: Caller, after: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Json:
        """Events in Step Functions' GetExecutionHistory shape, `id > after`, ascending."""
        row = await runner.describe(key.tenant, name)
        events = await store.execution_history(key.tenant, row.flow, row.name, after, limit)
        return {"events": events}

    @router.post("/v1/executions/{name}/stop")
    async def stop(name: str, key: Caller, body: StopBody | None = None) -> Json:
        """Abort a running execution (ABORTED); a finished one is answered as it is."""
        body = body or StopBody()
        return execution_view(await runner.stop_execution(key.tenant, name, body.error,
                                                          body.cause))  # fmt: skip

    return router


async def _read_definition(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_DEFINITION_BYTES:
        raise PayloadTooLarge(f"definition of {int(declared)} bytes exceeds the 1 MiB limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DEFINITION_BYTES:
            raise PayloadTooLarge("definition exceeds the 1 MiB limit")
        chunks.append(chunk)
    return b"".join(chunks)
