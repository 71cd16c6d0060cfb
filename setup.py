"""The C part of Yun; everything else is in pyproject.toml.

`yun.gateway._plain` reads a plain call and writes its answer in C (the Python references are
`gateway._protocol.parse_plain` and `plain_answer`). Where it is not built (a source tree on
`PYTHONPATH`), the gateway uses the Python ones.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("yun.gateway._plain", ["src/yun/gateway/_plain.c"])])
