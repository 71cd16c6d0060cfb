"""Scaling decisions as pure code: (samples, policy, now) → desired instances and what to reap.

`Scaler` is one function version's state: a Knative-KPA-style `Autoscaler` (stable and panic
windows over the recorded load) composed with a keep-alive policy (`fixed`, or the `hybrid`
idle-time histogram of "Serverless in the Wild"). `function_policy` maps a function's
`scale` section to its `Policy`.
"""

from yun.autoscaler._hybrid import HistogramSettings, HybridKeepAlive
from yun.autoscaler._keepalive import FixedKeepAlive, IdlePlan, KeepAlive
from yun.autoscaler._kpa import Autoscaler, ScaleDecision
from yun.autoscaler._policy import KeepAliveKind, Metric, Policy, function_policy
from yun.autoscaler._scaler import Scaler, keep_alive_for
from yun.autoscaler._window import Window

__all__ = [
    "Autoscaler",
    "FixedKeepAlive",
    "HistogramSettings",
    "HybridKeepAlive",
    "IdlePlan",
    "KeepAlive",
    "KeepAliveKind",
    "Metric",
    "Policy",
    "ScaleDecision",
    "Scaler",
    "Window",
    "function_policy",
    "keep_alive_for",
]
