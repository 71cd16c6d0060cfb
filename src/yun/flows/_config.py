"""The runner's settings: one typed object, validated at start (`YUN_FLOWS_*` variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from yun.core import InvalidRequest
from yun.flows._protocol import Limits


@dataclass(frozen=True)
class RunnerConfig:
    # A runaway loop fails its execution (States.Runtime) past this many state transitions.
    max_transitions: int = 25_000
    # An execution fails (States.Runtime) once its history would exceed this many events.
    max_history_events: int = 25_000
    # Invocations in flight at once, all executions together; more wait their turn.
    max_inflight_tasks: int = 64
    # Executions held in memory (those with tasks in flight); starts beyond it get 503.
    max_live_executions: int = 10_000
    # API calls waiting for executions to change (start --wait, describe ?wait=).
    max_waiters: int = 10_000
    # Executions stepped per transaction (group commit: one fsync for all of them).
    batch: int = 256
    # On shutdown, how long in-flight invocations may finish and have their results stored.
    drain_seconds: float = 5.0
    # A throttled invocation never ran; the runner retries it this long before the task
    # fails with Lambda.TooManyRequestsException.
    throttle_retry_seconds: float = 30.0

    def validate(self) -> RunnerConfig:
        for f in fields(self):
            value = getattr(self, f.name)
            if value <= 0:
                raise InvalidRequest(f"flows {f.name} must be positive, was: {value}")
        return self

    @property
    def limits(self) -> Limits:
        return Limits(max_transitions=self.max_transitions,
                      max_history_events=self.max_history_events)  # fmt: skip

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RunnerConfig:
        """Defaults, then `YUN_FLOWS_<FIELD>` variables (e.g. YUN_FLOWS_MAX_TRANSITIONS)."""
        env = dict(os.environ) if environ is None else environ
        config = cls()
        for f in fields(cls):
            raw = env.get(f"YUN_FLOWS_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(config, f.name))
            try:
                value: Any = kind(raw)
            except ValueError:
                word = "an int" if kind is int else "a number"
                raise InvalidRequest(
                    f"YUN_FLOWS_{f.name.upper()} must be {word}, was: {raw!r}"
                ) from None
            config = replace(config, **{f.name: value})
        return config.validate()
