"""Flows: durable workflows in Amazon States Language, as a pure interpreter.

    definition = load_definition(text)               # JSON or YAML; DefinitionError if invalid
    interpreter = Interpreter(definition)
    execution = Execution.create("order-42")
    execution, commands, history = interpreter.step(execution, Started({"id": 42}), now)

Feed the runner's observations back as events (TaskSucceeded, TaskFailed, TimerFired,
Resumed, Stop) until a Succeeded or Failed command comes out. Nothing here does I/O or reads
a clock; the runner persists each Step before carrying out its commands.
"""

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
from yun.flows._states import Definition

__all__ = [
    "Cancel",
    "Command",
    "Definition",
    "DefinitionError",
    "Event",
    "Execution",
    "Failed",
    "HistoryEvent",
    "Interpreter",
    "InvokeTask",
    "Limits",
    "Machine",
    "Resumed",
    "StartTimer",
    "Started",
    "Step",
    "Stop",
    "Succeeded",
    "TaskFailed",
    "TaskSucceeded",
    "TimerFired",
    "load_definition",
]
