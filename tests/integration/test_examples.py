"""The shipped examples, run as their READMEs say, against a real `yun up`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from PIL import Image
from yun_harness import ROOT, Yun


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_thumbnails_an_upload_gets_a_resized_copy_in_another_bucket(yun: Yun,
                                                                   tmp_path: Path) -> None:
    assert yun.cli("bucket", "mb", "uploads").returncode == 0
    assert yun.cli("bucket", "mb", "thumbnails").returncode == 0
    yun.deploy(ROOT / "examples" / "thumbnails")
    photo = tmp_path / "photo.png"
    Image.new("RGB", (800, 600), (200, 30, 30)).save(photo)
    copied = yun.cli("bucket", "cp", str(photo), "yun://uploads/images/photo.png")
    assert copied.returncode == 0, copied.stderr

    def thumbnail() -> bytes | None:
        got = yun.cli("bucket", "cp", "yun://thumbnails/photo.jpg", str(tmp_path / "small.jpg"))
        return (tmp_path / "small.jpg").read_bytes() if got.returncode == 0 else None

    small = wait_for(thumbnail, 120, "the thumbnail")
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 128 and image.size == (128, 96)
    # A file outside the prefix triggers nothing.
    (tmp_path / "notes.txt").write_text("not an image")
    assert yun.cli("bucket", "cp", str(tmp_path / "notes.txt"),
                   "yun://uploads/docs/notes.txt").returncode == 0
    time.sleep(1)
    listed = yun.cli("bucket", "ls", "thumbnails")
    assert listed.stdout.count("photo.jpg") == 1 and "notes" not in listed.stdout


def test_iot_a_fleet_of_devices_is_summarised_per_device(yun: Yun, tmp_path: Path) -> None:
    assert yun.cli("bucket", "mb", "telemetry").returncode == 0
    yun.deploy(ROOT / "examples" / "iot")
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    # The trigger subscribes when the version is deployed; give the session a moment.
    time.sleep(1.0)
    sim = subprocess.run([sys.executable, str(ROOT / "examples" / "iot" / "simulate.py"),
                          "--devices", "200", "--rounds", "3", "--prefix", prefix],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ})
    assert sim.returncode == 0, sim.stderr
    assert "published 600 readings" in sim.stdout

    def summaries() -> list[dict[str, object]] | None:
        with yun.http() as http:
            listed = http.get("/v1/buckets/telemetry/objects",
                              params={"prefix": f"devices/{prefix}"}).json()
            objects = listed.get("objects", [])
            if len(objects) < 200:
                return None
            docs = [http.get(f"/v1/buckets/telemetry/objects/{o['key']}").json()
                    for o in objects]
        return docs if all(d["count"] == 3 for d in docs) else None

    docs = wait_for(summaries, 120, "200 device summaries with 3 readings each")
    assert {d["device"] for d in docs} == {f"{prefix}{i:05d}" for i in range(200)}
    assert all(15 <= d["min"] <= d["mean"] <= d["max"] <= 30 for d in docs)  # type: ignore[operator]
    with yun.http() as http:
        top = http.get("/v1/instances").json()
    print(json.dumps(top)[:500])
