"""`/v1/keys`: create, list, revoke and rotate API keys.

A tenant key manages its own tenant's keys; an admin key manages any tenant's (`?tenant=`
to list or create; ids are enough to revoke or rotate). Admin keys are invisible to tenant
keys, otherwise a tenant key of the default tenant could rotate the admin key into its hands.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from yun.api._access import tenant_scope
from yun.core import Forbidden, InvalidRequest
from yun.gateway import KeyCache
from yun.store import DEFAULT_TENANT, ApiKey, NewApiKey, Store

log = logging.getLogger("yun.api")

Json = dict[str, object]


class NewKey(BaseModel):
    name: str = "key"
    admin: bool = False


class Rotation(BaseModel):
    # Seconds the old key keeps working, so clients can switch without an outage.
    grace: float = Field(default=0.0, ge=0)


def key_view(key: ApiKey) -> Json:
    return {"id": key.id, "name": key.name, "tenant": key.tenant, "prefix": key.prefix,
            "admin": key.admin, "created_at": key.created_at,
            "expires_at": key.expires_at}  # fmt: skip


def keys_router(
    store: Store,
    keys: KeyCache,
    caller: Callable[..., Any],
    on_key_replaced: Callable[[ApiKey, NewApiKey], None],
) -> APIRouter:
    Caller = Annotated[ApiKey, Depends(caller)]
    router = APIRouter(prefix="/v1/keys", tags=["keys"])

    def shown_once(made: NewApiKey) -> Json:
        return {**key_view(made.key), "key": made.plaintext,
                "message": "store this key now: it is not shown again"}  # fmt: skip

    @router.post("", status_code=201)
    async def create_key(key: Caller, body: NewKey, tenant: str | None = None) -> Json:
        scope = tenant_scope(key, tenant)
        if body.admin:
            if not key.admin:
                raise Forbidden("only an admin key may create admin keys")
            if scope != DEFAULT_TENANT:
                raise InvalidRequest(f"admin keys belong to tenant '{DEFAULT_TENANT}', "
                                     f"was: {scope!r}")  # fmt: skip
        made = await store.create_api_key(scope, body.name, body.admin)
        log.info("key %s (%s) created for tenant %s", made.key.id, made.key.name, scope)
        return shown_once(made)

    @router.get("")
    async def list_keys(key: Caller, tenant: str | None = None) -> Json:
        scope = tenant_scope(key, tenant)
        if key.admin and scope != key.tenant:
            await store.get_tenant(scope)  # an admin asking for a missing tenant: 404
        found = await store.list_api_keys(scope, with_admin=key.admin)
        return {"keys": [key_view(k) for k in found]}

    @router.delete("/{key_id}", status_code=204)
    async def revoke_key(key_id: str, key: Caller) -> Response:
        revoked = await store.revoke_api_key(
            key_id, tenant=None if key.admin else key.tenant, with_admin=key.admin
        )
        keys.forget_key(revoked.id)
        log.info("key %s of tenant %s revoked", revoked.id, revoked.tenant)
        return Response(status_code=204)

    @router.post("/{key_id}/rotate", status_code=201)
    async def rotate_key(key_id: str, key: Caller, body: Rotation | None = None) -> Json:
        grace = body.grace if body is not None else 0.0
        made, old = await store.rotate_api_key(
            key_id, tenant=None if key.admin else key.tenant, with_admin=key.admin, grace=grace
        )
        keys.forget_key(old.id)  # reloaded with its new expiry, rather than kept as it was
        on_key_replaced(old, made)
        log.info("key %s of tenant %s rotated into %s (old one expires at %s)", old.id,
                 old.tenant, made.key.id, old.expires_at)  # fmt: skip
        return {**shown_once(made), "replaces": old.id, "replaced_expires_at": old.expires_at}

    return router
