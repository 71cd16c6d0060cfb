"""The queue in NATS JetStream: a work-queue stream (a message is removed when acked), one
durable pull consumer with explicit acks, `ack_wait` as the lease and `max_deliver` as a
ceiling. Subjects are `STREAM.TENANT.TARGET`, so depth per function is a subject count.
Idempotency keys live in a key-value bucket whose TTL is the dedupe window."""

from __future__ import annotations

import hashlib
import time

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from yun.core import PlatformError
from yun.queue._sql import DEDUPE_WINDOW
from yun.queue._types import Job, Lease

# Deliveries of one job before JetStream stops offering it. The dispatcher ends a job far
# sooner (retries + 1 attempts; throttled and capacity hand-backs do not count), so this
# only guards against a job that somehow keeps coming back.
MAX_DELIVER = 1000
POLL_SECONDS = 0.2


class NatsQueue:
    def __init__(self, nc: Client, js: JetStreamContext, stream: str, kv: KeyValue,
                 ack_wait: float) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._kv = kv
        self._ack_wait = ack_wait
        self._sub: JetStreamContext.PullSubscription | None = None
        # token (reply subject) → the message and its lease's end; a lease its holder
        # dropped without done/retry is forgotten once well past its end.
        self._leased: dict[str, tuple[Msg, float]] = {}

    @classmethod
    async def open(cls, url: str, *, stream: str = "yun-async", ack_wait: float = 10.0,
                   dedupe_window: float = DEDUPE_WINDOW) -> NatsQueue:
        """Connect and create (or adopt) the stream, its consumer and the dedupe bucket."""
        try:
            nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
        except (OSError, nats.errors.Error) as e:
            raise PlatformError(f"cannot connect to NATS at {url}: {e}") from e
        js = nc.jetstream()
        config = StreamConfig(name=stream, subjects=[f"{stream}.>"],
                              retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
                              duplicate_window=dedupe_window)
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)  # exists with older settings
        kv = await js.create_key_value(bucket=f"{stream}-dedupe", ttl=dedupe_window, history=1)
        queue = cls(nc, js, stream, kv, ack_wait)
        queue._sub = await js.pull_subscribe(
            f"{stream}.>", durable=f"{stream}-dispatch", stream=stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait,
                                  max_deliver=MAX_DELIVER, max_ack_pending=-1))
        return queue

    async def close(self) -> None:
        await self._nc.close()

    async def delete(self) -> None:
        """Remove the stream and the dedupe bucket (tests)."""
        await self._js.delete_stream(self._stream)
        await self._js.delete_key_value(f"{self._stream}-dedupe")

    async def put(self, job: Job) -> str:
        job_id, enqueued_at = job.id, job.enqueued_at
        if job.dedupe_key is not None:
            key = hashlib.sha256(f"{job.tenant}\0{job.dedupe_key}".encode()).hexdigest()
            try:
                await self._kv.create(key, f"{job.id} {job.enqueued_at!r}".encode())
            except nats.js.errors.KeyWrongLastSequenceError:
                entry = await self._kv.get(key)
                assert entry.value is not None
                first_id, first_at = entry.value.decode().split(" ")
                job_id, enqueued_at = first_id, float(first_at)
        # The message id is the job and its acceptance time: a put repeated after a crash
        # is dropped as a duplicate, a redrive (a new acceptance time) is not.
        headers = {"Nats-Msg-Id": f"{job_id}@{enqueued_at!r}", "Yun-Id": job_id,
                   "Yun-Tenant": job.tenant, "Yun-Target": job.target,
                   "Yun-Source": job.source, "Yun-Enqueued-At": repr(enqueued_at),
                   "Yun-Depth": str(job.depth)}
        if job.dedupe_key is not None:
            headers["Yun-Dedupe-Key"] = job.dedupe_key
        # Published even when the key was taken: if the first put died between claiming the
        # key and publishing, this stores the job; otherwise the msg id makes it a no-op.
        try:
            await self._js.publish(self._subject(job.tenant, job.target), job.body,
                                   headers=headers)
        except nats.errors.Error as e:
            raise PlatformError(f"queue put of {job_id} failed: {e}") from e
        return job_id

    def _subject(self, tenant: str, target: str) -> str:
        return f"{self._stream}.{tenant}.{target}"

    async def take(self, limit: int, lease_seconds: float) -> list[Lease]:
        """`lease_seconds` is ignored: JetStream's lease is the consumer's `ack_wait`."""
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(limit, timeout=POLL_SECONDS)
        except TimeoutError:  # nats' own timeout error is one too: nothing due
            return []
        except nats.errors.Error as e:
            raise PlatformError(f"queue take from stream {self._stream} failed: {e}") from e
        now = time.time()
        for token in [t for t, (_, end) in self._leased.items() if end < now - self._ack_wait]:
            del self._leased[token]
        leases = []
        for msg in msgs:
            assert msg.reply is not None and msg.headers is not None
            self._leased[msg.reply] = (msg, now + self._ack_wait)
            h = msg.headers
            job = Job(id=h["Yun-Id"], tenant=h["Yun-Tenant"], target=h["Yun-Target"],
                      body=msg.data, source=h["Yun-Source"],
                      enqueued_at=float(h["Yun-Enqueued-At"]),
                      dedupe_key=h.get("Yun-Dedupe-Key"), depth=int(h.get("Yun-Depth", 0)))
            leases.append(Lease(job=job, attempt=msg.metadata.num_delivered,
                                lease_until=now + self._ack_wait, token=msg.reply))
        return leases

    async def extend(self, lease: Lease, seconds: float) -> Lease:
        held = self._leased.get(lease.token)
        if held is None:
            return lease
        try:
            await held[0].in_progress()  # restarts the full ack_wait
        except nats.errors.Error as e:
            raise PlatformError(f"queue lease renewal of {lease.job.id} failed: {e}") from e
        end = time.time() + self._ack_wait
        self._leased[lease.token] = (held[0], end)
        return Lease(lease.job, lease.attempt, end, lease.token)

    async def done(self, lease: Lease) -> None:
        held = self._leased.pop(lease.token, None)
        if held is None:
            return
        try:
            # Waits for the server's confirmation: a lost ack would deliver the job again.
            await held[0].ack_sync()
        except nats.errors.Error as e:
            raise PlatformError(f"queue ack of {lease.job.id} failed: {e}") from e

    async def retry(self, lease: Lease, delay: float) -> None:
        held = self._leased.pop(lease.token, None)
        if held is None:
            return
        try:
            await held[0].nak(delay=delay)
        except nats.errors.Error as e:
            raise PlatformError(f"queue retry of {lease.job.id} failed: {e}") from e

    async def depth(self, tenant: str | None = None) -> int:
        if tenant is None:
            info = await self._js.stream_info(self._stream)
            return int(info.state.messages)
        return sum((await self.depth_by_target(tenant)).values())

    async def depth_by_target(self, tenant: str) -> dict[str, int]:
        prefix = f"{self._stream}.{tenant}."
        info = await self._js.stream_info(self._stream, subjects_filter=f"{prefix}>")
        return {subject[len(prefix):]: int(n)
                for subject, n in (info.state.subjects or {}).items()}
