"""Load and validate a state machine definition (JSON or YAML text, or a parsed object).

Every problem is collected, not just the first, and each names the state and the field:
`state 'Check': field 'Next': 'Done' is not a state of this block`. Checks: JSON/YAML
syntax, required and unknown fields per state type, Next/End, transitions to nowhere,
unreachable states, JSONPath, intrinsic functions, JSONata, Choice rules, Retry/Catch,
query-language-specific fields, and the Task resources Yun can run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from yun.flows._builders import compile_state
from yun.flows._errors import DefinitionError
from yun.flows._json import Json, is_number
from yun.flows._states import JSONATA, JSONPATH, Block, ChoiceState, Definition, State


def _fields(text: str) -> set[str]:
    return set(text.split())


_COMMON = _fields("Type Comment QueryLanguage")
_FLOW = _fields("Next End InputPath OutputPath Assign Output")
_RESULT = _fields("ResultPath Parameters ResultSelector Retry Catch Arguments")
_FIELDS: dict[str, set[str]] = {
    "Pass": _FLOW | _fields("ResultPath Parameters Result"),
    "Task": _FLOW
    | _RESULT
    | _fields(
        "Resource TimeoutSeconds TimeoutSecondsPath HeartbeatSeconds HeartbeatSecondsPath "
        "Credentials"
    ),
    "Choice": _fields("Choices Default InputPath OutputPath Assign Output"),
    "Wait": _FLOW | _fields("Seconds Timestamp SecondsPath TimestampPath"),
    "Succeed": _fields("InputPath OutputPath Output"),
    "Fail": _fields("Error Cause ErrorPath CausePath"),
    "Parallel": _FLOW | _RESULT | _fields("Branches"),
    "Map": _FLOW
    | _RESULT
    | _fields(
        "ItemsPath Items ItemSelector ItemProcessor Iterator MaxConcurrency MaxConcurrencyPath "
        "ToleratedFailureCount ToleratedFailureCountPath ToleratedFailurePercentage "
        "ToleratedFailurePercentagePath ItemReader ItemBatcher ResultWriter Label"
    )
    - {"Arguments"},
}
_JSONPATH_ONLY = _fields(
    "Result InputPath OutputPath ResultPath Parameters ResultSelector ItemsPath SecondsPath "
    "TimestampPath ErrorPath CausePath TimeoutSecondsPath HeartbeatSecondsPath "
    "MaxConcurrencyPath ToleratedFailureCountPath ToleratedFailurePercentagePath Iterator"
)
_JSONATA_ONLY = _fields("Arguments Output Items")
_UNSUPPORTED = {
    "ItemReader": "reading items from a bucket",
    "ResultWriter": "writing results to a bucket",
    "Credentials": "cross-account credentials",
}


def load_definition(source: str | bytes | Mapping[str, Any]) -> Definition:
    """Parse (JSON or YAML) and validate a definition; raises `DefinitionError`."""
    data = _parse_text(source) if isinstance(source, str | bytes) else source
    if not isinstance(data, Mapping):
        raise DefinitionError(["the definition must be an object with StartAt and States"])
    builder = _Builder()
    definition = builder.build(dict(data))
    if builder.problems:
        raise DefinitionError(builder.problems)
    return definition


def _parse_text(text: str | bytes) -> Json:
    try:
        return json.loads(text)
    except ValueError as json_error:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise DefinitionError(
                [f"the definition is neither JSON ({json_error}) nor YAML{where}: {exc}"]
            ) from exc


class _Builder:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.blocks: dict[str, Block] = {}
        self.language = JSONPATH

    def build(self, data: dict[str, Any]) -> Definition:
        self.language = data.get("QueryLanguage", JSONPATH)
        if self.language not in (JSONPATH, JSONATA):
            self.problem("field 'QueryLanguage' must be JSONPath or JSONata", self.language)
            self.language = JSONPATH
        extra = set(data) - {
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        }
        for name in sorted(extra):
            self.problems.append(f"unknown top-level field '{name}'")
        timeout = data.get("TimeoutSeconds")
        if timeout is not None and not (
            is_number(timeout) and float(timeout).is_integer() and timeout > 0
        ):
            self.problem("field 'TimeoutSeconds' must be a positive integer", timeout)
        self.block("", data, "", isolated=False)
        return Definition(self.blocks, data, timeout, self.language)

    def problem(self, message: str, value: Any = ..., state: str | None = None) -> None:
        where = f"state '{state}': " if state is not None else ""
        shown = "" if value is ... else f", was: {json.dumps(value)[:200]}"
        self.problems.append(f"{where}{message}{shown}")

    def block(self, block_id: str, data: Any, where: str, isolated: bool) -> None:
        prefix = f"{where}: " if where else ""
        if not isinstance(data, dict):
            self.problems.append(f"{prefix}must be an object with StartAt and States")
            return
        start, states = data.get("StartAt"), data.get("States")
        if not isinstance(states, dict) or not states:
            self.problems.append(f"{prefix}field 'States' must be a non-empty object")
            return
        if not isinstance(start, str):
            self.problems.append(f"{prefix}field 'StartAt' must name a state")
            return
        if start not in states:
            self.problems.append(f"{prefix}field 'StartAt': '{start}' is not a state")
        built: dict[str, State] = {}
        for name, spec in states.items():
            state = self.state(block_id, name, spec)
            if state is not None:
                built[name] = state
        self.blocks[block_id] = Block(block_id, start, built, isolated)
        self.transitions(start, built)

    def transitions(self, start: str, states: dict[str, State]) -> None:
        edges: dict[str, list[tuple[str, str]]] = {}
        for name, state in states.items():
            targets = []
            if state.next is not None:
                targets.append(("Next", state.next))
            if isinstance(state, ChoiceState):
                targets += [(f"Choices[{i}].Next", c.next) for i, c in enumerate(state.choices)]
                if state.default is not None:
                    targets.append(("Default", state.default))
            targets += [(f"Catch[{i}].Next", c.next) for i, c in enumerate(state.catch)]
            for field_name, target in targets:
                if target not in states:
                    self.problem(
                        f"field '{field_name}': '{target}' is not a state of this block", state=name
                    )
            edges[name] = targets
        seen, todo = {start}, [start]
        while todo:
            for _, target in edges.get(todo.pop(), []):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                self.problem(f"is unreachable from StartAt '{start}'", state=name)

    def state(self, block_id: str, name: str, spec: Any) -> State | None:
        if not isinstance(spec, dict):
            self.problem("must be an object", spec, state=name)
            return None
        kind = spec.get("Type")
        if kind not in _FIELDS:
            self.problem(f"field 'Type' must be one of {', '.join(_FIELDS)}", kind, state=name)
            return None
        language = spec.get("QueryLanguage", self.language)
        if language not in (JSONPATH, JSONATA):
            self.problem("field 'QueryLanguage' must be JSONPath or JSONata", language, state=name)
            language = self.language
        if self.language == JSONATA and language == JSONPATH:
            self.problem(
                "cannot use JSONPath when the state machine's QueryLanguage is JSONata", state=name
            )
        for field_name in sorted(set(spec) - _FIELDS[kind] - _COMMON):
            self.problem(f"field '{field_name}' is not allowed in a {kind} state", state=name)
        for field_name in sorted(set(spec) & set(_UNSUPPORTED)):
            self.problem(
                f"field '{field_name}' ({_UNSUPPORTED[field_name]}) is not supported by Yun",
                state=name,
            )
        wrong = _JSONPATH_ONLY if language == JSONATA else _JSONATA_ONLY
        for field_name in sorted(set(spec) & wrong):
            self.problem(f"field '{field_name}' is not allowed in a {language} state", state=name)
        return compile_state(self, block_id, name, spec, language)
