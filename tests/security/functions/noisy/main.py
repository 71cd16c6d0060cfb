"""A neighbour from hell: each attack runs until a limit ends it; "calm" is the harmless twin."""

import contextlib
import os


def _fork_bomb():
    while True:
        with contextlib.suppress(OSError):  # the pids limit: keep trying, as a real bomb would
            os.fork()


def _spin():
    while True:
        pass


def _hog():
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))  # zero-filled pages, all touched


def handle(event, context):
    attacks = {"fork_bomb": _fork_bomb, "spin": _spin, "hog": _hog}
    attack = event.get("attack", "calm")
    if attack == "calm":
        return {"calm": True}
    attacks[attack]()
    return {"survived": attack}
