"""Scaling decisions as pure code: (load, policy, now) → desired instances and what to reap."""

from yun.autoscaler._decide import Decision, InstanceView, Policy, decide, desired_instances

__all__ = ["Decision", "InstanceView", "Policy", "decide", "desired_instances"]
