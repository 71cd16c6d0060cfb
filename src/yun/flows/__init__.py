"""Flows: durable workflows in Amazon States Language, as a pure interpreter.

    definition = load_definition(text)               # JSON or YAML; DefinitionError if invalid
    interpreter = Interpreter(definition)
    execution = Execution.create("order-42")
    execution, commands, history = interpreter.step(execution, Started({"id": 42}), now)

Feed the runner's observations back as events (TaskSucceeded, TaskFailed, TimerFired,
Resumed, Stop) until a Succeeded or Failed command comes out. Nothing in the interpreter does
I/O or reads a clock.

`Runner` is the durable adapter around it: it stores each step (execution value, history,
timers) in one transaction before carrying out its commands, invokes functions through the
normal invoke path, fires timers from the store, and resumes unfinished executions at start.
"""

from yun.flows._clock import FakeWallClock, SystemWallClock, WallClock
from yun.flows._config import RunnerConfig
from yun.flows._definition import load_definition
from yun.flows._errors import DefinitionError
from yun.flows._execution import Execution
from yun.flows._history import HistoryEvent
from yun.flows._interpreter import Interpreter
from yun.flows._protocol import (
    Cancel,
    Command,
    Event,
    Failed,
    InvokeTask,
    Limits,
    Machine,
    Resumed,
    Started,
    StartTimer,
    Step,
    Stop,
    Succeeded,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from yun.flows._runner import Invoker, Runner
from yun.flows._source import parse_definition
from yun.flows._states import Definition
from yun.flows._steps import check_execution_name, check_flow_name, split_execution_id

__all__ = [
    "Cancel",
    "Command",
    "Definition",
    "DefinitionError",
    "Event",
    "Execution",
    "Failed",
    "FakeWallClock",
    "HistoryEvent",
    "Interpreter",
    "InvokeTask",
    "Invoker",
    "Limits",
    "Machine",
    "Resumed",
    "Runner",
    "RunnerConfig",
    "StartTimer",
    "Started",
    "Step",
    "Stop",
    "Succeeded",
    "SystemWallClock",
    "TaskFailed",
    "TaskSucceeded",
    "TimerFired",
    "WallClock",
    "check_execution_name",
    "check_flow_name",
    "load_definition",
    "parse_definition",
    "split_execution_id",
]
