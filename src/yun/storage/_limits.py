"""Bundle size limits: `pack` checks them early on the CLI, `unpack` enforces them."""

from __future__ import annotations

MAX_BUNDLE_BYTES = 50 << 20  # compressed upload, as Lambda's direct upload
MAX_UNPACKED_BYTES = 250 << 20  # unpacked code, as Lambda
MAX_FILES = 10_000  # entries in one bundle
# Checked before parsing: the deploy compiles and parses in the API process, and a 15 MB
# manifest or Python file costs tens of seconds of its CPU (much of it holding the GIL).
MAX_MANIFEST_BYTES = 64 << 10
MAX_SOURCE_BYTES = 2 << 20  # one .py file

MANIFEST_NAMES = ("yun.yaml", "yun.yml")


def mib(size: int) -> str:
    """`262144000` -> `250.0 MiB`, for messages that name a size."""
    return f"{size / (1 << 20):.1f} MiB"
