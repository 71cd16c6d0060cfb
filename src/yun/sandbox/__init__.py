"""Isolation tiers behind one interface. `process`: fork from a zygote into namespaces+cgroups."""

from yun.sandbox._cgroups import Cgroup, CgroupTree, Limits
from yun.sandbox._process import ProcessSandbox, Template, discard_cgroup
from yun.sandbox._types import InitError, SandboxInstance, TemplateSpec

__all__ = [
    "Cgroup",
    "CgroupTree",
    "InitError",
    "Limits",
    "ProcessSandbox",
    "SandboxInstance",
    "Template",
    "TemplateSpec",
    "discard_cgroup",
]
