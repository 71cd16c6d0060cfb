"""One running instance as the node agent sees it: a socket, in-flight calls, a cgroup."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from yun.core import Status
from yun.node._connection import InstanceConnection
from yun.node._host import HostHandler, serve_host
from yun.protocol import Invoke, Message, Result, encode
from yun.sandbox import SandboxInstance

# While an instance has calls in flight and is not CPU-bound, it is looked at every
# WATCH_FIRST s for the first WATCH_CLOSE looks, then less and less often (up to WATCH_MOST).
# Once it has run into its CPU quota since the look before, it is "CPU-bound" and its tenant
# yields the CPU to every other wake-up (see `NodeAgent._cpu_bound_changed`) until the calls it
# was caught running have all ended: demoted, a spinner is throttled less, so the quota
# cannot tell when it stops. Most calls end before the first look; one that spins or forks
# is caught within a few looks. Calls that only wait (for I/O, or queued behind others on a
# busy instance) never count.
WATCH_FIRST = 0.005
WATCH_CLOSE = 4
WATCH_MOST = 0.08


log = logging.getLogger("yun.node")


class InstanceGone(Exception):
    """The instance died (or was killed) before answering this call."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Hears a call's end once: the result frame and its body, or why the instance is gone.
Reply = Callable[["tuple[Result, bytes] | InstanceGone"], None]


def _deliver(reply: Reply, answer: tuple[Result, bytes] | InstanceGone) -> None:
    """Call `reply`; its failure is logged, not raised into the connection that read the
    frame (the other replies in the same read still go out)."""
    try:
        reply(answer)
    except Exception:
        log.exception("handling an instance's reply failed")


