"""`yun up`: the embedded profile in one foreground process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shlex
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from yun.gateway import gateway_protocol
from yun.server._config import Config
from yun.server._platform import DEFAULT_TENANT, Platform

log = logging.getLogger("yun")


def run(host: str | None = None, port: int | None = None, data_dir: Path | None = None,
        demo: bool = False, config: Config | None = None) -> None:
    from yun.server._config import load_config

    config = config or load_config(host=host, port=port, data_dir=data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    platform = Platform(config)
    platform.start_sandbox()  # before the event loop exists
    server = _Server(
        uvicorn.Config(
            platform,
            host=config.host,
            port=config.port,
            loop="uvloop",
            # uvicorn's httptools protocol, with `POST /fn/…` served without ASGI
            http=gateway_protocol(lambda: platform.invoke_app),
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=int(config.drain_seconds),
            backlog=4096,
        )
    )
    # uvicorn picks uvloop only when it creates the loop itself; here we do, so ask for it.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(server, platform, config, demo))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional on platforms without it
        return None
    return uvloop.new_event_loop


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so the process would end
    by the signal; `yun up` drains and then exits 0, so it handles the signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._request_exit, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _request_exit(self, sig: int) -> None:
        if self.should_exit:  # a second Ctrl-C: stop waiting for in-flight requests
            self.force_exit = True
        self.should_exit = True
        log.info("received %s: draining", signal.Signals(sig).name)


async def _serve(server: uvicorn.Server, platform: Platform, config: Config, demo: bool) -> None:
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.01)
    _freeze_start_up()
    print(f"yun is up at {config.url} (data in {config.data_dir})", flush=True)
    if demo:
        await _deploy_demo(platform, config)
    await serving


def _freeze_start_up() -> None:
    """Keep the cycle collector off what start-up made (modules, the app, the platform:
    ~150,000 objects that live as long as the process). Every full collection went through
    all of them: 80 ms each, every few seconds under load, 2 µs of every request and a stall
    of the event loop. No collection first: it took 100 ms of every start to free 133
    objects, which stay instead.

    Young collections then came every 700 objects more allocated than freed: under load,
    every 50 ms (the records waiting for their batch make the count climb), each walking the
    young objects still alive (0.3-0.6 ms), and every tenth one the older generation too:
    1.6 % of the event loop's time at 64 connections. At 10,000 they come 14 times less
    often, at about the same cost each (what a request makes is nearly all freed by then, and
    a freed object leaves the generation). Cyclic garbage (an error's traceback and the
    frames it holds) waits for at most that many allocations: bounded, as before."""
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


async def _deploy_demo(platform: Platform, config: Config) -> None:
    from yun.storage import pack

    folder = _demo_folder()
    assert platform.deployer is not None
    done = await platform.deployer.deploy(DEFAULT_TENANT, pack(folder))
    name = done.version.function
    key_file = (config.data_dir / "admin.key").resolve()
    print(f"{done.message} (from {folder})", flush=True)
    print("try it:", flush=True)
    print(f"  curl -s -X POST {config.url}/fn/{name} -H \"Authorization: Bearer "
          f"$(cat {shlex.quote(str(key_file))})\" -d '{{\"name\": \"yun\"}}'", flush=True)
    print(f"  yun invoke {name} --data '{{\"name\": \"yun\"}}'", flush=True)


def _demo_folder() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "hello"
        if (candidate / "yun.yaml").exists():
            return candidate
    cwd = Path.cwd() / "examples" / "hello"
    if (cwd / "yun.yaml").exists():
        return cwd
    raise FileNotFoundError("examples/hello not found: run `yun up --demo` from the repository")
