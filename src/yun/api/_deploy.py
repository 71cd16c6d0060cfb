"""Deploying a bundle: validate, store the code, install dependencies, record a version."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from yun.core import ManifestError, Version
from yun.storage import CodeStore, LayerStore, unpack
from yun.store import Store

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Deployed:
    version: Version
    created: bool

    @property
    def message(self) -> str:
        name, number = self.version.function, self.version.number
        if self.created:
            return f"deployed {name} version {number}"
        return f"{name} is unchanged: identical to version {number}"


class Deployer:
    def __init__(self, store: Store, code: CodeStore, layers: LayerStore, staging: Path,
                 on_deployed: Callable[[str, Version], None]) -> None:
        self.store = store
        self.code = code
        self.layers = layers
        self.staging = staging
        self.on_deployed = on_deployed

    async def deploy(self, tenant: str, data: bytes, progress: Progress | None = None) -> Deployed:
        """Everything is checked before anything is stored: a bad bundle disturbs nothing."""
        say = progress or (lambda _line: None)
        self.staging.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="bundle-", dir=self.staging))
        try:
            say("checking the bundle")
            bundle = await asyncio.to_thread(unpack, data, staging / "code")
            _check_runtime(bundle.manifest.runtime)
            layer_hash = None
            if bundle.requirements is not None:
                say(f"installing {bundle.manifest.requirements}")
                layer_hash = await self.layers.ensure(bundle.requirements,
                                                      bundle.manifest.runtime, say)
            await asyncio.to_thread(self.code.commit, bundle)
            version, created = await self.store.create_version(
                tenant, bundle.manifest, bundle.code_hash, layer_hash, bundle.code_size)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.on_deployed(tenant, version)
        return Deployed(version, created)


NODE_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _check_runtime(runtime: str) -> None:
    # The zygote runs the node's own interpreter; a function built for another would fail
    # at import, or subtly later, so refuse it at deploy.
    if runtime != NODE_RUNTIME:
        raise ManifestError(f"runtime {runtime} is not available on this node "
                            f"(it runs {NODE_RUNTIME}) (yun.yaml)")
