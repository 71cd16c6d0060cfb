"""Deploy paths: a single decorated file, dependency layers, and refusals that disturb nothing."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import time
import zipfile
from pathlib import Path

from yun_harness import FUNCTIONS, Yun


def test_a_single_decorated_file_deploys_with_its_settings(yun: Yun, tmp_path: Path) -> None:
    source = tmp_path / "single_file.py"
    source.write_text(
        "import yun\n\n"
        "@yun.function(memory=256, timeout='3s')\n"
        "def handle(event, context):\n"
        "    return {'memory': context.memory_mb, 'got': event}\n"
    )
    assert "deployed single-file version 1" in yun.deploy(source).stdout
    with yun.http() as http:
        response = http.post("/fn/single-file", json={"x": 1})
        assert response.json() == {"memory": 256, "got": {"x": 1}}
        manifest = http.get("/v1/functions/single-file").json()["latest"]["manifest"]
    assert manifest["timeout"] == 3.0


def test_requirements_install_into_a_layer_the_handler_can_import(yun: Yun,
                                                                   tmp_path: Path) -> None:
    wheel = _tiny_wheel(tmp_path)
    folder = tmp_path / "withdeps"
    folder.mkdir()
    (folder / "yun.yaml").write_text(
        "name: withdeps\nhandler: main:handle\nrequirements: requirements.txt\n")
    (folder / "requirements.txt").write_text(f"{wheel}\n")
    (folder / "main.py").write_text(
        "import tinypkg\n\ndef handle(event, context):\n    return {'answer': tinypkg.ANSWER}\n")
    yun.deploy(folder)
    with yun.http() as http:
        assert http.post("/fn/withdeps", json={}).json() == {"answer": 42}
    # the same requirements again reuse the cached layer
    (folder / "main.py").write_text((folder / "main.py").read_text() + "\n# v2\n")
    again = yun.cli("deploy", str(folder))
    assert again.returncode == 0, again.stderr
    assert "cached" in again.stderr + again.stdout


def test_a_failing_requirements_install_is_refused_with_pips_reason(yun: Yun,
                                                                    tmp_path: Path) -> None:
    folder = tmp_path / "baddeps"
    folder.mkdir()
    (folder / "yun.yaml").write_text(
        "name: baddeps\nhandler: main:handle\nrequirements: requirements.txt\n")
    (folder / "requirements.txt").write_text("/nonexistent/nothing-1.0-py3-none-any.whl\n")
    (folder / "main.py").write_text("def handle(event, context):\n    return 1\n")
    out = yun.cli("deploy", str(folder))
    assert out.returncode == 1
    assert "requirements" in out.stderr and "nothing-1.0" in out.stderr
    with yun.http() as http:
        assert http.get("/v1/functions/baddeps").status_code == 404


def test_a_handler_that_does_not_exist_is_refused_at_deploy(yun: Yun, tmp_path: Path) -> None:
    folder = tmp_path / "typo"
    folder.mkdir()
    (folder / "yun.yaml").write_text("name: typo\nhandler: main:handel\n")
    (folder / "main.py").write_text("def handle(event, context):\n    return 1\n")
    out = yun.cli("deploy", str(folder))
    assert out.returncode == 1
    assert "handel" in out.stderr and "handle" in out.stderr


def test_a_runtime_the_node_lacks_is_refused_at_deploy(yun: Yun, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "yun.yaml").write_text("name: other\nhandler: main:handle\nruntime: python3.13\n")
    (folder / "main.py").write_text("def handle(event, context):\n    return 1\n")
    out = yun.cli("deploy", str(folder))
    assert out.returncode == 1 and "python3.13" in out.stderr


def test_sync_handlers_with_concurrency_share_one_instance_on_threads(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "threads")
    with yun.http() as http:
        http.post("/fn/threads", json={})
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: http.post("/fn/threads", json={"sleep": 0.5}),
                                    range(4)))
        elapsed = time.monotonic() - started
        logs = yun.cli("logs", "threads").stdout
    assert len({r.json()["pid"] for r in results}) == 1
    assert elapsed < 1.5
    for result in results:  # each invocation's output is filed under its own activation
        rid = result.json()["request_id"]
        assert any(rid in line and f"for {rid}" in line for line in logs.splitlines())


def test_sys_exit_in_a_handler_on_a_worker_thread_ends_the_instance_at_once(yun: Yun) -> None:
    yun.deploy(FUNCTIONS / "threads")  # concurrency 4, timeout 5 s
    with yun.http() as http:
        assert http.post("/fn/threads", json={}).status_code == 200
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = pool.submit(http.post, "/fn/threads", json={"sleep": 3})
            time.sleep(0.3)  # the slow call holds a thread; the exit runs on another
            exiting = http.post("/fn/threads", json={"exit": 5})
            ended = slow.result()
        assert time.monotonic() - started < 4  # not the 5 s timeout
        assert exiting.status_code == 502
        assert exiting.headers["x-yun-function-error"] == "crashed"
        assert ended.status_code == 502  # its instance is gone with it
        assert http.post("/fn/threads", json={}).status_code == 200  # a new instance


def _tiny_wheel(folder: Path) -> Path:
    """A pure-Python wheel built by hand, so the test needs no index and no network."""
    name, version = "tinypkg", "1.0"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"ANSWER = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: yun-tests\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel
