"""The durable queue behind async invocation and every event source.

One interface (`Queue`), several backends (SQLite embedded, PostgreSQL `SKIP LOCKED`, NATS
JetStream), one conformance suite run against each (`tests/queue/`)."""

from yun.queue._types import Job, Lease, Queue, Submit

__all__ = ["Job", "Lease", "Queue", "Submit"]
