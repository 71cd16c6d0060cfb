"""Input and output processing: InputPath → Parameters → (work) → ResultSelector →
ResultPath → OutputPath for JSONPath states; Arguments → (work) → Output for JSONata ones;
Assign for both. Pure functions of the state, the values and an `Env`.
"""

from __future__ import annotations

import contextlib
import json

from yun.flows._errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, EvaluationError, StatesFailure
from yun.flows._json import Json, dumps, is_number, text_of
from yun.flows._jsonpath import JsonPath, PathNotFound
from yun.flows._states import State
from yun.flows._templates import Env, Template


def effective_input(state: State, env: Env) -> Json:
    """JSONPath: InputPath applied to the raw input (`null` gives `{}`)."""
    if state.input_path is None:
        return {}
    return env.lookup(state.input_path, "InputPath")


def payload(state: State, env: Env) -> Json:
    """What the state works on: Arguments (JSONata) or InputPath + Parameters (JSONPath)."""
    if state.jsonata:
        raw = env.states["input"]
        return state.arguments.evaluate(env) if state.arguments is not None else raw
    effective = effective_input(state, env)
    if state.parameters is None:
        return effective
    return state.parameters.evaluate(env.with_data(effective))


def put_result(path: JsonPath | None, raw_input: Json, result: Json) -> Json:
    """ResultPath: where the result goes in the raw input (`null` keeps the input as is)."""
    if path is None:
        return raw_input
    try:
        return path.put(raw_input, result)
    except PathNotFound:
        raise EvaluationError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ResultPath '{path.text}' to input '{dumps(raw_input)}'",
        ) from None


def output_path(state: State, value: Json, env: Env) -> Json:
    if state.output_path is None:
        return {}
    return env.with_data(value).lookup(state.output_path, "OutputPath")


def finish_result(state: State, env: Env, result: Json) -> tuple[Json, dict[str, Json] | None]:
    """The state's output and assigned variables, given its result (Task, Map, Parallel)."""
    if state.jsonata:
        env.states["result"] = result
        output = state.output.evaluate(env) if state.output is not None else result
        return output, assign(state.assign, env)
    selected = result
    if state.result_selector is not None:
        selected = state.result_selector.evaluate(env.with_data(result))
    assigned = assign(state.assign, env.with_data(selected))
    combined = put_result(state.result_path, env.states["input"], selected)
    return output_path(state, combined, env), assigned


def assign(template: Template | None, env: Env) -> dict[str, Json] | None:
    """Evaluate an Assign block; the variables take effect when the state ends."""
    if template is None:
        return None
    values = template.evaluate(env)
    if not isinstance(values, dict):
        raise EvaluationError(RUNTIME, f"Assign must evaluate to an object, was: {dumps(values)}")
    if "states" in values:
        raise EvaluationError(RUNTIME, "'states' is reserved and cannot be assigned")
    return values


def integer_setting(
    env: Env,
    template: Template | None,
    path: JsonPath | None,
    field: str,
    floating: bool = False,
) -> float | None:
    """MaxConcurrency, ToleratedFailure*, TimeoutSeconds: a literal, JSONata or a path."""
    if template is not None:
        value = template.evaluate(env)
        if not is_number(value) or (not floating and not float(value).is_integer()):
            kind = "number" if floating else "integer"
            raise EvaluationError(
                RUNTIME, f"The {field} field must be an {kind}, was: {dumps(value)}"
            )
        return float(value)
    if path is None:
        return None
    try:
        value = env.find(path)
    except PathNotFound:
        raise EvaluationError(
            RUNTIME, f"The {field}Path field references a value that does not exist: {path.text}"
        ) from None
    if isinstance(value, str) and floating:
        with contextlib.suppress(ValueError):
            value = float(value)
    valid = is_number(value) and (floating or float(value).is_integer())
    if not valid:
        kind = "float" if floating else "integer"
        raise EvaluationError(
            RUNTIME,
            f'The {field}Path field refers to value "{text_of(value)}" which is not a valid '
            f"{kind}: {path.text}",
        )
    return float(value)


def lambda_payload(body: Json) -> Json:
    """lambda:invoke's Payload: a string is sent as raw bytes, so JSON text arrives parsed."""
    if not isinstance(body, str):
        return body
    try:
        return json.loads(body)
    except ValueError:
        raise StatesFailure(
            "Lambda.InvalidRequestContentException",
            f"Could not parse request body into json: {body[:200]!r}",
        ) from None
