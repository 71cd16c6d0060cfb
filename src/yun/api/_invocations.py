"""`/v1/invocations/ID` (async invocations' status and result) and `/v1/dlq` (dead letters:
list, show, redrive, purge). Scoped to the key's tenant: another tenant's ids are 404.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

import base64
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from yun.queue import Submitter
from yun.store import ApiKey, DeadLetter, Invocation, Store

Json = dict[str, object]


def invocation_view(row: Invocation) -> Json:
    return {"id": row.id, "function": row.target, "source": row.source, "status": row.status,
            "attempts": row.attempts,
            "result": _payload(row.result) if row.result is not None else None,
            "errors": row.errors, "created_at": row.created_at,
            "updated_at": row.updated_at}  # fmt: skip


def letter_view(letter: DeadLetter, payload: bool = False) -> Json:
    view: Json = {"id": letter.id, "function": letter.target, "source": letter.source,
                  "attempts": len([e for e in letter.errors if e.get("attempt")]),
                  "last_error": letter.errors[-1] if letter.errors else None,
                  "enqueued_at": letter.enqueued_at, "dead_at": letter.dead_at}
    if payload:
        view["payload"] = _payload(letter.body)
        view["errors"] = letter.errors
    return view


def _payload(body: bytes) -> object:
    """JSON as JSON; anything else as {"base64": ...} so no byte is lost."""
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return {"base64": base64.b64encode(body).decode()}


def invocations_router(store: Store, submitter: Submitter,
                       caller: Callable[..., Any]) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(tags=["async"])

    @router.get("/v1/invocations/{invocation_id}")
    async def get_invocation(invocation_id: str, key: Caller) -> Json:
        """Status (queued, running, failed with a retry scheduled, succeeded, dead), result
        and every failed attempt."""
        return invocation_view(await store.get_invocation(key.tenant, invocation_id))

    @router.get("/v1/dlq")
    async def list_dead_letters(key: Caller,
                                limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Json:
        letters = await store.list_dead_letters(key.tenant, limit)
        return {"dead_letters": [letter_view(x) for x in letters]}

    @router.get("/v1/dlq/{invocation_id}")
    async def get_dead_letter(invocation_id: str, key: Caller) -> Json:
        return letter_view(await store.get_dead_letter(key.tenant, invocation_id), True)

    @router.post("/v1/dlq/{invocation_id}/redrive", status_code=202)
    async def redrive(invocation_id: str, key: Caller) -> Json:
        """Back into the queue with a fresh age and attempt budget, under the same id."""
        await submitter.redrive(key.tenant, invocation_id)
        return {"id": invocation_id}

    @router.delete("/v1/dlq/{invocation_id}", status_code=204)
    async def purge_one(invocation_id: str, key: Caller) -> Response:
        await store.purge_dead_letters(key.tenant, invocation_id)
        return Response(status_code=204)

    @router.delete("/v1/dlq")
    async def purge_all(key: Caller) -> Json:
        return {"purged": await store.purge_dead_letters(key.tenant)}

    return router
