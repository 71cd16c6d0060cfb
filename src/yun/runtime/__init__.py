"""The code that runs inside a sandbox: zygote, template and instance.

Imports only the standard library, msgspec and `yun.protocol`; never the rest of Yun.
"""

from yun.runtime._context import Context, current
from yun.runtime._host import HostError, NotFound

__all__ = ["Context", "HostError", "NotFound", "current"]
