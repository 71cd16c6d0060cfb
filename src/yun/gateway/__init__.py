"""The data path: route → key → version → an instance slot → response."""

from yun.gateway._auth import KeyCache
from yun.gateway._invoke import MAX_BODY, Deployments, InvokeApp, Invoked, pool_key
from yun.gateway._quotas import QUOTA_NAMES, QuotaBook, Quotas, Refusal, parse_overrides
from yun.gateway._routes import Resolver, Route

__all__ = [
    "MAX_BODY",
    "QUOTA_NAMES",
    "Deployments",
    "InvokeApp",
    "Invoked",
    "KeyCache",
    "QuotaBook",
    "Quotas",
    "Refusal",
    "Resolver",
    "Route",
    "parse_overrides",
    "pool_key",
]
