"""Webhook triggers: `POST /hook/<id>` → signature check → the function's async path.

The id is random and stored (`Store.ensure_webhook`); an unknown id, a removed function and a
disabled tenant all answer the same 404.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from yun.core import InvalidRequest, NotFound, YunError, error_body
from yun.core.types import WebhookTrigger
from yun.events import data_of, new_event
from yun.events._source import source_uri
from yun.events._webhook import DELIVERY, SIGNATURE, TIMESTAMP, verify
from yun.gateway._auth import KeyCache
from yun.gateway._invoke import Receive, Scope, Send, read_body, reply, reply_error
from yun.gateway._routes import Resolver
from yun.queue import Submit
from yun.store import Store

PREFIX = "/hook/"
# Headers a handler may want (event kind, delivery id, content type); the rest stay out.
_PASSED = ("content-type", "user-agent", "x-github-event", "x-github-delivery",
           "x-yun-delivery", "x-yun-timestamp")


class WebhookApp:
    def __init__(self, store: Store, keys: KeyCache, resolver: Resolver, submit: Submit,
                 wall: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keys = keys
        self.resolver = resolver
        self.submit = submit
        self.wall = wall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hook = scope["path"][len(PREFIX):]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        try:
            if scope["method"] != "POST":
                await reply(send, 405, error_body(InvalidRequest(
                    f"webhooks take POST, was: {scope['method']}")), [(b"allow", b"POST")])
                return
            found = await self.store.find_webhook(hook) if hook.isascii() else None
            if found is None or await self.keys.active_tenant(found[0]) is None:
                raise NotFound(f"no webhook {hook[:64]!r}")
            tenant, function, secret_env = found
            version = await self.resolver.resolve(tenant, function)
            if WebhookTrigger(secret_env) not in version.manifest.triggers:
                raise NotFound(f"no webhook {hook[:64]!r}")  # the trigger was removed
            body = await read_body(receive, dict(scope["headers"]))
            verify(version.manifest.env[secret_env], body, headers.get(SIGNATURE),
                   headers.get(TIMESTAMP), self.wall())
            delivery = next((headers[h] for h in DELIVERY if headers.get(h)), None)
            event = new_event(
                source_uri(tenant, "webhook", function), "yun.webhook.delivery",
                {"headers": {h: headers[h] for h in _PASSED if h in headers},
                 "body": _body(data_of(body, headers.get("content-type")))},
                subject=function, id=delivery)
            dedupe = f"webhook:{hook}:{delivery}" if delivery else None
            invocation = await self.submit(tenant, function, event.to_json(), "webhook", dedupe)
        except YunError as exc:
            await reply_error(send, exc)
            return
        await reply(send, 202, {"id": invocation})


def _body(data: object) -> object:
    """JSON stays JSON and text text; other bytes travel as {"base64": ...}."""
    return {"base64": base64.b64encode(data).decode()} if isinstance(data, bytes) else data
