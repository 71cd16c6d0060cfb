"""Dependency layers: a function's requirements, pip-installed once per (runtime, requirements).

`<root>/<layer_hash>/` is a `pip install --target` folder that instances put on `sys.path`.
Functions with the same requirements share one layer, so it is installed once and read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from yun.core.errors import DependencyError, PlatformError
from yun.storage._code_store import check_hash
from yun.storage._fs import make_read_only, remove_tree

Progress = Callable[[str], None]

MARKER = ".yun-layer.json"  # written last, inside the layer: present means complete
_TAIL_LINES = 15  # of pip's output, kept for the error message
_LINE_LIMIT = 1 << 20  # longest output line read whole; longer ones are cut
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's own rule: `#` at the start or after whitespace


def normalise_requirements(requirements: bytes) -> str:
    """The requirements as pip reads them, minus what cannot change the result.

    Continuation lines joined, comments and blank lines dropped, whitespace trimmed, lines
    sorted and deduplicated: reordering or commenting a requirements file reuses its layer.
    """
    try:
        text = requirements.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DependencyError(f"requirements file is not UTF-8 text: {e}") from e
    text = re.sub(r"\\\r?\n", "", text)
    lines = {_COMMENT.sub("", line).strip() for line in text.splitlines()}
    lines.discard("")
    return "".join(f"{line}\n" for line in sorted(lines))


class _Slot:
    """The lock for one layer hash, and how many `ensure` calls hold or wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class LayerStore:
    """Installs and caches dependency layers. `extra_pip_args` go before `--target`.

    Operators can pass e.g. `--only-binary=:all:` so no sdist's setup.py ever runs on the
    server, or `--index-url ...`; tests pass `--no-index` to stay off the network.
    """

    def __init__(
        self,
        root: Path,
        python: str = sys.executable,
        *,
        extra_pip_args: Sequence[str] = (),
        timeout: float = 600.0,
    ) -> None:
        self.root = Path(root)
        self.python = python
        self.extra_pip_args = tuple(extra_pip_args)
        self.timeout = timeout
        self._slots: dict[str, _Slot] = {}  # only hashes being ensured: bounded by callers

    def layer_hash(self, requirements: bytes, runtime: str) -> str:
        """sha256 of the runtime and the normalised requirements."""
        return _hash(normalise_requirements(requirements), runtime)

    def path(self, layer_hash: str) -> Path:
        return self.root / check_hash(layer_hash)

    async def ensure(
        self, requirements: bytes, runtime: str, progress: Progress | None = None
    ) -> str:
        """Install the layer unless it is cached; return its hash. Pip's output goes to `progress`.

        Concurrent calls for one layer install it once: the others wait, then find it cached.
        Raises DependencyError with the tail of pip's output if pip fails or runs past
        `timeout`; nothing is left behind then.
        """
        say = progress or _quiet
        text = normalise_requirements(requirements)
        layer = _hash(text, runtime)
        slot = self._slots.setdefault(layer, _Slot())
        slot.users += 1
        try:
            async with slot.lock:
                if (self.path(layer) / MARKER).is_file():
                    say(f"using cached dependency layer {layer[:12]}")
                else:
                    await self._install(layer, text, runtime, say)
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[layer]
        return layer

    async def _install(self, layer: str, text: str, runtime: str, say: Progress) -> None:
        final = self.path(layer)
        await asyncio.to_thread(remove_tree, final)  # a folder without marker is not ours to trust
        self.root.mkdir(parents=True, exist_ok=True)
        # Siblings of `final`, so the last step is one rename within the same folder.
        target = Path(tempfile.mkdtemp(prefix=f".tmp-{layer[:12]}-", dir=self.root))
        listing = target.with_name(f"{target.name}.txt")
        try:
            if text:
                listing.write_text(text, encoding="utf-8")
                await self._pip(target, listing, say)
            else:  # nothing to install: pip would only spend a second saying so
                say("no requirements to install; the dependency layer is empty")
            marker = {"runtime": runtime, "requirements": text}
            (target / MARKER).write_text(json.dumps(marker), encoding="utf-8")
            await asyncio.to_thread(make_read_only, target)
            try:
                os.rename(target, final)
            except OSError:
                if not (final / MARKER).is_file():
                    raise
                # Another server process sharing this folder installed it first.
            say(f"installed dependency layer {layer[:12]}")
        finally:
            await asyncio.to_thread(remove_tree, target)
            listing.unlink(missing_ok=True)

    async def _pip(self, target: Path, listing: Path, say: Progress) -> None:
        argv = [
            self.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            *self.extra_pip_args, "--target", str(target), "-r", str(listing),
        ]  # fmt: skip
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.root,  # so a relative path in the requirements reaches nothing of ours
                start_new_session=True,  # its own process group, so a kill reaches pip's children
                limit=_LINE_LIMIT,
            )
        except OSError as e:
            raise PlatformError(f"cannot run {self.python} -m pip: {e}") from e
        tail: deque[str] = deque(maxlen=_TAIL_LINES)
        try:
            async with asyncio.timeout(self.timeout):
                await _stream(process, tail, say)
                code = await process.wait()
        except TimeoutError:
            lines = "\n".join(tail)
            message = f"installing requirements timed out after {self.timeout:g}s:\n{lines}"
            raise DependencyError(message) from None
        finally:
            if process.returncode is None:  # timed out or cancelled: pip must not run on
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if code != 0:
            lines = "\n".join(tail)
            raise DependencyError(f"installing requirements failed (exit {code}):\n{lines}")


async def _stream(process: asyncio.subprocess.Process, tail: deque[str], say: Progress) -> None:
    """Pass each line of the process's output to `say`, keeping the last few in `tail`."""
    assert process.stdout is not None
    while True:
        try:
            raw = await process.stdout.readline()
        except ValueError:  # longer than _LINE_LIMIT; the reader has dropped what it held
            raw = b"[output line too long to show]\n"
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line:
            tail.append(line)
            say(line)


def _hash(normalised: str, runtime: str) -> str:
    return hashlib.sha256(f"{runtime}\n{normalised}".encode()).hexdigest()


def _quiet(_line: str) -> None:
    pass
