"""`yun bucket mb|ls|cp|rm|rb`: buckets and objects of this key's tenant.

Objects are named `yun://BUCKET/KEY`; `cp` copies between such a name and a local file, or
`-` for stdin/stdout, streaming both ways.
"""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.table import Table

from yun.cli import _session
from yun.cli._console import echo, out, when

app = typer.Typer(help="Buckets and objects: mb, ls, cp, rm, rb.", no_args_is_help=True)

SCHEME = "yun://"
_CHUNK = 256 << 10


def parse_object_url(text: str) -> tuple[str, str]:
    """`yun://bucket/key` (or `bucket/key` where a bucket is expected) -> (bucket, key);
    the key may be empty."""
    bucket, _, key = text.removeprefix(SCHEME).partition("/")
    if not bucket:
        raise typer.BadParameter(f"expected yun://BUCKET[/KEY], was: {text!r}")
    return bucket, key


@app.command("mb")
def make_bucket(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Make a bucket."""
    bucket, _ = parse_object_url(name)
    with _session.client(ctx) as client:
        client.create_bucket(bucket)
    echo(f"made bucket {bucket}")


@app.command("ls")
def list_(
    ctx: typer.Context,
    where: Annotated[str | None, typer.Argument(metavar="[NAME[/PREFIX]]")] = None,
    recursive: Annotated[bool, typer.Option(
        "--recursive", "-r", help="Every key under the prefix, not folder by folder.")] = False,
) -> None:  # fmt: skip
    """List buckets, or the objects of one (keys up to the next '/' unless -r)."""
    with _session.client(ctx) as client:
        if where is None:
            table = Table("bucket", "created", box=None)
            for found in client.buckets():
                table.add_row(str(found.get("name")), when(found.get("created")))
            out().print(table)
            return
        bucket, prefix = parse_object_url(where)
        table = Table("modified", "size", "key", box=None)
        token: str | None = None
        while True:
            page = client.objects(bucket, prefix, "" if recursive else "/", token=token)
            for folder in page.get("prefixes") or []:
                table.add_row("", "DIR", str(folder))
            for item in page.get("objects") or []:
                table.add_row(when(item.get("modified")), str(item.get("size")),
                              str(item.get("key")))  # fmt: skip
            token = page.get("next_token")
            if not token:
                break
    out().print(table)


@app.command("cp")
def copy(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC")],
    destination: Annotated[str, typer.Argument(metavar="DST")],
    content_type: Annotated[str | None, typer.Option(
        "--content-type", help="Stored with the object (default: guessed from the name).")
    ] = None,
) -> None:  # fmt: skip
    """Copy a local file (or - for stdin) to yun://BUCKET/KEY, or an object to a local file
    (or - for stdout). A destination ending in '/' takes the source's name."""
    up, down = destination.startswith(SCHEME), source.startswith(SCHEME)
    if up == down:
        raise typer.BadParameter("exactly one of SRC and DST must be yun://BUCKET/KEY")
    with _session.client(ctx) as client:
        if up:
            bucket, key = parse_object_url(destination)
            if not key or key.endswith("/"):
                if source == "-":
                    raise typer.BadParameter("name the key when copying from stdin")
                key += Path(source).name
            kind = content_type or mimetypes.guess_type(key)[0]
            if source == "-":
                put = client.put_object(bucket, key, _chunks(sys.stdin.buffer), kind)
            else:
                with _open_source(source) as handle:
                    put = client.put_object(bucket, key, handle, kind)
            echo(f"{source} -> yun://{bucket}/{key} ({put.get('size')} bytes)", stderr=True)
            return
        bucket, key = parse_object_url(source)
        if not key:
            raise typer.BadParameter(f"name the object to copy: yun://{bucket}/KEY")
        if destination == "-":
            client.get_object(bucket, key, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        target = Path(destination)
        if target.is_dir() or destination.endswith("/"):
            target = target / key.rpartition("/")[2]
        partial = target.with_name(f".{target.name}.part")
        try:
            with open(partial, "wb") as handle:
                client.get_object(bucket, key, handle)
            partial.replace(target)  # a failed download leaves no half file under the name
        finally:
            partial.unlink(missing_ok=True)
        echo(f"yun://{bucket}/{key} -> {target}", stderr=True)


@app.command("rm")
def remove(ctx: typer.Context,
           target: Annotated[str, typer.Argument(metavar="yun://BUCKET/KEY")]) -> None:
    """Delete an object."""
    bucket, key = parse_object_url(target)
    if not key:
        raise typer.BadParameter(f"name the object: yun://{bucket}/KEY (use rb for a bucket)")
    with _session.client(ctx) as client:
        client.delete_object(bucket, key)
    echo(f"deleted yun://{bucket}/{key}")


@app.command("rb")
def remove_bucket(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME")],
    force: Annotated[bool, typer.Option(
        "--force", help="Delete the objects in it as well.")] = False,
) -> None:  # fmt: skip
    """Delete a bucket (it must be empty, unless --force)."""
    bucket, _ = parse_object_url(name)
    with _session.client(ctx) as client:
        client.delete_bucket(bucket, force)
    echo(f"deleted bucket {bucket}")


def _open_source(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path!r}: {exc.strerror}") from None


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk
