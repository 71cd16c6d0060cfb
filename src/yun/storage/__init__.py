"""Code bundles and dependency layers.

The CLI `pack`s a function into a zip; the server `unpack`s and checks it without running it,
`CodeStore` keeps checked code read-only by content hash, and `LayerStore` pip-installs each
distinct requirements file once.

Buckets: one `Buckets` contract, two backends (`LocalBuckets` in a folder, `S3Buckets` on any
S3-compatible store).
"""

from yun.storage._buckets import (
    MAX_OBJECT_BYTES,
    BucketInfo,
    Buckets,
    Listing,
    ObjectEvent,
    ObjectInfo,
    OnEvent,
    Origin,
)
from yun.storage._bundle import Bundle, unpack
from yun.storage._code_store import CodeStore
from yun.storage._layers import LayerStore
from yun.storage._limits import MAX_BUNDLE_BYTES, MAX_FILES, MAX_UNPACKED_BYTES
from yun.storage._local_buckets import LocalBuckets
from yun.storage._object_names import check_bucket_name, check_key
from yun.storage._pack import pack
from yun.storage._results import ResultWriter, parse_bucket_destination
from yun.storage._s3_buckets import S3Buckets, parse_buckets_url
from yun.storage._s3_notifications import Notified, parse_notification

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_FILES",
    "MAX_OBJECT_BYTES",
    "MAX_UNPACKED_BYTES",
    "BucketInfo",
    "Buckets",
    "Bundle",
    "CodeStore",
    "LayerStore",
    "Listing",
    "LocalBuckets",
    "Notified",
    "ObjectEvent",
    "ObjectInfo",
    "OnEvent",
    "Origin",
    "ResultWriter",
    "S3Buckets",
    "check_bucket_name",
    "check_key",
    "pack",
    "parse_bucket_destination",
    "parse_buckets_url",
    "parse_notification",
    "unpack",
]
