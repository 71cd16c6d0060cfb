"""The C part of Yun; everything else is in pyproject.toml.

`yun.gateway._plain` is the gateway's reader of a plain call (`gateway._protocol.parse_plain`
in C). Where it is not built (a source tree on `PYTHONPATH`), the gateway reads with the
Python one.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("yun.gateway._plain", ["src/yun/gateway/_plain.c"])])
