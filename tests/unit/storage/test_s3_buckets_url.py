"""`YUN_BUCKETS_URL` names the physical bucket, a prefix, the endpoint and the region."""

from __future__ import annotations

import pytest

from yun.core import InvalidRequest
from yun.storage import parse_buckets_url


def test_a_full_url_gives_bucket_prefix_endpoint_and_region() -> None:
    url = "s3://yun-data/prod/eu?endpoint=http://127.0.0.1:9000&region=eu-west-1"
    assert parse_buckets_url(url) == ("yun-data", "prod/eu", "http://127.0.0.1:9000",
                                      "eu-west-1")


def test_a_bare_bucket_uses_the_default_endpoint() -> None:
    assert parse_buckets_url("s3://yun-data") == ("yun-data", "", None, None)


@pytest.mark.parametrize("url", ["http://x/y", "s3:///prefix", "s3://b?endpont=http://x"])
def test_a_malformed_url_is_refused_naming_it(url: str) -> None:
    with pytest.raises(InvalidRequest, match="invalid YUN_BUCKETS_URL"):
        parse_buckets_url(url)
