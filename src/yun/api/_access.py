"""Who may do what on the control API.

- Every `/v1` route except health needs a key, and acts on the key's own tenant: another
  tenant's things are `NotFound`, in the words a missing thing gets.
- Admin-only routes (tenants) refuse other keys with 403: the refusal is the same for every
  path, so it reveals nothing. They carry `x-yun-admin: true` in the OpenAPI document.
- `?tenant=` lets an admin key act for another tenant (keys); a tenant key may only name its
  own tenant.
"""

from __future__ import annotations

from yun.core import Forbidden
from yun.store import ApiKey

# Marks a route admin-only in the OpenAPI document (tests derive their route lists from it).
ADMIN_ONLY: dict[str, object] = {"x-yun-admin": True}


def require_admin(key: ApiKey) -> None:
    if not key.admin:
        raise Forbidden("this route needs an admin key; tenant keys manage only their "
                        "own functions and keys")  # fmt: skip


def tenant_scope(key: ApiKey, tenant: str | None) -> str:
    """The tenant a request acts for: `?tenant=` for an admin, else the key's own."""
    if tenant is None or tenant == key.tenant:
        return key.tenant
    if not key.admin:
        # The same answer for every name, so it tells nothing about which tenants exist.
        raise Forbidden("only an admin key may act for another tenant; leave out ?tenant= "
                        "to act for this key's own tenant")  # fmt: skip
    return tenant
