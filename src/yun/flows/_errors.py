"""Errors of the flows engine: a definition that cannot run, and a state that failed.

`DefinitionError` is raised at deploy time and is an `InvalidRequest` (never retried); each
problem names the state and the field. `StatesFailure` travels inside the interpreter: it is
the (error, cause) pair a state fails with, routed to Retry/Catch or ending the execution.
"""

from __future__ import annotations

from collections.abc import Sequence

from yun.core.errors import InvalidRequest

# Predefined error names (Amazon States Language, "Errors").
ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
BRANCH_FAILED = "States.BranchFailed"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
PERMISSIONS = "States.Permissions"

# Neither retried nor caught, not even by States.ALL: they end the execution.
TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class DefinitionError(InvalidRequest):
    """A state machine definition is invalid. `problems` lists each one separately."""

    code = "InvalidDefinition"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        head = "invalid state machine definition"
        super().__init__(f"{head}: " + "; ".join(self.problems))


class StatesFailure(Exception):
    """A state failed with `error` and `cause` (either may be None, as with a bare Fail)."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class EvaluationError(Exception):
    """An expression could not be evaluated; the interpreter adds the state and event id.

    `error` is the States.* name to fail with; `message` is the part of the cause after
    "An error occurred while executing the state 'X' (entered at the event id #N).".
    """

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
