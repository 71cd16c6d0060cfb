"""Isolation tiers behind one interface. `process`: fork from a zygote into namespaces+cgroups;
`runsc`: a gVisor sandbox per instance."""

from yun.sandbox._cgroups import Cgroup, CgroupTree, Limits
from yun.sandbox._process import ProcessSandbox, Template, discard_cgroup
from yun.sandbox._runsc import runsc_path
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
    "runsc_path",
]
