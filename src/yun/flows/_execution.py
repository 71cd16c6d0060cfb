"""The execution value: everything the interpreter knows about one run, as plain JSON.

An execution is a set of *frames*, one per thread of control: the machine itself, each
running Parallel branch and each running Map iteration. A frame sits at one state of its
block and is either ready to run it, waiting (for a task, a timer, or its children), or
finished. `to_json`/`from_json` round-trip exactly, so the runner can store the value and
resume it after a crash.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from yun.flows._json import Json

# Frame.status values.
ENTER = "enter"  # about to enter `state` (a new visit: emits StateEntered)
ATTEMPT = "attempt"  # about to run `state` again after a retry back-off
TASK = "task"  # waiting for the task `token`
TIMER = "timer"  # waiting for the timer `token` (a Wait state or a retry back-off)
CHILDREN = "children"  # a Map or Parallel state waiting for its iterations or branches
BUSY = "busy"  # what it waited for arrived; the state finishes within this step

# Execution.status values.
PENDING, RUNNING, SUCCEEDED, FAILED = "PENDING", "RUNNING", "SUCCEEDED", "FAILED"
TIMED_OUT, ABORTED = "TIMED_OUT", "ABORTED"
TERMINAL = frozenset({SUCCEEDED, FAILED, TIMED_OUT, ABORTED})


@dataclass
class Frame:
    id: str
    block: str
    state: str
    input: Json
    status: str = ENTER
    parent: str | None = None
    index: int = 0  # the branch or item index within the parent
    entered: int = 0  # id of the current state's StateEntered event
    entered_time: str = ""
    last_event: int = 0  # previous event of this thread, for previousEventId
    retry_counts: dict[str, int] = field(default_factory=dict)  # retrier index → retries
    retries: int = 0  # $$.State.RetryCount
    token: str | None = None
    timeout_token: str | None = None
    waiting: dict[str, Json] = field(default_factory=dict)  # what the wait is for
    children: dict[str, Json] = field(default_factory=dict)  # Map/Parallel bookkeeping
    variables: dict[str, Json] = field(default_factory=dict)

    def clone(self) -> Frame:
        children = dict(self.children)
        if "results" in children:
            children["results"] = list(children["results"])
        return replace(
            self,
            retry_counts=dict(self.retry_counts),
            waiting=dict(self.waiting),
            children=children,
            variables=dict(self.variables),
        )


@dataclass
class Execution:
    name: str
    status: str = PENDING
    input: Json = None
    output: Json = None
    error: str | None = None
    cause: str | None = None
    start_time: str | None = None
    stop_time: str | None = None
    seed: str = ""  # randomness for States.UUID & co, fixed per execution so steps are pure
    next_event_id: int = 1
    next_frame: int = 0
    next_token: int = 0
    transitions: int = 0
    timeout_token: str | None = None
    frames: dict[str, Frame] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, seed: str | None = None) -> Execution:
        """A new, not yet started execution. `seed` defaults to fresh random bytes."""
        return cls(name=name, seed=seed if seed is not None else secrets.token_hex(16))

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def to_json(self) -> dict[str, Json]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Execution:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        frames = {
            key: Frame(**copy.deepcopy(frame)) for key, frame in data.get("frames", {}).items()
        }
        values["frames"] = frames
        values["input"] = copy.deepcopy(values.get("input"))
        values["output"] = copy.deepcopy(values.get("output"))
        return cls(**values)

    def copy(self) -> Execution:
        """A copy a step can change without changing this one.

        JSON payloads are shared, not copied: the engine never changes a payload in place
        (ResultPath copies along its path), so only the bookkeeping containers are copied.
        That keeps a step proportional to the number of frames, not to the data.
        """
        return replace(self, frames={key: frame.clone() for key, frame in self.frames.items()})
