"""`/v1/triggers`: the triggers of the key's tenant (or of one function), with the URLs of
its HTTP routes and webhooks; and adding or removing one function's triggers, which makes a
new version with the same code (as editing `triggers:` in yun.yaml and deploying would).

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from yun.core import InvalidRequest, NotFound
from yun.store import ApiKey

Json = dict[str, object]
Describe = Callable[[str, str | None], Awaitable[list[Json]]]
Edit = Callable[[list[Json]], list[Json]]


class Editor:
    """`Deployer.edit_triggers` as the routes need it."""

    def __init__(self, edit_triggers: Callable[[str, str, Edit], Awaitable[Any]]) -> None:
        self.edit_triggers = edit_triggers


def triggers_router(describe: Describe, caller: Callable[..., Any],
                    editor: Editor | None = None) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(tags=["triggers"])

    @router.get("/v1/triggers")
    async def list_triggers(key: Caller, function: str | None = None) -> Json:
        """Every trigger of the tenant's functions (or of `function`: 404 if it does not
        exist), with `index` (its place in the function's list) and `url` for http routes
        and webhooks."""
        return {"triggers": await describe(key.tenant, function)}

    if editor is None:
        return router

    @router.post("/v1/functions/{name}/triggers", status_code=201)
    async def add_trigger(name: str, key: Caller, trigger: Annotated[Json, Body()]) -> Json:
        """Add one trigger, written as in yun.yaml (`{"cron": "*/5 * * * *"}`): a new
        version of the function with the same code."""
        done = await editor.edit_triggers(key.tenant, name, lambda found: [*found, trigger])
        return {"function": name, "version": done.version.number,
                "index": len(done.version.manifest.triggers) - 1}

    @router.delete("/v1/functions/{name}/triggers/{index}")
    async def remove_trigger(name: str, index: int, key: Caller) -> Json:
        """Remove the trigger at `index` (as `/v1/triggers` lists it): a new version."""

        def without(found: list[Json]) -> list[Json]:
            if not 0 <= index < len(found):
                if not found:
                    raise NotFound(f"function '{name}' has no triggers")
                raise InvalidRequest(f"trigger index must be 0..{len(found) - 1} for "
                                     f"'{name}', was: {index}")
            return found[:index] + found[index + 1:]

        done = await editor.edit_triggers(key.tenant, name, without)
        return {"function": name, "version": done.version.number}

    return router
