"""The durable runner: drives the pure interpreter with rows and invocations.

    runner = Runner(store, invoke_app)          # clock=FakeWallClock() in tests
    task = asyncio.create_task(runner.run())    # owned by the platform's lifespan
    execution, created = await runner.start("default", "orders", {"id": 42}, name="o-42")
    runner.stop(); await task

Why it is shaped this way (each choice names the failure it prevents):

- **Commit, then act.** A step's new execution value, its history rows and its timer rows
  are written in ONE transaction, and only then are its commands carried out (invocations
  dispatched, waiting callers told). Dispatching first would let a crash lose the step that
  asked for the call while the call goes on: the resumed execution would ask again under a
  new token, so the function could not recognise the repeat. Answering "SUCCEEDED" first
  could be contradicted by a crash that rolls the execution back.
- **Value and history together.** Otherwise a crash between them leaves history that
  describes steps the stored value never took (or misses steps it took).
- **Timers are rows in the step's transaction.** A Wait of hours is a row, not a sleeping
  task; a timer written separately could be lost (the execution would wait forever) or
  outlive a rolled-back step. A timer row goes in the transaction of the step that consumes
  its `TimerFired`: a crash before that commit fires it again after the restart, and the
  interpreter ignores a timer it no longer waits for (at-least-once, never lost).
- **Resume.** `run` first feeds `Resumed` to every unfinished execution, which re-issues
  its outstanding tasks under the tokens already handed out, and re-arms its timers.
- **Bounded.** At most `max_inflight_tasks` invocations run at once; executions with tasks
  in flight are held in memory (at most `max_live_executions`; starts beyond get 503); an
  execution that only waits for a timer is dropped from memory and read back when it fires.
  Pending events live in one dict keyed by execution (at most one entry per execution).

Request ids: a task attempt's first delivery is invoked with request id
`<execution uid>-<n>` (its token, made unique across tenants). A re-delivery of the same
attempt (re-issued after a restart, or retried after a throttle) runs as
`<execution uid>-<n>.<8 hex>`: activation ids are unique, and each delivery is metered. The
part before the `.` is stable: functions use it as their idempotency key.

The module is long (~700 lines) on purpose: stepping, dispatching and timers share one set
of in-memory structures (live executions, pending events, timers being fired), and their
invariants are easier to keep, and to review, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from yun.core import Conflict, Forbidden, NotFound, Overloaded, PlatformError, Status, YunError
from yun.flows._clock import SystemWallClock, WallClock
from yun.flows._config import RunnerConfig
from yun.flows._definition import load_definition
from yun.flows._execution import TERMINAL, Execution
from yun.flows._interpreter import Interpreter
from yun.flows._json import equal
from yun.flows._outcomes import SERVICE, Outcome, error_event, task_event
from yun.flows._protocol import (
    Cancel,
    Event,
    InvokeTask,
    Machine,
    Resumed,
    Started,
    StartTimer,
    Step,
    Stop,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from yun.flows._steps import (
    check_execution_name,
    check_flow_name,
    internal_failure,
    merge,
    request_id,
    split_execution_id,
    to_write,
)
from yun.store import ExecutionWrite, FlowExecution, Store

log = logging.getLogger("yun.flows")

_INTERPRETERS = 256  # compiled definitions kept (LRU)
_COMMIT_ATTEMPTS = 3  # a step that fails to commit alone this often fails its execution
_RESUME_PAGE = 100


class Invoked(Protocol):
    @property
    def outcome(self) -> Outcome: ...


class Invoker(Protocol):
    """The invoke path (`yun.gateway.InvokeApp` fits): quotas, node, activation record."""

    async def invoke(
        self, tenant: str, target: str, body: bytes, request_id: str | None = None
    ) -> Invoked: ...


@dataclass
class _Live:
    """An execution held in memory because it has tasks queued or in flight."""

    row: FlowExecution
    interpreter: Interpreter
    execution: Execution
    tasks: set[str] = field(default_factory=set)  # tokens dispatched or queued, unanswered
    failures: int = 0  # consecutive failed commits


@dataclass
class _Prepared:
    """A step computed for one execution, waiting for its commit."""

    live: _Live
    step: Step
    write: ExecutionWrite
    events: list[Event]
    answered: set[str]  # task tokens whose outcomes the events carried
    reissued: set[str]  # task tokens a resume re-issued
    fired: list[str]  # timer tokens that fired


@dataclass
class _Watch:
    """A caller following one execution: the status of its last commit."""

    status: str = ""
    commits: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class _Job:
    uid: str
    tenant: str
    command: InvokeTask
    request_id: str


class Runner:
    """Runs every tenant's flow executions to their end, across restarts."""

    def __init__(
        self,
        store: Store,
        invoker: Invoker,
        *,
        clock: WallClock | None = None,
        config: RunnerConfig | None = None,
        tenant_active: Callable[[str], Awaitable[object | None]] | None = None,
    ) -> None:
        """`tenant_active(name)` (e.g. `KeyCache.active_tenant`) answers None for a disabled
        tenant: its tasks then fail with Lambda.AccessDeniedException instead of running."""
        self.store = store
        self.invoker = invoker
        self.tenant_active = tenant_active
        self.clock = clock or SystemWallClock()
        self.config = (config or RunnerConfig()).validate()
        self._live: dict[str, _Live] = {}
        self._mail: dict[str, list[Event]] = {}  # uid → events to step, in arrival order
        self._mail_ready = asyncio.Event()
        self._jobs: deque[_Job] = deque()  # invocations waiting for a slot
        self._jobs_ready = asyncio.Event()
        self._slots = asyncio.Semaphore(self.config.max_inflight_tasks)
        self._running: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()  # nothing in flight, nothing to step
        self._stepped = asyncio.Event()  # nothing to step
        self._stepping = False  # a batch is being stepped or committed
        self._watches: dict[str, list[_Watch]] = {}  # uid → callers following its commits
        self._waiters = 0
        self._firing: set[tuple[str, str]] = set()  # timers posted, their step not committed
        self._load_failures: dict[str, int] = {}  # uid → failed reads in a row
        self._timers_changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._started = False
        self._tg: asyncio.TaskGroup | None = None
        self._interpreters: OrderedDict[
            tuple[str, str, int], tuple[dict[str, Any], Interpreter]
        ] = OrderedDict()
        self.steps = 0  # steps committed since start

    # -- lifecycle --------------------------------------------------------------------

    async def run(self, ready: Callable[[], None] = lambda: None) -> None:
        """Resume unfinished executions, then run until `stop`; then drain: in-flight
        invocations get `drain_seconds` to finish and have their results committed."""
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            stepper = tg.create_task(self._step_loop(), name="flows-stepper")
            dispatcher = tg.create_task(self._dispatch_loop(), name="flows-dispatcher")
            timers = tg.create_task(self._timer_loop(), name="flows-timers")
            self._started = True
            try:
                await self._resume_all()
            finally:
                ready()
            await self._stopping.wait()
            dispatcher.cancel()
            timers.cancel()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.drain_seconds):
                    await self._drained()
            for task in list(self._running):
                task.cancel()  # a result that comes later is re-requested at the next start
            stepper.cancel()
            self._wake_all_waiters()

    def stop(self) -> None:
        """Stop dispatching; `run` drains and returns."""
        self._stopping.set()

    async def _drained(self) -> None:
        while self._running or self._mail or self._stepping:
            self._idle.clear()
            await self._idle.wait()

    # -- the API's calls ------------------------------------------------------------------

    async def start(
        self, tenant: str, flow: str, input: Any, name: str | None = None
    ) -> tuple[FlowExecution, bool]:
        """Start an execution of the flow's latest version; (it, True). Idempotent by name:
        an existing execution of that name with an equal input is returned with False; with
        a different input it is a Conflict. The answer follows the first step's commit."""
        check_flow_name(flow)
        name = check_execution_name(name) if name is not None else uuid.uuid4().hex
        defined = await self.store.get_flow(tenant, flow)
        existing = await self.store.find_execution(tenant, flow, name)
        if existing is not None:
            return _same_input(existing, input), False
        self._admit()
        interpreter = self._interpreter(tenant, flow, defined.version, defined.definition)
        uid = secrets.token_hex(12)
        step = self._step(interpreter, Execution.create(name), [Started(input)])
        write = to_write(uid, step, [], False, self.clock.time())
        row, created = await self.store.start_execution(
            tenant, flow, defined.version, name, input, write
        )
        if not created:
            return _same_input(row, input), False
        live = _Live(row, interpreter, step.execution)
        self._live[uid] = live
        self._after_commit(live, step, set(), set(), [])
        return row, True

    async def describe(self, tenant: str, execution_id: str) -> FlowExecution:
        flow, name = _parse_id(execution_id)
        return await self.store.get_execution(tenant, flow, name)

    async def wait(self, tenant: str, execution_id: str, seconds: float) -> FlowExecution:
        """The execution once it has ended, or as it is after `seconds`."""
        flow, name = _parse_id(execution_id)
        row = await self.store.get_execution(tenant, flow, name)
        if row.status in TERMINAL or seconds <= 0 or self._stopping.is_set():
            return row
        with self._watch(row.uid) as watch, contextlib.suppress(TimeoutError):
            # Read again once watching: a commit between the first read and now is not missed.
            row = await self.store.get_execution(tenant, flow, name)
            # A commit told of during the read is at least as new as what the read saw (the
            # read may have run before it landed): only without one does the read count.
            if not watch.commits:
                watch.status = row.status
            async with asyncio.timeout(seconds):
                while watch.status not in TERMINAL and not self._stopping.is_set():
                    await watch.changed.wait()
                    watch.changed.clear()
        if watch.status != row.status or watch.commits:
            row = await self.store.get_execution(tenant, flow, name)
        return row

    async def stop_execution(
        self, tenant: str, execution_id: str, error: str | None = None, cause: str | None = None
    ) -> FlowExecution:
        """Abort a running execution (ABORTED, with `error` and `cause`); a finished one is
        returned as it is."""
        flow, name = _parse_id(execution_id)
        row = await self.store.get_execution(tenant, flow, name)
        if row.status in TERMINAL:
            return row
        if not self._started or self._stopping.is_set():
            raise Overloaded("the flow runner is not running (starting or shutting down)")
        with self._watch(row.uid) as watch:
            # Read again once watching: an end committed before the watch began is told to
            # nobody, and a Stop for an ended execution commits nothing more.
            row = await self.store.get_execution(tenant, flow, name)
            if row.status in TERMINAL:
                return row
            self._post(row.uid, Stop(error, cause))
            try:
                async with asyncio.timeout(30):
                    # An earlier event of the same execution may commit first.
                    while watch.status not in TERMINAL and not self._stopping.is_set():
                        await watch.changed.wait()
                        watch.changed.clear()
            except TimeoutError:
                raise PlatformError(f"stopping execution '{row.id}' took longer than 30 s; "
                                    "it is stopped when the runner catches up") from None
        return await self.store.get_execution(tenant, flow, name)

    def _admit(self) -> None:
        if not self._started or self._stopping.is_set():
            raise Overloaded("the flow runner is not running (starting or shutting down)")
        if len(self._live) >= self.config.max_live_executions:
            raise Overloaded(
                f"{len(self._live)} flow executions have tasks in flight (the limit is "
                f"{self.config.max_live_executions}); retry later",
                retry_after=1.0,
            )

    @contextlib.contextmanager
    def _watch(self, uid: str) -> Iterator[_Watch]:
        """Follow the commits of one execution while the block runs."""
        if self._waiters >= self.config.max_waiters:
            raise Overloaded(f"{self._waiters} callers are already waiting on flow executions "
                             f"(the limit is {self.config.max_waiters})")  # fmt: skip
        watch = _Watch()
        self._watches.setdefault(uid, []).append(watch)
        self._waiters += 1
        try:
            yield watch
        finally:
            self._waiters -= 1
            watches = self._watches.get(uid, [])
            if watch in watches:
                watches.remove(watch)
            if not watches:
                self._watches.pop(uid, None)

    def _wake_all_waiters(self) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.changed.set()

    # -- events in ------------------------------------------------------------------------

    def _post(self, uid: str, event: Event) -> None:
        self._mail.setdefault(uid, []).append(event)
        self._idle.clear()
        self._mail_ready.set()

    async def _resume_all(self) -> None:
        after = ""
        while not self._stopping.is_set():
            rows = await self.store.unfinished_executions(after, _RESUME_PAGE)
            if not rows:
                return
            for row in rows:
                if row.uid not in self._live and row.state:
                    self._post(row.uid, Resumed())
            after = rows[-1].uid
            # One page at a time, so a large backlog never sits in memory at once.
            while self._mail and not self._stopping.is_set():
                self._stepped.clear()
                await self._stepped.wait()

    # -- stepping -------------------------------------------------------------------------

    async def _step_loop(self) -> None:
        while True:
            await self._mail_ready.wait()
            self._mail_ready.clear()
            self._stepping = True
            while self._mail:
                batch: list[tuple[str, list[Event]]] = []
                while self._mail and len(batch) < self.config.batch:
                    uid = next(iter(self._mail))
                    batch.append((uid, self._mail.pop(uid)))
                try:
                    await self._step_batch(batch)
                except Exception:  # a bug here must not stop every other execution
                    log.exception("stepping %d flow executions failed", len(batch))
                    await self.clock.wait(self._stopping, 1.0)
            self._stepping = False
            self._stepped.set()
            self._check_idle()

    async def _step_batch(self, batch: list[tuple[str, list[Event]]]) -> None:
        prepared: list[_Prepared] = []
        for uid, events in batch:
            try:
                live = self._live.get(uid) or await self._load(uid, events)
            except Exception:
                # The store could not be read: keep the events, try again shortly; after a
                # few tries they wait for the next start's resume (never silently lost).
                tries = self._load_failures.get(uid, 0) + 1
                log.exception("reading flow execution %s failed (attempt %d)", uid, tries)
                if tries < _COMMIT_ATTEMPTS:
                    self._load_failures[uid] = tries
                    self._mail[uid] = [*events, *self._mail.pop(uid, [])]
                    await self.clock.wait(self._stopping, 0.1 * tries)
                else:
                    self._load_failures.pop(uid, None)
                    for event in events:  # the timer loop may fire them again
                        if isinstance(event, TimerFired):
                            self._firing.discard((uid, event.token))
                continue
            self._load_failures.pop(uid, None)
            if live is None:
                continue
            step, answered, reissued, fired, resumed = self._apply(live, events)
            write = to_write(uid, step, fired, resumed, self.clock.time())
            prepared.append(_Prepared(live, step, write, events, answered, reissued, fired))
        if not prepared:
            return
        try:
            await self.store.commit_steps([p.write for p in prepared])
            committed = prepared
        except Exception:
            committed = []
            if len(prepared) == 1:
                await self._commit_failed(prepared[0].live, prepared[0].events)
            else:
                # One bad write must not hold back the others: find it by committing alone.
                log.warning("a group commit of %d flow steps failed; retrying one by one",
                            len(prepared))  # fmt: skip
                for item in prepared:
                    try:
                        await self.store.commit_steps([item.write])
                    except Exception:
                        await self._commit_failed(item.live, item.events)
                    else:
                        committed.append(item)
        for item in committed:
            item.live.failures = 0
            self._after_commit(item.live, item.step, item.answered, item.reissued, item.fired)

    async def _commit_failed(self, live: _Live, events: list[Event]) -> None:
        """Keep the events and try again; a step that keeps failing fails its execution
        alone (if even that cannot be stored, it is dropped from memory and resumes at the
        next start)."""
        uid = live.row.uid
        live.failures += 1
        log.exception("storing a step of flow execution %s failed (attempt %d)", live.row.id,
                      live.failures)  # fmt: skip
        if live.failures < _COMMIT_ATTEMPTS:
            self._mail[uid] = [*events, *self._mail.pop(uid, [])]
            await self.clock.wait(self._stopping, 0.1 * live.failures)
            return
        step = internal_failure(live.execution, self._now(), "its steps could not be stored")
        fired = [e.token for e in events if isinstance(e, TimerFired)]
        write = to_write(uid, step, fired, False, self.clock.time())
        try:
            await self.store.commit_steps([write])
        except Exception:
            log.exception("flow execution %s could not be stored; it resumes at the next "
                          "start", live.row.id)  # fmt: skip
            self._live.pop(uid, None)
            for token in fired:
                self._firing.discard((uid, token))
            return
        self._after_commit(live, step, set(live.tasks), set(), fired)

    def _apply(
        self, live: _Live, events: list[Event]
    ) -> tuple[Step, set[str], set[str], list[str], bool]:
        """Step every event in order, merged into one step. Also answers which task tokens
        the events answered, which were re-issued by a resume, which timers fired."""
        answered: set[str] = set()
        reissued: set[str] = set()
        fired: list[str] = []
        resumed = False
        step = Step(live.execution, [], [])
        for event in events:
            if isinstance(event, TaskSucceeded | TaskFailed):
                answered.add(event.token)
            elif isinstance(event, TimerFired):
                fired.append(event.token)
            elif isinstance(event, Resumed):
                resumed = True
            one = self._step(live.interpreter, step.execution, [event])
            if isinstance(event, Resumed):
                reissued |= {c.token for c in one.commands if isinstance(c, InvokeTask)}
            step = merge(step, one)
        return step, answered, reissued, fired, resumed

    def _step(self, interpreter: Interpreter, execution: Execution, events: list[Event]) -> Step:
        step = Step(execution, [], [])
        for event in events:
            try:
                one = interpreter.step(step.execution, event, self._now())
            except Exception as exc:  # an engine bug fails this one execution, no other
                log.exception("the interpreter failed on %s of execution %s", event,
                              execution.name)  # fmt: skip
                one = internal_failure(step.execution, self._now(), f"internal error: {exc!r}")
            step = merge(step, one)
        return step

    def _after_commit(
        self, live: _Live, step: Step, answered: set[str], reissued: set[str], fired: list[str]
    ) -> None:
        """Carry out a committed step's commands."""
        uid = live.row.uid
        live.execution = step.execution
        live.tasks -= answered
        self.steps += 1
        for token in fired:
            self._firing.discard((uid, token))
        timers = bool(fired)
        for command in step.commands:
            if isinstance(command, InvokeTask):
                rid = request_id(uid, command.token)
                if command.token in reissued:
                    rid = f"{rid}.{secrets.token_hex(4)}"
                live.tasks.add(command.token)
                if not self._stopping.is_set():
                    self._jobs.append(_Job(uid, live.row.tenant, command, rid))
                    self._jobs_ready.set()
            elif isinstance(command, Cancel):
                live.tasks.discard(command.token)  # its outcome, if any, is dropped
            elif isinstance(command, StartTimer):
                timers = True
        if timers:
            self._timers_changed.set()  # the timer loop re-reads the earliest timer
        for watch in self._watches.get(uid, []):
            watch.status = live.execution.status
            watch.commits += 1
            watch.changed.set()
        if live.execution.done or not live.tasks:
            # Nothing in flight: the stored value is all there is; a timer reads it back.
            self._live.pop(uid, None)

    async def _load(self, uid: str, events: list[Event]) -> _Live | None:
        row = await self.store.execution_by_uid(uid)
        if row is None or row.status in TERMINAL or not row.state:
            stray = [e.token for e in events if isinstance(e, TimerFired)]
            if row is not None and stray:
                await self.store.delete_flow_timers(uid, stray)
            for token in stray:
                self._firing.discard((uid, token))
            self._timers_changed.set()
            return None
        try:
            defined = await self.store.get_flow(row.tenant, row.flow, row.flow_version)
            interpreter = self._interpreter(row.tenant, row.flow, row.flow_version,
                                            defined.definition)  # fmt: skip
        except (YunError, ValueError) as exc:
            interpreter = _Broken(str(exc))
        live = _Live(row, interpreter, Execution.from_json(row.state))
        self._live[uid] = live
        return live

    def _interpreter(
        self, tenant: str, flow: str, version: int, definition: dict[str, Any]
    ) -> Interpreter:
        key = (tenant, flow, version)
        found = self._interpreters.get(key)
        # Compared, not trusted: a flow deleted and deployed again numbers from 1 again.
        if found is not None and found[0] == definition:
            self._interpreters.move_to_end(key)
            return found[1]
        machine = Machine(name=flow, arn_prefix=f"arn:yun:states:local:{tenant}")
        made = Interpreter(load_definition(definition), machine=machine,
                           limits=self.config.limits)  # fmt: skip
        self._interpreters[key] = (definition, made)
        if len(self._interpreters) > _INTERPRETERS:
            self._interpreters.popitem(last=False)
        return made

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def _check_idle(self) -> None:
        if not self._running and not self._mail and not self._stepping:
            self._idle.set()

    # -- invocations ----------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        assert self._tg is not None
        while True:
            await self._slots.acquire()
            try:
                job = await self._next_job()
            except BaseException:
                self._slots.release()
                raise
            task = self._tg.create_task(self._run_job(job), name=f"flows-task-{job.request_id}")
            self._running.add(task)
            task.add_done_callback(self._job_done)

    async def _next_job(self) -> _Job:
        while True:
            while not self._jobs:
                self._jobs_ready.clear()
                await self._jobs_ready.wait()
            job = self._jobs.popleft()
            live = self._live.get(job.uid)
            if live is not None and job.command.token in live.tasks:
                return job  # else cancelled while it waited: never invoked

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._check_idle()

    async def _run_job(self, job: _Job) -> None:
        try:
            event = await self._invoke(job)
        finally:
            self._slots.release()
        live = self._live.get(job.uid)
        if live is not None and job.command.token in live.tasks:
            self._post(job.uid, event)

    async def _invoke(self, job: _Job) -> TaskSucceeded | TaskFailed:
        """One delivery, retried while it is throttled (it never ran, so that is safe)."""
        command = job.command
        if self.tenant_active is not None and await self.tenant_active(job.tenant) is None:
            refused = Forbidden(f"tenant '{job.tenant}' is disabled: its functions cannot be "
                                "invoked")  # fmt: skip
            return error_event(command.token, command.function, refused, job.request_id)
        body = json.dumps(command.payload, separators=(",", ":")).encode()
        give_up = self.clock.time() + self.config.throttle_retry_seconds
        rid, backoff = job.request_id, 0.05
        while True:
            try:
                invoked = await self.invoker.invoke(job.tenant, command.function, body,
                                                    request_id=rid)  # fmt: skip
            except YunError as exc:
                return error_event(command.token, command.function, exc, rid)
            except Exception as exc:  # a platform bug fails this task (retriable), no more
                log.exception("invoking %s for flow task %s failed", command.function, rid)
                return TaskFailed(command.token, SERVICE, f"invoking {command.function} "
                                  f"failed: {exc!r}")  # fmt: skip
            outcome = invoked.outcome
            throttled = outcome.status == Status.THROTTLED
            if not throttled or self.clock.time() + backoff > give_up or self._stopping.is_set():
                return task_event(command.token, outcome, rid)
            await self.clock.wait(self._stopping, backoff)
            backoff = min(backoff * 2, 1.0)
            rid = f"{job.request_id}.{secrets.token_hex(4)}"  # each delivery has its record

    # -- timers ---------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while True:
            try:
                self._timers_changed.clear()
                earliest = await self.store.next_flow_timer()
                now = self.clock.time()
                if earliest is not None and earliest <= now:
                    if await self._fire_due(now):
                        continue
                    earliest = None  # all due ones are being stepped: wait for commits
                delay = 60.0 if earliest is None else min(60.0, earliest - now)
                await self.clock.wait(self._timers_changed, delay)
            except Exception:
                log.exception("reading flow timers failed")
                await self.clock.wait(self._stopping, 1.0)

    async def _fire_due(self, now: float) -> bool:
        """Post TimerFired for due timers not yet posted; True if any was."""
        if len(self._firing) >= self.config.max_live_executions:
            return False  # back-pressure: let the stepper catch up
        due = await self.store.due_flow_timers(now, self.config.batch)
        posted = False
        for timer in due:
            key = (timer.execution, timer.token)
            if key not in self._firing:
                self._firing.add(key)
                self._post(timer.execution, TimerFired(timer.token))
                posted = True
        return posted


class _Broken(Interpreter):
    """Stands in for a definition that no longer loads: every step fails the execution."""

    def __init__(self, message: str) -> None:
        self.message = message

    def step(self, execution: Execution, event: Event, now: datetime) -> Step:
        return internal_failure(execution, now, f"its definition no longer loads: "
                                f"{self.message}")  # fmt: skip


def _parse_id(execution_id: str) -> tuple[str, str]:
    parts = split_execution_id(execution_id)
    if parts is None:
        # The same words as a missing one: an id is either an execution of yours or not.
        raise NotFound(f"execution '{execution_id}' does not exist")
    return parts


def _same_input(existing: FlowExecution, input: Any) -> FlowExecution:
    if not equal(existing.input, input):
        raise Conflict(f"execution '{existing.id}' already exists with a different input; "
                       "start it under another name")  # fmt: skip
    return existing

