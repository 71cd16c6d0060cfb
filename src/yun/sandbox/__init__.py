"""Isolation tiers behind one interface. `process`: fork from a zygote into namespaces+cgroups;
`runsc`: a gVisor sandbox per instance."""

from yun.sandbox._cgroups import Cgroup, CgroupTree, Limits, discard_cgroup
from yun.sandbox._process import ProcessSandbox, Template
from yun.sandbox._types import InitError, SandboxInstance, SandboxTemplate, TemplateSpec

__all__ = [
    "Cgroup",
    "CgroupTree",
    "InitError",
    "Limits",
    "ProcessSandbox",
    "SandboxInstance",
    "SandboxTemplate",
    "Template",
    "TemplateSpec",
    "discard_cgroup",
]
