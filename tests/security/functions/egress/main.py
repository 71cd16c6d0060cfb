"""Talks to the network from an egress sandbox: what it reaches, and what it sees."""

import os
import socket


def _talk(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=1) as conn:
        conn.settimeout(1)
        return conn.recv(64).decode()


def handle(event, context):
    probe, arg = event["probe"], event.get("arg")
    try:
        if probe == "talk":
            return {"ok": True, "result": _talk(arg)}
        if probe == "interfaces":
            return {"ok": True, "result": sorted(os.listdir("/sys/class/net"))
                    if os.path.isdir("/sys/class/net") else _interfaces()}
    except OSError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": False, "error": f"unknown probe {probe!r}"}


def _interfaces():
    with open("/proc/net/dev") as dev:
        return sorted(line.split(":")[0].strip() for line in dev.readlines()[2:])
