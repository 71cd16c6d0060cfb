"""The code that runs inside a sandbox: zygote, template and instance.

Imports only the standard library, msgspec and `yun.protocol`; never the rest of Yun.
"""

from yun.runtime._context import Context, current

__all__ = ["Context", "current"]
