"""Talks to the network from an egress sandbox: what it reaches, and what it sees."""

import os
import socket
import threading


def _talk(address):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=1) as conn:
        conn.settimeout(1)
        return conn.recv(64).decode()


def _serve(listener):
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"here")
        conn.close()


def _listen(port):
    """Serve "here" on `port` from a thread that outlives the invocation; our own address."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", int(port)))
    listener.listen()
    threading.Thread(target=_serve, args=(listener,), daemon=True).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        return probe.getsockname()[0]


def handle(event, context):
    probe, arg = event["probe"], event.get("arg")
    try:
        if probe == "talk":
            return {"ok": True, "result": _talk(arg)}
        if probe == "connect":
            host, port = arg.rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=1).close()
            return {"ok": True, "result": "connected"}
        if probe == "listen":
            return {"ok": True, "result": _listen(arg)}
        if probe == "interfaces":
            return {"ok": True, "result": sorted(os.listdir("/sys/class/net"))
                    if os.path.isdir("/sys/class/net") else _interfaces()}
    except OSError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": False, "error": f"unknown probe {probe!r}"}


def _interfaces():
    with open("/proc/net/dev") as dev:
        return sorted(line.split(":")[0].strip() for line in dev.readlines()[2:])
