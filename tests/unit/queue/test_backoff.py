from __future__ import annotations

from yun.queue._backoff import backoff


def test_the_bound_doubles_per_attempt_up_to_the_cap() -> None:
    bounds = [backoff(n, base=1.0, cap=10.0, rand=lambda: 1.0) for n in range(1, 7)]
    assert bounds == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_draws_anywhere_below_the_bound() -> None:
    assert backoff(3, base=1.0, cap=60.0, rand=lambda: 0.0) == 0.0
    assert backoff(3, base=1.0, cap=60.0, rand=lambda: 0.25) == 1.0
