"""The per-tenant route table: matching, precedence, and clashes named at deploy."""

from __future__ import annotations

import pytest

from yun.core import ManifestError
from yun.core.types import HttpTrigger
from yun.events import RouteTable, http_event


def table(**functions: list[HttpTrigger]) -> RouteTable:
    return RouteTable(functions)


def test_a_parameter_is_captured_by_name() -> None:
    routes = table(users=[HttpTrigger("/users/{id}", ("GET",))])
    found = routes.match("GET", "/users/42")
    assert found is not None and (found.function, found.params) == ("users", {"id": "42"})


def test_a_literal_segment_beats_a_parameter() -> None:
    routes = table(users=[HttpTrigger("/users/{id}", ("GET",))],
                   me=[HttpTrigger("/users/me", ("GET",))])
    assert routes.match("GET", "/users/me").function == "me"  # type: ignore[union-attr]
    assert routes.match("GET", "/users/7").function == "users"  # type: ignore[union-attr]


def test_no_match_on_another_method_or_path_but_the_methods_are_known() -> None:
    routes = table(users=[HttpTrigger("/users/{id}", ("GET", "PUT"))])
    assert routes.match("DELETE", "/users/42") is None
    assert routes.methods("/users/42") == ("GET", "PUT")
    assert routes.match("GET", "/users/42/extra") is None
    assert routes.match("GET", "/users/") is None


def test_head_is_served_by_a_get_route_and_any_takes_every_method() -> None:
    routes = table(a=[HttpTrigger("/a", ("GET",))], b=[HttpTrigger("/b")])
    assert routes.match("HEAD", "/a") is not None
    assert routes.match("PATCH", "/b") is not None


def test_two_functions_claiming_one_method_and_path_is_an_error_naming_both() -> None:
    with pytest.raises(ManifestError, match=(
            r"^route GET /users/\{uid\} of function 'profile' clashes with "
            r"GET /users/\{id\} of function 'accounts'$")):
        table(accounts=[HttpTrigger("/users/{id}", ("GET",))],
              profile=[HttpTrigger("/users/{uid}", ("GET", "POST"))])


def test_any_clashes_with_every_method_on_the_path() -> None:
    with pytest.raises(ManifestError, match="route ANY /x of function 'b' clashes with POST /x"):
        table(a=[HttpTrigger("/x", ("POST",))], b=[HttpTrigger("/x")])


def test_different_methods_on_one_path_may_belong_to_different_functions() -> None:
    routes = table(read=[HttpTrigger("/items", ("GET",))],
                   write=[HttpTrigger("/items", ("POST",))])
    assert routes.match("POST", "/items").function == "write"  # type: ignore[union-attr]


def test_the_http_event_has_method_path_params_query_headers_and_text_body() -> None:
    event = http_event(method="GET", path="/users/42", route="/users/{id}",
                       params={"id": "42"}, query_string=b"a=1&a=2&b=",
                       headers=[(b"X-Trace", b"t1"), (b"content-type", b"application/json")],
                       body=b'{"x": 1}', request_id="r1", tenant="acme", source_ip="10.0.0.1")
    assert event == {
        "method": "GET", "path": "/users/42", "route": "/users/{id}", "params": {"id": "42"},
        "query": {"a": "2", "b": ""}, "multiValueQuery": {"a": ["1", "2"], "b": [""]},
        "headers": {"x-trace": "t1", "content-type": "application/json"},
        "body": '{"x": 1}', "isBase64Encoded": False,
        "requestContext": {"requestId": "r1", "tenant": "acme", "sourceIp": "10.0.0.1"},
    }


def test_a_binary_body_is_base64_encoded() -> None:
    event = http_event(method="POST", path="/up", route="/up", params={}, query_string=b"",
                       headers=[(b"content-type", b"image/png")], body=b"\x89PNG",
                       request_id="r", tenant="t", source_ip=None)
    assert (event["body"], event["isBase64Encoded"]) == ("iVBORw==", True)