class Instance:
    def __init__(self, sandboxed: SandboxInstance, concurrency: int, init_ms: float,
                 created_at: float, on_gone: Callable[[Instance], None],
                 on_cpu_bound: Callable[[bool], None] | None = None) -> None:
        self.id = sandboxed.id
        self.pid = sandboxed.pid
        self.cgroup = sandboxed.cgroup
        self._sock = sandboxed.sock
        self._host_sock = sandboxed.host_sock
        self.concurrency = concurrency
        self.init_ms = init_ms
        self.created_at = created_at
        self.inflight = 0
        self.idle_since: float | None = time.monotonic()
        self.served = 0
        self.alive = True
        self.exit_code: int | None = None
        self._reaped = False
        self._pending: dict[str, Reply] = {}  # request id → who hears its reply
        # Hops behind each in-flight invocation that has any: its host calls go one further.
        self.depths: dict[str, int] = {}
        self._timed_out: set[str] = set()
        # request id → (deadline on the loop's clock, timeout s), and the timer for the first
        self._deadlines: dict[str, tuple[float, float]] = {}
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_at = 0.0
        self._on_gone = on_gone
        # Told when the instance turns CPU-bound (True) and when that ends (False).
        self.on_cpu_bound = on_cpu_bound
        self.cpu_bound = False
        self._watch: asyncio.TimerHandle | None = None
        self._watch_step = WATCH_FIRST
        self._looks = 0  # in this busy spell
        self._throttled = 0  # times throttled at the last look (a new group starts at 0)
        self._bound_calls: set[str] = set()  # in flight when it was found CPU-bound
        self._conn: InstanceConnection | None = None
        # Kept: `get_running_loop()` costs a getpid() system call, and calls run per request.
        self._loop = asyncio.get_running_loop()
        self._host: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, self._conn = await loop.create_unix_connection(
            lambda: InstanceConnection(self._on_frame), sock=self._sock)
        self._host = await asyncio.open_unix_connection(sock=self._host_sock)

    async def serve_host(self, owner: str, handler: HostHandler) -> None:
        """Answer the instance's host calls (only for invocations in flight on it)."""
        assert self._host is not None, "connect() first"
        await serve_host(*self._host, owner, self._pending, self.depths, handler)

    async def serve(self) -> None:
        """Read replies until the instance goes away; owned by the node agent's task group."""
        conn = self._conn
        assert conn is not None, "connect() first"
        try:
            # EOF, a reset or a corrupt stream: the instance is unusable; why is decided below.
            await conn.closed
        finally:
            self._gone()

    def _on_frame(self, message: Message, body: bytes) -> None:
        if isinstance(message, Result):
            reply = self._ended(message.id)
            if reply is not None:
                _deliver(reply, (message, body))

    def _gone(self) -> None:
        self.alive = False
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._bound_calls.clear()
        self._set_cpu_bound(False)
        if self._conn is not None:
            self._conn.close()
        if self._host is not None:
            self._host[1].close()
        if self._pending:
            status, message = self._death_reason()
            if self._timed_out:
                status = Status.CRASHED
                message = "the instance was killed because another invocation on it timed out"
            for request_id in list(self._pending):
                reply = self._ended(request_id)
                if reply is not None:
                    _deliver(reply, InstanceGone(status, message))
        self.cgroup.kill()
        self._on_gone(self)

    def _death_reason(self) -> tuple[Status, str]:
        if self.cgroup.oom_kills() > 0:
            return Status.OOM, "the instance exceeded its memory limit and was killed"
        detail = f" (exit code {self.exit_code})" if self.exit_code is not None else ""
        return Status.CRASHED, f"the instance exited before answering{detail}"

    def start_call(self, invoke: Invoke, body: bytes, timeout: float, reply: Reply) -> None:
        """Send one invocation; `reply` hears its result, or InstanceGone when the instance
        dies first (a call that runs past `timeout` kills it), once. A callback, not a
        future: a future's callbacks each cost a trip through the event loop, and this is
        every call's path."""
        if not self.alive or self._conn is None:
            _deliver(reply, InstanceGone(Status.CRASHED, "the instance is gone"))
            return
        loop = self._loop
        request_id = invoke.id
        self._pending[request_id] = reply
        if self._watch is None and not self.cpu_bound and self.on_cpu_bound is not None:
            self._watch_step, self._looks = WATCH_FIRST, 0
            self._watch = loop.call_later(WATCH_FIRST, self._look)
        if invoke.depth:
            self.depths[request_id] = invoke.depth
        # One timer per instance for its earliest deadline, not one per call: a call's
        # deadline is usually the latest (calls of one version share their timeout).
        deadline = loop.time() + timeout
        self._deadlines[request_id] = (deadline, timeout)
        if self._deadline_timer is None or deadline < self._deadline_at:
            self._arm(loop, deadline)
        self._conn.send(encode(invoke, body))

    def _ended(self, request_id: str) -> Reply | None:
        """The call's bookkeeping ends; its reply callback, if it still waits for one."""
        reply = self._pending.pop(request_id, None)
        self._deadlines.pop(request_id, None)
        if self.cpu_bound and request_id in self._bound_calls:
            self._calls_ended(request_id)
        if self.depths:
            self.depths.pop(request_id, None)
        return reply

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_at = deadline
        self._deadline_timer = loop.call_at(deadline, self._check_deadlines)

    def _check_deadlines(self) -> None:
        """Time out every call past its deadline; re-arm for the earliest one left."""
        self._deadline_timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        earliest = None
        for request_id, (deadline, timeout) in list(self._deadlines.items()):
            if deadline <= now:
                self._expire(request_id, timeout)
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None and self.alive:
            self._arm(loop, earliest)

    def _look(self) -> None:
        """One look at the CPU quota (see WATCH_FIRST). The count of the last look is kept
        across idle spells: a call that spins from its start is caught at the first look."""
        self._watch = None
        if not self._pending or not self.alive or self.cpu_bound:
            return
        throttled = self.cgroup.throttled()
        if throttled > self._throttled:
            self._throttled = throttled
            self._bound_calls = set(self._pending)
            self._set_cpu_bound(True)
            return
        self._looks += 1
        if self._looks >= WATCH_CLOSE:
            self._watch_step = min(self._watch_step * 2, WATCH_MOST)
        self._watch = self._loop.call_later(self._watch_step, self._look)

    def _calls_ended(self, request_id: str) -> None:
        """A call the instance was caught CPU-bound in ended; with the last of them, it is
        judged afresh (from the quota count now) for whatever is still in flight."""
        self._bound_calls.discard(request_id)
        if self._bound_calls:
            return
        self._set_cpu_bound(False)
        self._throttled = self.cgroup.throttled()
        if self._pending and self.alive and self._watch is None:
            self._watch_step, self._looks = WATCH_FIRST, 0
            self._watch = self._loop.call_later(WATCH_FIRST, self._look)

    def _set_cpu_bound(self, bound: bool) -> None:
        if bound != self.cpu_bound:
            self.cpu_bound = bound
            if self.on_cpu_bound is not None:
                self.on_cpu_bound(bound)

    def _expire(self, request_id: str, timeout: float) -> None:
        reply = self._ended(request_id)
        if reply is None:
            return
        self._timed_out.add(request_id)
        self.kill()
        _deliver(reply, InstanceGone(
            Status.TIMEOUT, f"the invocation ran past its timeout of {timeout:g} s and its "
            "instance was stopped"))

    def kill(self) -> None:
        """Stop the instance now; its reader sees EOF and finishes the bookkeeping."""
        self.alive = False
        self.cgroup.kill()

    def reap(self) -> None:
        """Stop an idle instance (scale-down)."""
        self._reaped = True
        self.kill()
        if self._conn is not None:
            self._conn.close()
