"""Deploying a bundle: validate, store the code, install dependencies, record a version."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from yun.core import Manifest, ManifestError, NotFound, Version
from yun.core.manifest import replace_triggers, triggers_as_dicts
from yun.gateway import QuotaBook, Refusal
from yun.storage import Bundle, CodeStore, LayerStore, unpack
from yun.store import Store, Tenant, TenantUsage

log = logging.getLogger("yun.api")

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
                 on_deployed: Callable[[str, Version], None],
                 quotas: QuotaBook | None = None,
                 check: Callable[[str, Manifest], None] = lambda _tenant, _manifest: None) -> None:
        """`check(tenant, manifest)` may refuse a deploy by raising (routes that clash)."""
        self.store = store
        self.check = check
        self.code = code
        self.layers = layers
        self.staging = staging
        self.on_deployed = on_deployed
        self.quotas = quotas or QuotaBook()

    async def deploy(self, tenant: str, data: bytes, progress: Progress | None = None) -> Deployed:
        """Everything is checked before anything is stored: a bad bundle disturbs nothing."""
        say = progress or (lambda _line: None)
        self.staging.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="bundle-", dir=self.staging))
        try:
            say("checking the bundle")
            bundle = await asyncio.to_thread(unpack, data, staging / "code")
            _check_runtime(bundle.manifest.runtime)
            self.check(tenant, bundle.manifest)
            await self._precheck(tenant, bundle)
            layer_hash = None
            if bundle.requirements is not None:
                say(f"installing {bundle.manifest.requirements}")
                layer_hash = await self.layers.ensure(bundle.requirements,
                                                      bundle.manifest.runtime, say)
            await asyncio.to_thread(self.code.commit, bundle)
            version, created = await self.store.create_version(
                tenant, bundle.manifest, bundle.code_hash, layer_hash, bundle.code_size,
                admit=lambda owner, after: self._admit(owner, after, bundle.code_size))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.on_deployed(tenant, version)
        return Deployed(version, created)

    async def edit_triggers(self, tenant: str, name: str,
                            edit: Callable[[list[dict[str, object]]], list[dict[str, object]]]
                            ) -> Deployed:
        """A new version of `name` with the same code and its triggers edited (`edit` gets and
        returns them in manifest form); checked like a deploy, so a bad trigger stores
        nothing."""
        latest = await self.store.latest_version(tenant, name)
        manifest = replace_triggers(latest.manifest, edit(triggers_as_dicts(latest.manifest)),
                                    f"the triggers of {name}")
        self.check(tenant, manifest)
        # Same code and layer, already stored by content hash: the version adds no bytes.
        version, created = await self.store.create_version(
            tenant, manifest, latest.code_hash, latest.layer_hash, 0,
            admit=lambda owner, after: self._admit(owner, after, 0))
        self.on_deployed(tenant, version)
        return Deployed(version, created)

    async def _precheck(self, tenant: str, bundle: Bundle) -> None:
        """Refuse an over-quota deploy before its requirements install (which can take
        minutes); the check inside the store transaction (`_admit`) is the exact one."""
        used = await self.store.tenant_usage(tenant)
        new, added = 0, bundle.code_size
        try:
            latest = await self.store.latest_version(tenant, bundle.manifest.name)
            if latest.code_hash == bundle.code_hash:
                added = 0  # likely an identical redeploy, which stores nothing
        except NotFound:
            new = 1
        self._refuse(tenant, self.quotas.check_deploy(
            tenant, used.functions + new, used.code_bytes + added, bundle.code_size))

    def _admit(self, owner: Tenant, after: TenantUsage, deploy_bytes: int) -> None:
        # The tenant row just read in the transaction: its quotas are the current ones.
        self.quotas.configure(owner.name, owner.quotas)
        self._refuse(owner.name, self.quotas.check_deploy(
            owner.name, after.functions, after.code_bytes, deploy_bytes))

    @staticmethod
    def _refuse(tenant: str, refusal: Refusal | None) -> None:
        if refusal is not None:
            # The record of a refused deploy is this log line; the caller gets the message.
            log.info("deploy refused for tenant %s: %s", tenant, refusal.message)
            raise refusal.error()


NODE_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _check_runtime(runtime: str) -> None:
    # The zygote runs the node's own interpreter; a function built for another would fail
    # at import, or subtly later, so refuse it at deploy.
    if runtime != NODE_RUNTIME:
        raise ManifestError(f"runtime {runtime} is not available on this node "
                            f"(it runs {NODE_RUNTIME}) (yun.yaml)")
