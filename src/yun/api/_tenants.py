"""`/v1/tenants`: an admin creates, lists, shows, disables/enables tenants and sets quotas.

No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from yun.api._access import ADMIN_ONLY, require_admin
from yun.gateway import KeyCache, QuotaBook, parse_overrides
from yun.store import ApiKey, Store, Tenant

log = logging.getLogger("yun.api")

Json = dict[str, object]


class NewTenant(BaseModel):
    name: str
    quotas: dict[str, Any] = Field(default_factory=dict)


class TenantChange(BaseModel):
    disabled: bool | None = None
    # A null value drops that override: the quota follows the default again.
    quotas: dict[str, Any] | None = None


def tenants_router(
    store: Store,
    keys: KeyCache,
    quotas: QuotaBook,
    caller: Callable[..., Any],
    on_tenant_changed: Callable[[Tenant], Awaitable[None]] | None,
    node_status: Callable[[str], list[Json]],
) -> APIRouter:
    async def admin(key: Annotated[ApiKey, Depends(caller)]) -> ApiKey:
        require_admin(key)
        return key

    router = APIRouter(prefix="/v1/tenants", tags=["tenants"],
                       dependencies=[Depends(admin)])  # fmt: skip

    def view(tenant: Tenant) -> Json:
        return {"name": tenant.name, "uid": tenant.uid, "created_at": tenant.created_at,
                "disabled": tenant.disabled,
                "quotas": quotas.defaults.with_overrides(tenant.quotas).view(),
                "overrides": dict(tenant.quotas)}  # fmt: skip

    async def changed(tenant: Tenant) -> None:
        keys.remember_tenant(tenant)  # keys of a disabled tenant stop working at once here
        if on_tenant_changed is not None:
            await on_tenant_changed(tenant)

    @router.post("", status_code=201, openapi_extra=ADMIN_ONLY)
    async def create_tenant(body: NewTenant) -> Json:
        overrides = {k: v for k, v in parse_overrides(body.quotas).items() if v is not None}
        tenant = await store.create_tenant(body.name, overrides)
        await changed(tenant)
        log.info("tenant %s created (uid %d)", tenant.name, tenant.uid)
        return view(tenant)

    @router.get("", openapi_extra=ADMIN_ONLY)
    async def list_tenants() -> Json:
        return {"tenants": [view(t) for t in await store.list_tenants()]}

    @router.get("/{name}", openapi_extra=ADMIN_ONLY)
    async def get_tenant(name: str) -> Json:
        tenant = await store.get_tenant(name)
        used = await store.tenant_usage(name)
        pools = node_status(name)
        return {**view(tenant), "usage": {
            "functions": used.functions,
            "code_bytes": used.code_bytes,
            "instances": sum(int(str(p.get("instances", 0))) for p in pools),
            "memory_mb": round(sum(float(str(p.get("memory_mb", 0))) for p in pools), 1),
        }}  # fmt: skip

    @router.patch("/{name}", openapi_extra=ADMIN_ONLY)
    async def update_tenant(name: str, body: TenantChange) -> Json:
        overrides = None if body.quotas is None else parse_overrides(body.quotas)
        tenant = await store.update_tenant(name, disabled=body.disabled, quotas=overrides)
        await changed(tenant)
        log.info("tenant %s updated: disabled=%s quotas=%s", name, tenant.disabled,
                 tenant.quotas)  # fmt: skip
        return view(tenant)

    return router
