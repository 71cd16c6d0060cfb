"""The node agent: owns the instances on one machine and serves invocations on them."""

from yun.node._agent import NodeAgent
from yun.node._host import HostHandler, HostRequest
from yun.node._memory import Admission, available_mb
from yun.node._outcome import Outcome, has_body, throttled
from yun.node._pool import PoolStatus, VersionPool

__all__ = [
    "Admission",
    "HostHandler",
    "HostRequest",
    "NodeAgent",
    "Outcome",
    "PoolStatus",
    "VersionPool",
    "available_mb",
    "has_body",
    "throttled",
]
