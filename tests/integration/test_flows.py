"""Flows against a real `yun up`: Task states call real deployed functions through the
normal invoke path; executions survive a `kill -9` of `yun up`."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from yun_harness import Yun, activation, alive, sandbox_processes

FUNCTIONS = {
    "add": """
        def handle(event, context):
            return {"n": event.get("n", 0) + 1}
    """,
    # Fails the first two attempts: the state passes $$.State.RetryCount in.
    "flaky": """
        def handle(event, context):
            if event["retry"] < 2:
                raise ConnectionError(f"attempt {event['retry']} failed")
            return {"attempts": event["retry"] + 1, "request_id": context.request_id}
    """,
    "boom": """
        class PaymentDeclined(Exception):
            pass

        def handle(event, context):
            raise PaymentDeclined(f"card {event['card']} declined")
    """,
    # Sleeps, and says when it ran: overlapping intervals prove concurrency.
    "slow": """
        import time

        def handle(event, context):
            start = time.time()
            time.sleep(event.get("sleep", 0.3))
            return {"item": event.get("item"), "start": start, "end": time.time()}
    """,
}


def deploy_functions(yun: Yun, root: Path, *names: str) -> None:
    for name in names:
        folder = root / "fns" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.py").write_text(textwrap.dedent(FUNCTIONS[name]))
        (folder / "yun.yaml").write_text(
            f"name: {name}\nhandler: main:handle\nmemory: 64\ntimeout: 10s\n"
            "scale: {min: 0, max: 4, keep_alive: 10m}\n")
        yun.deploy(folder)


def deploy_flow(yun: Yun, root: Path, name: str, definition: dict[str, Any]) -> None:
    path = root / f"{name}.asl.json"
    path.write_text(json.dumps(definition))
    result = yun.cli("flow", "deploy", name, str(path))
    assert result.returncode == 0, result.stderr


def start(yun: Yun, flow: str, data: Any, *extra: str) -> dict[str, Any]:
    """`yun flow start FLOW --data JSON --wait --json`, parsed."""
    result = yun.cli("flow", "start", flow, "--data", json.dumps(data), "--wait", "--json",
                     *extra)
    assert result.stdout.count("\n") == 1, result.stdout + result.stderr  # one JSON object
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def history(http: httpx.Client, execution_id: str) -> list[dict[str, Any]]:
    events = http.get(f"/v1/executions/{execution_id}/history").json()["events"]
    return events  # type: ignore[no-any-return]


def test_a_task_chain_runs_real_functions_and_records_their_activations(
        yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "add")
    assert yun.cli("alias", "set", "add", "live", "1").returncode == 0
    deploy_flow(yun, tmp_path, "count", {"StartAt": "One", "States": {
        "One": {"Type": "Task", "Resource": "add", "Next": "Two"},
        "Two": {"Type": "Task", "Resource": "add:live", "Next": "Three"},
        "Three": {"Type": "Task",
                  "Resource": "arn:aws:lambda:us-east-1:123456789012:function:add",
                  "End": True}}})
    result = start(yun, "count", {"n": 39}, "--name", "chain")
    assert result == {"status": "SUCCEEDED", "output": {"n": 42}, "error": None, "cause": None}
    with yun.http() as http:
        events = history(http, "count:chain")
        assert [e["type"] for e in events].count("LambdaFunctionSucceeded") == 3
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        records = http.get("/v1/activations", params={"function": "add"}).json()["activations"]
        assert len(records) == 3 and {r["status"] for r in records} == {"success"}
        uid = records[0]["id"].rpartition("-")[0]
        assert sorted(r["id"] for r in records) == [f"{uid}-{n}" for n in (1, 2, 3)]
    listed = yun.cli("flow", "ls", "count")
    assert "count:chain" in listed.stdout and "SUCCEEDED" in listed.stdout
    described = yun.cli("flow", "describe", "count:chain")
    assert '{"n": 42}' in described.stdout
    shown = yun.cli("flow", "history", "count:chain")
    assert "LambdaFunctionScheduled" in shown.stdout and "ExecutionSucceeded" in shown.stdout


def test_map_runs_iterations_concurrently_up_to_max_concurrency(
        yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "slow")
    deploy_flow(yun, tmp_path, "fan", {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": True,
        "ItemSelector": {"item.$": "$$.Map.Item.Value", "sleep": 0.4},
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "slow", "End": True}}}}}})
    result = start(yun, "fan", {"items": list(range(6))})
    assert result["status"] == "SUCCEEDED", result
    runs = result["output"]
    assert [r["item"] for r in runs] == list(range(6))
    moments = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
    most, now = 0, 0
    for _, delta in moments:
        now += delta
        most = max(most, now)
    assert most == 2  # concurrent, and never more than MaxConcurrency


def test_retry_calls_a_failing_function_again_until_it_succeeds(
        yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "flaky")
    deploy_flow(yun, tmp_path, "retry", {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "flaky", "End": True,
        "Parameters": {"retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 1,
                   "MaxAttempts": 3, "BackoffRate": 1.0}]}}})
    result = start(yun, "retry", {}, "--name", "r1")
    assert result["status"] == "SUCCEEDED", result
    assert result["output"]["attempts"] == 3
    with yun.http() as http:
        types = [e["type"] for e in history(http, "retry:r1")]
    assert types.count("LambdaFunctionFailed") == 2
    assert types.count("LambdaFunctionSucceeded") == 1


def test_catch_routes_a_function_error_with_its_lambda_shaped_cause(
        yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "boom")
    deploy_flow(yun, tmp_path, "pay", {"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": "boom", "Next": "Done",
                   "Catch": [{"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.failure",
                              "Next": "Declined"}]},
        "Declined": {"Type": "Pass", "End": True},
        "Done": {"Type": "Succeed"}}})
    result = start(yun, "pay", {"card": "4242"})
    assert result["status"] == "SUCCEEDED"
    failure = result["output"]["failure"]
    assert failure["Error"] == "PaymentDeclined"
    cause = json.loads(failure["Cause"])
    assert cause["errorMessage"] == "card 4242 declined"
    assert cause["errorType"] == "PaymentDeclined"
    assert any("raise PaymentDeclined" in line for line in cause["stackTrace"])
    uncaught = {"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": "boom", "End": True}}}
    deploy_flow(yun, tmp_path, "pay-raw", uncaught)
    failed = yun.cli("flow", "start", "pay-raw", "--data", '{"card": "1"}', "--wait", "--json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"] == "PaymentDeclined"


def test_a_wait_state_of_one_second_waits_one_second(yun: Yun, tmp_path: Path) -> None:
    deploy_flow(yun, tmp_path, "nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    began = time.monotonic()
    result = start(yun, "nap", {"slept": True})
    took = time.monotonic() - began
    assert result["output"] == {"slept": True}
    assert 1.0 <= took < 4.0, took


def test_starting_twice_with_the_same_name_is_idempotent(yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "add")
    deploy_flow(yun, tmp_path, "count", {"StartAt": "One", "States": {
        "One": {"Type": "Task", "Resource": "add", "End": True}}})
    with yun.http() as http:
        first = http.post("/v1/flows/count/executions",
                          json={"input": {"n": 1}, "name": "once", "wait": 10})
        again = http.post("/v1/flows/count/executions",
                          json={"input": {"n": 1}, "name": "once", "wait": 10})
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["output"] == again.json()["output"] == {"n": 2}
        other = http.post("/v1/flows/count/executions", json={"input": {"n": 5},
                                                              "name": "once"})
        assert other.status_code == 409
        assert len(http.get("/v1/activations", params={"function": "add"})
                   .json()["activations"]) == 1
    cli = yun.cli("flow", "start", "count", "--data", '{"n": 1}', "--name", "once")
    assert cli.returncode == 0 and "already exists (SUCCEEDED)" in cli.stdout


def test_an_invalid_definition_is_refused_naming_the_state_and_field(
        yun: Yun, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("StartAt: A\nStates:\n  A: {Type: Pass, Next: Nowhere}\n"
                    "  B: {Type: Bogus, End: true}\n")
    result = yun.cli("flow", "deploy", "bad", str(path))
    assert result.returncode == 1
    assert "state 'A': field 'Next'" in result.stderr
    assert "Bogus" in result.stderr
    with yun.http() as http:
        answer = http.put("/v1/flows/bad", content=path.read_bytes())
        assert answer.status_code == 400
        assert len(answer.json()["error"]["problems"]) >= 2
        assert http.get("/v1/flows/bad").status_code == 404


def test_stop_aborts_a_running_execution(yun: Yun, tmp_path: Path) -> None:
    deploy_flow(yun, tmp_path, "nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    started = yun.cli("flow", "start", "nap", "--name", "long")
    assert started.returncode == 0 and "nap:long" in started.stdout
    stopped = yun.cli("flow", "stop", "nap:long", "--error", "Ops.Cancelled")
    assert stopped.returncode == 0 and "ABORTED" in stopped.stdout
    described = yun.cli("flow", "describe", "nap:long", "--json")
    assert json.loads(described.stdout)["error"] == "Ops.Cancelled"
    assert yun.cli("flow", "rm", "nap").returncode == 0


def test_a_running_execution_blocks_removing_its_flow(yun: Yun, tmp_path: Path) -> None:
    deploy_flow(yun, tmp_path, "nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    assert yun.cli("flow", "start", "nap", "--name", "held").returncode == 0
    refused = yun.cli("flow", "rm", "nap")
    assert refused.returncode == 1 and "'held'" in refused.stderr


def test_kill_9_mid_wait_then_restart_resumes_and_completes(yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "add")
    deploy_flow(yun, tmp_path, "slowcount", {"StartAt": "One", "States": {
        "One": {"Type": "Task", "Resource": "add", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Two"},
        "Two": {"Type": "Task", "Resource": "add", "End": True}}})
    with yun.http() as http:
        made = http.post("/v1/flows/slowcount/executions",
                         json={"input": {"n": 0}, "name": "survivor"})
        assert made.status_code == 201
        deadline = time.monotonic() + 5
        while "WaitStateEntered" not in [e["type"] for e in history(http, "slowcount:survivor")]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    running = sandbox_processes(yun)
    assert yun.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while alive(running):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yun.start()
    with yun.http() as http:
        done = http.get("/v1/executions/slowcount:survivor", params={"wait": 20}).json()
        assert (done["status"], done["output"]) == ("SUCCEEDED", {"n": 2})
        events = history(http, "slowcount:survivor")
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert [e["type"] for e in events].count("WaitStateExited") == 1


def test_a_task_in_flight_at_kill_9_is_delivered_again_after_the_restart(
        yun: Yun, tmp_path: Path) -> None:
    deploy_functions(yun, tmp_path, "slow")
    deploy_flow(yun, tmp_path, "job", {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "slow", "End": True}}})
    with yun.http() as http:
        made = http.post("/v1/flows/job/executions",
                         json={"input": {"item": "x", "sleep": 2}, "name": "inflight"})
        assert made.status_code == 201
        deadline = time.monotonic() + 15  # a cold start on a loaded machine
        while "LambdaFunctionStarted" not in [e["type"] for e in history(http, "job:inflight")]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    time.sleep(0.3)  # the call is running inside its instance
    assert yun.stop(signal.SIGKILL) == -signal.SIGKILL
    yun.start()
    with yun.http() as http:
        for _ in range(3):  # up to 60 s: the re-delivery waits for a cold start and 2 s of work
            done = http.get("/v1/executions/job:inflight", params={"wait": 20}).json()
            if done["status"] != "RUNNING":
                break
        assert done["status"] == "SUCCEEDED" and done["output"]["item"] == "x"
        deadline = time.monotonic() + 5  # the record is group-committed just after
        while not (records := http.get("/v1/activations",
                                        params={"function": "slow"}).json()["activations"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ids = [r["id"] for r in records]
        assert len(ids) == 1 and "." in ids[0]  # a re-delivery: `<uid>-1.<random>`
        assert activation(http, ids[0])["status"] == "success"


def test_another_tenant_cannot_see_or_touch_an_execution(yun: Yun, tmp_path: Path) -> None:
    deploy_flow(yun, tmp_path, "nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    assert yun.cli("flow", "start", "nap", "--name", "mine").returncode == 0
    assert yun.cli("tenant", "create", "other").returncode == 0
    key = yun.cli("key", "create", "--tenant", "other").stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=yun.url, headers=headers, timeout=30) as other:
        for method, path in [("GET", "/v1/executions/{}"), ("GET", "/v1/executions/{}/history"),
                             ("POST", "/v1/executions/{}/stop")]:
            real = other.request(method, path.format("nap:mine"))
            twin = other.request(method, path.format("nap:nobody"))
            assert real.status_code == twin.status_code == 404
            assert real.text.replace("nap:mine", "X") == twin.text.replace("nap:nobody", "X")
        assert other.get("/v1/flows").json() == {"flows": []}
        assert other.get("/v1/flows/nap").status_code == 404
        started = other.post("/v1/flows/nap/executions", json={"name": "mine"})
        assert started.status_code == 404
    with yun.http() as http:
        assert http.get("/v1/executions/nap:mine").json()["status"] == "RUNNING"


def test_start_without_wait_prints_the_running_status(yun: Yun, tmp_path: Path) -> None:
    deploy_flow(yun, tmp_path, "nap", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    result = yun.cli("flow", "start", "nap", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"status": "RUNNING", "output": None, "error": None,
                                         "cause": None}


# --- the AWS-recorded cases that call Lambda functions, through real deployed functions ---

CASE_FUNCTION = """
import json
import os


