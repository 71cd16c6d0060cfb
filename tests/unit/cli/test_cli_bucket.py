"""`yun bucket mb|ls|cp|rm|rb`: what each sends, and what it writes where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx


def test_mb_creates_the_named_bucket(yun_api: Any) -> None:
    yun_api.answers({"name": "uploads", "created": 1.7e9}, 201)
    result = yun_api.run("bucket", "mb", "uploads")
    assert result.exit_code == 0, result.output
    assert yun_api.last.method == "POST" and yun_api.last.url.path == "/v1/buckets"
    assert json.loads(yun_api.last.content) == {"name": "uploads"}
    assert "made bucket uploads" in result.stdout


def test_ls_without_a_name_lists_buckets(yun_api: Any) -> None:
    yun_api.answers({"buckets": [{"name": "uploads", "created": 1.7e9}]})
    result = yun_api.run("bucket", "ls")
    assert result.exit_code == 0, result.output
    assert "uploads" in result.stdout.splitlines()[1]


def test_ls_of_a_prefix_follows_every_page(yun_api: Any) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        if "token" not in request.url.params:
            return httpx.Response(200, json={"objects": [{"key": "img/a.jpg", "size": 3}],
                                             "prefixes": ["img/raw/"], "next_token": "t1"})
        return httpx.Response(200, json={"objects": [{"key": "img/b.jpg", "size": 4}],
                                         "prefixes": [], "next_token": None})

    result = yun_api.handles(pages).run("bucket", "ls", "yun://uploads/img/")
    assert result.exit_code == 0, result.output
    first = yun_api.requests[0].url.params
    assert (first["prefix"], first["delimiter"]) == ("img/", "/")
    assert [line.split()[-1] for line in result.stdout.splitlines()[1:]] == [
        "img/raw/", "img/a.jpg", "img/b.jpg"]


def test_cp_of_a_file_into_a_bucket_folder_keeps_its_name_and_type(
        yun_api: Any, tmp_path: Path) -> None:
    (tmp_path / "cat.jpg").write_bytes(b"meow")
    yun_api.answers({"key": "images/cat.jpg", "size": 4}, 201)
    result = yun_api.run("bucket", "cp", "cat.jpg", "yun://uploads/images/")
    assert result.exit_code == 0, result.output
    sent = yun_api.last
    assert sent.method == "PUT" and sent.url.path == "/v1/buckets/uploads/objects/images/cat.jpg"
    assert sent.content == b"meow" and sent.headers["content-type"] == "image/jpeg"


def test_cp_from_stdin_streams_it_to_the_key(yun_api: Any) -> None:
    yun_api.answers({"key": "k", "size": 5}, 201)
    result = yun_api.run("bucket", "cp", "-", "yun://uploads/notes/k", input="hello")
    assert result.exit_code == 0, result.output
    assert yun_api.last.content == b"hello"
    assert yun_api.last.url.path == "/v1/buckets/uploads/objects/notes/k"


def test_cp_to_stdout_writes_the_bytes_only(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(200, content=b"\x00binary\xff"))
    result = yun_api.run("bucket", "cp", "yun://uploads/a/b.bin", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"\x00binary\xff"


def test_cp_into_a_folder_names_the_file_after_the_key(yun_api: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    yun_api.handles(lambda request: httpx.Response(200, content=b"data"))
    result = yun_api.run("bucket", "cp", "yun://uploads/a/b.txt", "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"data"


def test_a_missing_object_is_an_error_and_leaves_no_file(yun_api: Any, tmp_path: Path) -> None:
    yun_api.fails(404, "NotFound", "object 'nope' not found in bucket 'uploads'")
    result = yun_api.run("bucket", "cp", "yun://uploads/nope", "got.txt")
    assert result.exit_code == 1
    assert "object 'nope' not found" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cp_needs_exactly_one_bucket_side(yun_api: Any) -> None:
    result = yun_api.run("bucket", "cp", "a.txt", "b.txt")
    assert result.exit_code == 2 and "exactly one of SRC and DST" in result.output


def test_rm_deletes_the_object_and_rb_the_bucket_with_force(yun_api: Any) -> None:
    yun_api.handles(lambda request: httpx.Response(204))
    assert yun_api.run("bucket", "rm", "yun://uploads/a/b.txt").exit_code == 0
    assert yun_api.last.method == "DELETE"
    assert yun_api.last.url.path == "/v1/buckets/uploads/objects/a/b.txt"
    assert yun_api.run("bucket", "rb", "uploads", "--force").exit_code == 0
    assert yun_api.last.url.path == "/v1/buckets/uploads"
    assert yun_api.last.url.params["force"] == "true"


def test_rm_of_a_bucket_name_alone_points_to_rb(yun_api: Any) -> None:
    result = yun_api.run("bucket", "rm", "yun://uploads")
    assert result.exit_code == 2 and "use rb" in result.output
