"""The validated definition: blocks of states, each state a typed, compiled value.

Everything an execution needs is decided here, at deploy time: paths, intrinsics and
JSONata are parsed, resources resolved, transitions checked. The interpreter only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from yun.flows._choice import Rule
from yun.flows._json import Json
from yun.flows._jsonpath import JsonPath, parse_path
from yun.flows._retry import Catcher, Retrier
from yun.flows._templates import Node, Template

JSONPATH = "JSONPath"
JSONATA = "JSONata"
ROOT_PATH = parse_path("$")

INVOKE = "lambda:invoke"  # Task kind: arn:aws:states:::lambda:invoke, FunctionName in Parameters
FUNCTION = "function"  # Task kind: the Resource names the function, the input is the payload


@dataclass(frozen=True, kw_only=True)
class State:
    """Fields every state may have. Paths are `None` when the definition says `null`."""

    name: str
    type: str
    language: str = JSONPATH
    next: str | None = None
    end: bool = False
    input_path: JsonPath | None = ROOT_PATH
    output_path: JsonPath | None = ROOT_PATH
    result_path: JsonPath | None = ROOT_PATH
    parameters: Template | None = None
    result_selector: Template | None = None
    assign: Template | None = None
    arguments: Template | None = None  # JSONata
    output: Template | None = None  # JSONata
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()

    @property
    def jsonata(self) -> bool:
        return self.language == JSONATA


@dataclass(frozen=True, kw_only=True)
class PassState(State):
    result: Json = None
    has_result: bool = False


@dataclass(frozen=True, kw_only=True)
class TaskState(State):
    resource: str
    kind: str  # FUNCTION or INVOKE
    function: str | None = None  # FUNCTION: the function reference (name[:qualifier])
    timeout_seconds: Template | None = None
    timeout_seconds_path: JsonPath | None = None
    heartbeat_seconds: Template | None = None
    heartbeat_seconds_path: JsonPath | None = None


@dataclass(frozen=True)
class ChoiceBranch:
    rule: Rule
    next: str
    assign: Template | None = None
    output: Template | None = None


@dataclass(frozen=True, kw_only=True)
class ChoiceState(State):
    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class WaitState(State):
    seconds: Template | None = None
    timestamp: Template | None = None
    seconds_path: JsonPath | None = None
    timestamp_path: JsonPath | None = None


@dataclass(frozen=True, kw_only=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, kw_only=True)
class FailState(State):
    error: Template | None = None
    cause: Template | None = None
    error_path: Node | None = None  # a path or an intrinsic call
    cause_path: Node | None = None


@dataclass(frozen=True, kw_only=True)
class ParallelState(State):
    branches: tuple[str, ...] = ()  # block ids


@dataclass(frozen=True)
class Batcher:
    """ItemBatcher: group items into `{"Items": [...], "BatchInput": ...}` per iteration."""

    max_items: Template | None = None
    max_items_path: JsonPath | None = None
    max_bytes: Template | None = None
    max_bytes_path: JsonPath | None = None
    batch_input: Template | None = None


@dataclass(frozen=True, kw_only=True)
class MapState(State):
    processor: str = ""  # block id
    distributed: bool = False
    items_path: JsonPath = ROOT_PATH
    items: Template | None = None  # JSONata
    item_selector: Template | None = None
    batcher: Batcher | None = None
    max_concurrency: Template | None = None
    max_concurrency_path: JsonPath | None = None
    tolerated_failure_count: Template | None = None
    tolerated_failure_count_path: JsonPath | None = None
    tolerated_failure_percentage: Template | None = None
    tolerated_failure_percentage_path: JsonPath | None = None


@dataclass(frozen=True)
class Block:
    """A StartAt and its States: the machine itself, a Parallel branch or a Map's processor.

    `isolated` blocks (a distributed Map's) cannot read the variables of outer scopes.
    """

    id: str
    start_at: str
    states: Mapping[str, State]
    isolated: bool = False


@dataclass(frozen=True)
class Definition:
    """A validated state machine. `source` is the definition as JSON, for storage."""

    blocks: Mapping[str, Block]
    source: Mapping[str, Json] = field(repr=False)
    timeout_seconds: int | None = None
    query_language: str = JSONPATH

    @property
    def root(self) -> Block:
        return self.blocks[""]

    def state(self, block_id: str, name: str) -> State:
        return self.blocks[block_id].states[name]
