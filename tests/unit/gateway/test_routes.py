"""An alias's weights split traffic exactly by the roll."""

from __future__ import annotations

from yun.core import Manifest, Version
from yun.gateway import Route


def _version(number: int) -> Version:
    return Version("f", number, "h" * 64, None, Manifest(name="f", handler="m:f"), 0.0)


def test_a_route_without_weights_always_picks_its_version() -> None:
    route = Route(_version(1))
    assert {route.pick(roll).number for roll in (0, 50, 99.9)} == {1}


def test_weights_take_their_share_of_the_roll_in_order() -> None:
    route = Route(_version(1), ((10, _version(2)), (40, _version(3))))
    assert route.pick(0).number == 2
    assert route.pick(9.99).number == 2
    assert route.pick(10).number == 3
    assert route.pick(39.99).number == 3
    assert route.pick(40).number == 1
    assert route.pick(99.99).number == 1