def handle(event, context):
    behavior = os.environ["BEHAVIOR"]
    if behavior == "identity":
        return event
    if behavior == "return":
        return json.loads(os.environ["VALUE"])
    raise type(os.environ["ERROR_TYPE"], (Exception,), {})(os.environ["ERROR_MESSAGE"])
"""


def lambda_cases() -> list[dict[str, Any]]:
    """Cases with `functions` that need no fake clock (those run in the unit suite)."""
    for folder in Path(__file__).resolve().parents:
        found = folder / "shared" / "conformance" / "asl" / "cases"
        if found.is_dir():
            loaded = [json.loads(p.read_text()) for p in sorted(found.glob("*.json"))]
            return [c for c in loaded if c.get("functions") and not c.get("fake_clock")]
    return []


def yun_name(name: str) -> str:
    """A case's Lambda name as a Yun function name (lowercase letters, digits, '-')."""
    return name.lower().replace("_", "-")


def test_the_recorded_lambda_cases_match_aws_on_real_functions(
        yun: Yun, tmp_path: Path) -> None:
    from yun.storage import pack

    cases = lambda_cases()
    if not cases:
        pytest.skip("the ASL conformance cases are absent")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
    from test_asl_cases import passes  # the README's comparison

    deployed: dict[str, str] = {}
    mismatches: dict[str, Any] = {}
    with yun.http(timeout=60) as http:
        for index, case in enumerate(cases):
            names = sorted(case["functions"], key=len, reverse=True)
            for name in names:
                spec = case["functions"][name]
                manifest = {"name": yun_name(name), "handler": "main:handle", "memory": 64,
                            "scale": {"min": 0, "max": 2, "keep_alive": "10m"},
                            "env": {"BEHAVIOR": spec["behavior"],
                                    "VALUE": json.dumps(spec.get("value")),
                                    "ERROR_TYPE": spec.get("errorType", ""),
                                    "ERROR_MESSAGE": spec.get("errorMessage", "")}}
                text = json.dumps(manifest)
                if deployed.get(name) == text:
                    continue
                folder = tmp_path / "cases" / f"{index}-{yun_name(name)}"
                folder.mkdir(parents=True)
                (folder / "main.py").write_text(CASE_FUNCTION)
                (folder / "yun.yaml").write_text(text)
                answer = http.post("/v1/functions", content=pack(folder))
                assert answer.status_code in (200, 201), answer.text
                deployed[name] = text

            def mapped(value: Any, names: list[str] = names) -> Any:
                text = json.dumps(value)
                for name in names:
                    text = text.replace(name, yun_name(name))
                return json.loads(text)

            flow = f"case-{index}"
            answer = http.put(f"/v1/flows/{flow}", json=mapped(case["definition"]))
            assert answer.status_code == 201, answer.text
            row = http.post(f"/v1/flows/{flow}/executions",
                            json={"input": mapped(case["input"]), "wait": 30}).json()
            text = json.dumps(row)
            for name in names:
                text = text.replace(yun_name(name), name)
            row = json.loads(text)
            actual: dict[str, Any] = {"status": row["status"]}
            if row["status"] == "SUCCEEDED":
                actual["output"] = row["output"]
            else:
                actual["error"] = row["error"]
                if "cause_json" in case["expected"]:
                    try:
                        actual["cause_json"] = json.loads(row["cause"] or "")
                    except ValueError:
                        actual["cause_json"] = row["cause"]
                else:
                    actual["cause"] = row["cause"]
            if not passes(case, actual):
                mismatches[case["name"]] = actual
    print(f"\nAWS Lambda cases on real functions: {len(cases) - len(mismatches)}/{len(cases)} "
          "match")
    assert mismatches == {}
