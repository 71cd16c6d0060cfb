"""The data path: route → key → version → an instance slot → response."""

from yun.gateway._auth import KeyCache
from yun.gateway._http_routes import PREFIX as ROUTES_PREFIX
from yun.gateway._http_routes import RouteApp
from yun.gateway._invoke import MAX_BODY, Deployments, InvokeApp, Invoked, pool_key
from yun.gateway._protocol import GatewayProtocol, gateway_protocol
from yun.gateway._quotas import QUOTA_NAMES, QuotaBook, Quotas, Refusal, parse_overrides
from yun.gateway._routes import Resolver, Route
from yun.gateway._webhooks import PREFIX as WEBHOOKS_PREFIX
from yun.gateway._webhooks import WebhookApp

__all__ = [
    "MAX_BODY",
    "QUOTA_NAMES",
    "ROUTES_PREFIX",
    "WEBHOOKS_PREFIX",
    "Deployments",
    "GatewayProtocol",
    "InvokeApp",
    "Invoked",
    "KeyCache",
    "QuotaBook",
    "Quotas",
    "Refusal",
    "Resolver",
    "Route",
    "RouteApp",
    "WebhookApp",
    "gateway_protocol",
    "parse_overrides",
    "pool_key",
]
