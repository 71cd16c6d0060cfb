"""Shared fakes: the CLI runs against an `httpx.MockTransport` instead of a server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from yun.cli import app
from yun.sdk._client import Client

Handler = Callable[[httpx.Request], httpx.Response]
URL = "http://yun.test"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's YUN_* settings or the project's ./.yun folder."""
    for name in ("YUN_URL", "YUN_API_KEY", "YUN_DATA_DIR", "YUN_HOST", "YUN_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


class FakeYun:
    """A scripted server: answers every request the same way and records the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._handler: Handler = lambda request: httpx.Response(500)

    def handles(self, handler: Handler) -> FakeYun:
        self._handler = handler
        return self

    def answers(
        self, body: object, status: int = 200, headers: dict[str, str] | None = None
    ) -> FakeYun:
        return self.handles(lambda request: httpx.Response(status, json=body, headers=headers))

    def fails(self, status: int, type: str, message: str) -> FakeYun:
        return self.answers({"error": {"type": type, "message": message}}, status)

    def streams(self, *events: dict[str, object]) -> FakeYun:
        body = "".join(json.dumps(event) + "\n" for event in events).encode()
        headers = {"content-type": "application/x-ndjson"}
        return self.handles(lambda request: httpx.Response(200, content=body, headers=headers))

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def client(self) -> Client:
        return Client(url=URL, api_key="k" * 32, transport=httpx.MockTransport(self._record))

    def run(self, *args: str, input: str | None = None) -> Result:
        """Run `yun ARGS` with its client talking to this fake."""
        return CliRunner().invoke(app, list(args), obj=self.client, input=input)

    def _record(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self._handler(request)


@pytest.fixture
def yun_api() -> FakeYun:
    return FakeYun()
