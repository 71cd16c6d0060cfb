"""How an invocation's outcome becomes the interpreter's TaskSucceeded or TaskFailed.

Pure: the runner calls these with what the invoke path answered. Errors are named the way
AWS Lambda names them, so definitions written for Step Functions retry and catch the same
things:

| outcome | error | retriable by the platform |
|---|---|---|
| the handler raised `E` | `E` (its class name) | no: user code |
| the handler ran past its timeout | `States.Timeout` | no |
| out of memory | `Runtime.OutOfMemory` | no |
| the instance died (exit, signal, init failure) | `Runtime.ExitError` | no |
| throttled (quota, buffers full) | `Lambda.TooManyRequestsException` | yes, first by the runner |
| the function (or alias) does not exist | `Lambda.ResourceNotFoundException` | no |
| the tenant is disabled or the key revoked | `Lambda.AccessDeniedException` | no |
| the platform failed | `Lambda.ServiceException` | yes |

A function error's cause is the JSON text AWS's Python runtime gives:
`{"errorMessage", "errorType", "requestId", "stackTrace"}`.
"""

from __future__ import annotations

import json
from typing import Protocol

from yun.core import Forbidden, InvalidRequest, NotFound, RateLimited, Status, Unauthorized
from yun.core.errors import YunError
from yun.flows._json import Json, dumps
from yun.flows._protocol import TaskFailed, TaskSucceeded

TOO_MANY_REQUESTS = "Lambda.TooManyRequestsException"
NOT_FOUND = "Lambda.ResourceNotFoundException"
ACCESS_DENIED = "Lambda.AccessDeniedException"
SERVICE = "Lambda.ServiceException"
TIMEOUT = "States.Timeout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
EXIT_ERROR = "Runtime.ExitError"


class Outcome(Protocol):
    """What the node agent answered (`yun.node.Outcome` fits)."""

    @property
    def status(self) -> Status: ...
    @property
    def body(self) -> bytes: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def traceback(self) -> str | None: ...


def task_event(token: str, outcome: Outcome, request_id: str) -> TaskSucceeded | TaskFailed:
    """The event for an invocation that ran (or was refused by a quota or a full buffer)."""
    if outcome.status == Status.SUCCESS:
        return TaskSucceeded(token, result_of(outcome.body))
    message = outcome.error_message or ""
    if outcome.status == Status.ERROR:
        error = outcome.error_type or "Exception"
        return TaskFailed(token, error, _cause(error, message, request_id, outcome.traceback))
    if outcome.status == Status.THROTTLED:
        error = TOO_MANY_REQUESTS
    elif outcome.status == Status.TIMEOUT:
        error = TIMEOUT
    elif outcome.status == Status.OOM:
        error = OUT_OF_MEMORY
    elif outcome.error_type == "PlatformError":
        error = SERVICE  # the node could not start an instance: ours, not the function's
    else:
        error = EXIT_ERROR
    return TaskFailed(token, error, _cause(error, message, request_id, None))


def error_event(token: str, function: str, exc: YunError, request_id: str) -> TaskFailed:
    """The event for an invocation the invoke path refused before it ran."""
    if isinstance(exc, NotFound | InvalidRequest):
        # A name that cannot be a function (bad characters, bad qualifier) names none.
        return TaskFailed(
            token,
            NOT_FOUND,
            f"Function not found: {function} (Service: Yun; Status Code: 404; Error Code: "
            f"ResourceNotFoundException; Request ID: {request_id}): {exc.message}",
        )
    if isinstance(exc, RateLimited):
        return TaskFailed(token, TOO_MANY_REQUESTS, _cause(TOO_MANY_REQUESTS, exc.message,
                                                           request_id, None))  # fmt: skip
    if isinstance(exc, Forbidden | Unauthorized):
        return TaskFailed(token, ACCESS_DENIED, _cause(ACCESS_DENIED, exc.message, request_id,
                                                       None))  # fmt: skip
    return TaskFailed(token, SERVICE, _cause(SERVICE, exc.message, request_id, None))


def result_of(body: bytes) -> Json:
    """A function's JSON answer as a value; a non-JSON body (a handler that returned a whole
    HTTP response with a text body) becomes a string."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _cause(error: str, message: str, request_id: str, traceback: str | None) -> str:
    stack = [line + "\n" for line in traceback.rstrip("\n").split("\n")] if traceback else []
    return dumps({"errorMessage": message, "errorType": error, "requestId": request_id,
                  "stackTrace": stack})  # fmt: skip
