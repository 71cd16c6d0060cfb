"""Tenants against a real `yun up`: tenant B's key probes every `/v1` route (listed from the
server's own OpenAPI document, so new routes are probed too) and `POST /fn/NAME` with tenant
A's real names and ids, and must get exactly what a missing thing gets. Plus: admin routes,
revocation, disabled tenants and quota refusals."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from yun_harness import YUN, Yun, activation

from yun.storage import pack

MARKER = "alpha-secret-7f3a91"  # printed and returned by A's function only

# Tenant A's value for each path or query parameter, and the twin that names nothing.
# A new route with a parameter not listed here fails the probe until it is added.
PATH_PARAMS = ("name", "alias", "activation_id", "key_id", "bucket", "object_key",
               "invocation_id", "index")
QUERY_PARAMS = ("function", "activation", "tenant", "prefix", "delimiter", "token")


@dataclass
class TenantA:
    tenant: str
    key: str
    key_id: str
    function: str
    alias: str
    activation_id: str
    code_hash: str
    key_prefix: str
    invocation_id: str  # an async invocation of A's that ended in the dead letters
    bucket: str = "alpha-bucket"
    object_key: str = "alpha-obj.txt"


def make_function(root: Path, name: str, body: str = "", size: int = 0) -> Path:
    folder = root / f"{name}-{size}-{abs(hash(body)) % 10_000}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "yun.yaml").write_text(f"name: {name}\nhandler: main:handle\n")
    (folder / "main.py").write_text(body or "def handle(event, context):\n    return 'ok'\n")
    if size:
        (folder / "blob.bin").write_bytes(os.urandom(size))
    return folder


def client(yun: Yun, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=yun.url, headers=headers, timeout=30)


def cli_as(yun: Yun, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a tenant's key instead of the admin key in the data dir."""
    env = {**os.environ, "YUN_URL": yun.url, "YUN_API_KEY": key}
    env.pop("YUN_DATA_DIR", None)
    return subprocess.run([YUN, *args], capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip


def new_tenant(yun: Yun, name: str, *quotas: str) -> str:
    """`yun tenant create` and `yun key create --tenant` as the admin; the tenant's key."""
    options = [item for quota in quotas for item in ("--quota", quota)]
    created = yun.cli("tenant", "create", name, *options)
    assert created.returncode == 0, created.stderr
    made = yun.cli("key", "create", "--tenant", name, "--name", "main")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("yun_") and "\n" not in key
    return key


@pytest.fixture
def tenant_a(yun: Yun, tmp_path: Path) -> Iterator[TenantA]:
    key = new_tenant(yun, "alpha-corp")
    source = make_function(tmp_path, "alpha-fn",
                           f"def handle(event, context):\n    print({MARKER!r})\n"
                           f"    return {{'secret': {MARKER!r}}}\n")  # fmt: skip
    with client(yun, key) as http:
        assert http.post("/v1/functions", content=pack(source)).status_code == 201
        assert http.put("/v1/functions/alpha-fn/aliases/live", json={"version": 1}).is_success
        invoked = http.post("/fn/alpha-fn", json={})
        assert invoked.json() == {"secret": MARKER}
        activation_id = invoked.headers["x-yun-activation-id"]
        activation(http, activation_id)
        code_hash = http.get("/v1/functions/alpha-fn").json()["latest"]["code_hash"]
        keys = http.get("/v1/keys").json()["keys"]
        invocation_id = dead_letter(http, tmp_path)
        assert http.post("/v1/buckets", json={"name": "alpha-bucket"}).status_code == 201
        put = http.put("/v1/buckets/alpha-bucket/objects/alpha-obj.txt", content=MARKER.encode())
        assert put.status_code == 201
    yield TenantA("alpha-corp", key, keys[0]["id"], "alpha-fn", "live", activation_id,
                  code_hash, keys[0]["prefix"], invocation_id)  # fmt: skip


def dead_letter(http: httpx.Client, tmp_path: Path) -> str:
    """An async invocation of a failing function of A's, with A's secret in its payload,
    once it is a dead letter."""
    source = make_function(tmp_path, "alpha-poison", "def handle(event, context):\n"
                           "    raise ValueError('no')\n")
    (source / "yun.yaml").write_text("name: alpha-poison\nhandler: main:handle\n"
                                     "async: {retries: 0}\n")
    assert http.post("/v1/functions", content=pack(source)).status_code == 201
    invocation_id = str(http.post("/fn/alpha-poison/async",
                                  json={"secret": MARKER}).json()["id"])
    deadline = time.monotonic() + 30
    while http.get(f"/v1/invocations/{invocation_id}").json()["status"] != "dead":
        assert time.monotonic() < deadline, "A's poison invocation never died"
        time.sleep(0.05)
    return invocation_id


def missing_twin(a: TenantA) -> dict[str, str]:
    return {a.tenant: "no-such-tenant", a.function: "no-such-fn", a.alias: "no-such-alias",
            a.activation_id: "0" * 32, a.key_id: "0" * 12, a.invocation_id: "f" * 32,
            a.bucket: "no-such-bucket",
            a.object_key: "no-such-obj.txt"}  # fmt: skip


def sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The smallest valid JSON value for an OpenAPI schema: required fields only."""
    if "$ref" in schema:
        return sample(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], spec)
    if "anyOf" in schema:
        return sample(schema["anyOf"][0], spec)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props[name], spec) for name in schema.get("required", [])}
    return {"integer": 1, "number": 1, "boolean": False, "string": "probe",
            "array": []}.get(kind)  # fmt: skip


@dataclass
class Probe:
    method: str
    template: str
    path_values: dict[str, str]
    query: dict[str, str]
    admin_only: bool
    body: Any = None
    content: bytes | None = None


def probes(spec: dict[str, Any], a: TenantA, bundle: bytes) -> list[Probe]:
    """Every `/v1` operation, with A's values in its path, and once more per query
    parameter that can name one of A's things."""
    found = []
    for template, operations in spec["paths"].items():
        if not template.startswith("/v1/") or template == "/v1/health":
            continue
        for method, op in operations.items():
            params = op.get("parameters", [])
            values = {}
            for p in (p for p in params if p["in"] == "path"):
                assert p["name"] in PATH_PARAMS, f"teach this test A's {p['name']} ({template})"
                values[p["name"]] = {
                    "name": a.tenant if template.startswith("/v1/tenants") else a.function,
                    "alias": a.alias, "activation_id": a.activation_id, "key_id": a.key_id,
                    "bucket": a.bucket, "object_key": a.object_key,
                    "invocation_id": a.invocation_id,
                    "index": "0",  # a trigger's place in its function's list: names nothing
                }[p["name"]]  # fmt: skip
            body, content = None, None
            media = op.get("requestBody", {}).get("content", {})
            if "application/zip" in media:
                content = bundle
            elif "application/json" in media:
                body = sample(media["application/json"]["schema"], spec)
            admin_only = bool(op.get("x-yun-admin"))
            found.append(Probe(method.upper(), template, values, {}, admin_only, body, content))
            for p in (p for p in params if p["in"] == "query"):
                types = {s.get("type") for s in p["schema"].get("anyOf", [p["schema"]])}
                if "string" not in types:
                    continue  # limits and offsets name nothing
                assert p["name"] in QUERY_PARAMS, f"teach this test A's {p['name']} ({template})"
                value = {"function": a.function, "activation": a.activation_id,
                         "tenant": a.tenant, "prefix": a.object_key, "delimiter": "/",
                         "token": a.object_key}[p["name"]]  # fmt: skip
                found.append(Probe(method.upper(), template, values, {p["name"]: value},
                                   admin_only, body, content))  # fmt: skip
    return found


def send(http: httpx.Client, probe: Probe, twin: dict[str, str] | None) -> httpx.Response:
    def swap(value: str) -> str:
        return twin.get(value, value) if twin else value

    path = probe.template
    for name, value in probe.path_values.items():
        path = path.replace("{" + name + "}", swap(value))
    query = {k: swap(v) for k, v in probe.query.items()}
    return http.request(probe.method, path, params=query, json=probe.body,
                        content=probe.content)  # fmt: skip


def only_empty_lists(response: httpx.Response) -> bool:
    """A success that names one of A's things may only be an empty listing."""
    body = response.json()
    return isinstance(body, dict) and all(value == [] for value in body.values())


def normalised(response: httpx.Response, a: TenantA) -> tuple[int, str]:
    text = response.text
    for real, missing in missing_twin(a).items():
        text = text.replace(real, "<X>").replace(missing, "<X>")
    return response.status_code, text


def test_tenant_b_never_sees_tenant_a_on_any_route(
        yun: Yun, tenant_a: TenantA, tmp_path: Path) -> None:
    spec = httpx.get(f"{yun.url}/openapi.json").json()
    b_key = new_tenant(yun, "bravo-corp")
    bundle = pack(make_function(tmp_path, "bravo-fn"))
    a = tenant_a
    secrets_of_a = (MARKER, a.code_hash, a.key_prefix, a.bucket, a.object_key)
    all_probes = probes(spec, a, bundle)
    assert {p.template for p in all_probes} >= {"/v1/functions/{name}", "/v1/keys/{key_id}",
                                                "/v1/activations/{activation_id}",
                                                "/v1/tenants/{name}"}  # fmt: skip
    with client(yun, b_key) as b:
        for probe in all_probes:
            real = send(b, probe, None)
            label = f"{probe.method} {probe.template} {probe.query}"
            sent = " ".join([*probe.path_values.values(), *probe.query.values()])
            for secret in (*secrets_of_a, a.function, a.activation_id, a.key_id,
                           a.invocation_id):
                if secret not in sent:
                    assert secret not in real.text, f"{label} leaked {secret}: {real.text}"
            if probe.admin_only:
                assert real.status_code == 403, f"{label}: {real.status_code}"
            if probe.path_values or probe.query:
                assert real.status_code >= 400 or only_empty_lists(real), \
                    f"{label}: {real.status_code} {real.text}"
                twin = send(b, probe, missing_twin(a))
                assert normalised(real, a) == normalised(twin, a), label
        for target in (a.function, f"{a.function}:{a.alias}", f"{a.function}:1"):
            real = b.post(f"/fn/{target}", json={})
            twin = b.post(f"/fn/{target.replace(a.function, 'no-such-fn')}", json={})
            assert real.status_code == 404 and MARKER not in real.text
            assert normalised(real, a) == normalised(twin, a)
        # B may even own a function of the same name: it is B's, A's is untouched.
        twin_source = make_function(tmp_path, a.function)
        assert b.post("/v1/functions", content=pack(twin_source)).status_code == 201
        assert b.post(f"/fn/{a.function}", json={}).json() == "ok"
    with client(yun, a.key) as http:
        assert http.post(f"/fn/{a.function}:{a.alias}", json={}).json() == {"secret": MARKER}
        assert len(http.get(f"/v1/functions/{a.function}/versions").json()["versions"]) == 1
        assert [k["id"] for k in http.get("/v1/keys").json()["keys"]] == [a.key_id]
        logs = http.get("/v1/logs", params={"activation": a.activation_id}).json()["logs"]
        assert [line["line"] for line in logs] == [MARKER]
        letter = http.get(f"/v1/dlq/{a.invocation_id}").json()  # B's probes left it alone
        assert letter["payload"] == {"secret": MARKER}


def test_admin_routes_refuse_tenant_keys_and_every_route_needs_a_key(yun: Yun) -> None:
    spec = httpx.get(f"{yun.url}/openapi.json").json()
    key = new_tenant(yun, "alpha-corp")
    admin_routes = [(method.upper(), path) for path, ops in spec["paths"].items()
                    for method, op in ops.items() if op.get("x-yun-admin")]  # fmt: skip
    assert {("GET", "/v1/tenants"), ("POST", "/v1/tenants"), ("GET", "/v1/tenants/{name}"),
            ("PATCH", "/v1/tenants/{name}")} <= set(admin_routes)
    with client(yun, key) as tenant, client(yun, None) as nobody, yun.http() as admin:
        for method, path in admin_routes:
            concrete = path.replace("{name}", "alpha-corp")
            body = {"name": "x"} if method == "POST" else {} if method == "PATCH" else None
            refused = tenant.request(method, concrete, json=body)
            assert refused.status_code == 403, (method, path)
            assert refused.json()["error"]["type"] == "Forbidden"
            assert admin.request(method, concrete, json=body).status_code < 400, (method, path)
        for path, ops in spec["paths"].items():
            if path != "/v1/health":
                for method in ops:
                    concrete = re.sub(r"\{[^}]+\}", "x", path)
                    assert nobody.request(method.upper(), concrete).status_code == 401, path


def test_a_revoked_key_gets_401_at_once_on_the_api_and_on_invoke(
        yun: Yun, tenant_a: TenantA) -> None:
    with client(yun, tenant_a.key) as http:
        spare = http.post("/v1/keys", json={"name": "spare"}).json()
    with client(yun, spare["key"]) as doomed, client(yun, tenant_a.key) as owner:
        assert doomed.post(f"/fn/{tenant_a.function}", json={}).status_code == 200
        assert doomed.get("/v1/functions").status_code == 200
        assert owner.delete(f"/v1/keys/{spare['id']}").status_code == 204
        for response in (doomed.post(f"/fn/{tenant_a.function}", json={}),
                         doomed.get("/v1/functions")):  # fmt: skip
            assert response.status_code == 401
            assert "revoked" in response.json()["error"]["message"]
        # Rotation: the new key works, the old one stops.
        rotated = cli_as(yun, tenant_a.key, "key", "rotate", tenant_a.key_id)
        assert rotated.returncode == 0, rotated.stderr
        assert owner.get("/v1/functions").status_code == 401
    with client(yun, rotated.stdout.strip()) as http:
        assert http.post(f"/fn/{tenant_a.function}", json={}).status_code == 200


def test_a_disabled_tenant_cannot_invoke_and_its_instances_stop(
        yun: Yun, tenant_a: TenantA) -> None:
    other = new_tenant(yun, "bravo-corp")
    with client(yun, tenant_a.key) as a, yun.http() as admin:
        assert admin.get("/v1/tenants/alpha-corp").json()["usage"]["instances"] >= 1
        disabled = yun.cli("tenant", "disable", "alpha-corp")
        assert disabled.returncode == 0, disabled.stderr
        refused = a.post(f"/fn/{tenant_a.function}", json={})
        assert refused.status_code == 401
        assert "tenant 'alpha-corp' is disabled" in refused.json()["error"]["message"]
        assert admin.get("/v1/tenants/alpha-corp").json()["usage"]["instances"] == 0
        with client(yun, other) as b:
            assert b.get("/v1/functions").status_code == 200
        shown = yun.cli("tenant", "ls")
        assert re.search(r"alpha-corp\s+\d+\s+disabled", shown.stdout), shown.stdout
        assert yun.cli("tenant", "enable", "alpha-corp").returncode == 0
        assert a.post(f"/fn/{tenant_a.function}", json={}).json() == {"secret": MARKER}


def test_deploys_past_a_quota_are_refused_naming_the_quota(yun: Yun, tmp_path: Path) -> None:
    key = new_tenant(yun, "small-co", "functions=1", "deploy_bytes=20000",
                     "code_bytes=30000")  # fmt: skip
    first = cli_as(yun, key, "deploy", str(make_function(tmp_path, "one")))
    assert first.returncode == 0, first.stderr
    second = cli_as(yun, key, "deploy", str(make_function(tmp_path, "two")))
    assert second.returncode == 1
    assert ("quota functions exceeded: tenant 'small-co' may have 1 functions; this deploy "
            "would make 2") in second.stderr
    with client(yun, key) as http:
        big = http.post("/v1/functions", content=pack(make_function(tmp_path, "one",
                                                                    size=25_000)))
        assert big.status_code == 403
        error = big.json()["error"]
        assert (error["quota"], error["limit"]) == ("deploy_bytes", 20000)
        assert error["value"] > 25_000 and str(error["value"]) in error["message"]
        statuses = [http.post("/v1/functions", content=pack(make_function(
            tmp_path, "one", size=12_000 + i))).status_code for i in range(3)]  # fmt: skip
        assert statuses == [201, 201, 403]
        assert [f["name"] for f in http.get("/v1/functions").json()["functions"]] == ["one"]
    raised = yun.cli("tenant", "quota", "small-co", "functions=2")
    assert raised.returncode == 0 and "functions = 2" in raised.stdout
    assert cli_as(yun, key, "deploy", str(make_function(tmp_path, "two"))).returncode == 0
    shown = [" ".join(line.split()) for line in yun.cli("tenant", "show", "small-co").stdout
             .splitlines()]  # fmt: skip
    assert "functions 2 *" in shown and "deploy_bytes 20000 *" in shown


def test_tenants_keys_and_functions_survive_a_restart(yun: Yun, tenant_a: TenantA) -> None:
    yun.stop()
    yun.start()
    with client(yun, tenant_a.key) as http:
        deadline = time.monotonic() + 10
        while (response := http.post(f"/fn/{tenant_a.function}", json={})).status_code != 200:
            assert time.monotonic() < deadline, response.text
            time.sleep(0.1)
        assert response.json() == {"secret": MARKER}
    listed = yun.cli("tenant", "ls").stdout
    assert "alpha-corp" in listed and "100001" in listed
