"""Code bundles and dependency layers.

The CLI `pack`s a function into a zip; the server `unpack`s and checks it without running it,
`CodeStore` keeps checked code read-only by content hash, and `LayerStore` pip-installs each
distinct requirements file once.
"""

from yun.storage._bundle import Bundle, unpack
from yun.storage._code_store import CodeStore
from yun.storage._layers import LayerStore
from yun.storage._limits import MAX_BUNDLE_BYTES, MAX_FILES, MAX_UNPACKED_BYTES
from yun.storage._pack import pack

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_FILES",
    "MAX_UNPACKED_BYTES",
    "Bundle",
    "CodeStore",
    "LayerStore",
    "pack",
    "unpack",
]
