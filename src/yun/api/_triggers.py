"""`/v1/triggers`: the triggers of the key's tenant (or of one function), with the URLs of
its HTTP routes and webhooks.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from yun.store import ApiKey

Json = dict[str, object]
Describe = Callable[[str, str | None], Awaitable[list[Json]]]


def triggers_router(describe: Describe, caller: Callable[..., Any]) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(tags=["triggers"])

    @router.get("/v1/triggers")
    async def list_triggers(key: Caller, function: str | None = None) -> Json:
        """Every trigger of the tenant's functions (or of `function`: 404 if it does not
        exist), with `url` for http routes and webhooks."""
        return {"triggers": await describe(key.tenant, function)}

    return router
