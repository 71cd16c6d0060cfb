"""`SingleFlight`: concurrent cache misses of one key make one store load."""

from __future__ import annotations

import asyncio

import pytest

from yun.gateway._flight import SingleFlight


class Loads:
    """A load that waits until released, counting how often it was started."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.started += 1
        number = self.started
        await self.release.wait()
        return f"value {number}"


async def test_concurrent_loads_of_one_key_share_one_call() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    callers = [asyncio.create_task(flight.load("k", loads)) for _ in range(100)]
    await asyncio.sleep(0)
    loads.release.set()
    assert await asyncio.gather(*callers) == ["value 1"] * 100
    assert loads.started == 1


async def test_different_keys_load_separately() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    loads.release.set()
    assert await asyncio.gather(flight.load("a", loads), flight.load("b", loads)) == [
        "value 1", "value 2"]


async def test_a_load_after_the_last_one_ended_starts_anew() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    loads.release.set()
    await flight.load("k", loads)
    assert await flight.load("k", loads) == "value 2"


async def test_every_waiter_gets_the_loads_exception() -> None:
    flight: SingleFlight[str, str] = SingleFlight()

    async def failing() -> str:
        await asyncio.sleep(0)
        raise LookupError("store down")

    results = await asyncio.gather(*(flight.load("k", failing) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)


async def test_a_cancelled_waiter_does_not_cancel_the_load_of_the_others() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    first = asyncio.create_task(flight.load("k", loads))
    second = asyncio.create_task(flight.load("k", loads))
    await asyncio.sleep(0)
    second.cancel()
    loads.release.set()
    assert await first == "value 1"
    with pytest.raises(asyncio.CancelledError):
        await second


async def test_when_the_loading_caller_is_cancelled_a_waiter_loads_again() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    first = asyncio.create_task(flight.load("k", loads))
    await asyncio.sleep(0)
    second = asyncio.create_task(flight.load("k", loads))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    loads.release.set()
    assert await second == "value 2"


async def test_after_forget_new_callers_do_not_join_the_running_load() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    loads = Loads()
    first = asyncio.create_task(flight.load("k", loads))
    await asyncio.sleep(0)
    flight.forget("k")  # e.g. a deploy changed what the running load may have read
    second = asyncio.create_task(flight.load("k", loads))
    await asyncio.sleep(0)
    loads.release.set()
    assert (await first, await second) == ("value 1", "value 2")
