"""The code that runs inside a sandbox: zygote, template and instance.

Imports only the standard library, msgspec and `yun.protocol`; never the rest of Yun.
"""
