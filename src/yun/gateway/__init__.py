"""The data path: route → key → version → an instance slot → response."""

from yun.gateway._auth import KeyCache
from yun.gateway._invoke import MAX_BODY, Deployments, InvokeApp, pool_key
from yun.gateway._routes import Resolver, Route

__all__ = ["MAX_BODY", "Deployments", "InvokeApp", "KeyCache", "Resolver", "Route", "pool_key"]
