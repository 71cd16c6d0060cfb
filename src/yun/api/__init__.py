"""The control-plane HTTP API under `/v1`, with its OpenAPI document at `/docs`."""

from yun.api._app import create_api
from yun.api._deploy import Deployed, Deployer

__all__ = ["Deployed", "Deployer", "create_api"]
