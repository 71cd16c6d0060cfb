"""The durable queue behind async invocation and every event source.

One interface (`Queue`), several backends (SQLite embedded, PostgreSQL `SKIP LOCKED`, NATS
JetStream), one conformance suite run against each (`tests/queue/`)."""

from yun.queue._dispatcher import Deliver, DispatchConfig, Dispatcher, Invoker
from yun.queue._nats import NatsQueue
from yun.queue._open import open_queue
from yun.queue._sql import SqlQueue
from yun.queue._submit import Submitter
from yun.queue._types import Job, Lease, Queue, Submit

__all__ = [
    "Deliver",
    "DispatchConfig",
    "Dispatcher",
    "Invoker",
    "Job",
    "Lease",
    "NatsQueue",
    "Queue",
    "SqlQueue",
    "Submit",
    "Submitter",
    "open_queue",
]
