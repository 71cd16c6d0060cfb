"""Manifests from yun.yaml, from @yun.function arguments, and the stored-dict round trip."""

from __future__ import annotations

import contextlib
import json
import keyword
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yun.core.errors import InvalidRequest, ManifestError
from yun.core.manifest import (
    instance_cpu,
    load_manifest,
    manifest_from_decorated_source,
    manifest_from_dict,
    manifest_to_dict,
)
from yun.core.types import AsyncSpec, Manifest, Network, ScaleSpec, Tier

FULL = """\
name: hello
runtime: python3.12
handler: main:handle      # module:function
memory: 256               # MiB
timeout: 500ms
concurrency: 4
scale: {min: 1, max: 20, target: 2.5, keep_alive: 10m}
env: {GREETING: hi}
requirements: requirements.txt
network: egress
"""


def yaml_with(extra: str) -> str:
    """A minimal valid manifest on lines 1-2, with `extra` starting on line 3."""
    return "name: hello\nhandler: main:handle\n" + textwrap.dedent(extra)


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest(text)
    return str(info.value)


def source_error_of(source: str, filename: str = "app.py") -> str:
    with pytest.raises(ManifestError) as info:
        manifest_from_decorated_source(textwrap.dedent(source), filename)
    return str(info.value)


# --- yun.yaml: what is accepted ------------------------------------------------------------


def test_full_manifest_loads_every_field() -> None:
    assert load_manifest(FULL) == Manifest(
        name="hello",
        handler="main:handle",
        runtime="python3.12",
        memory=256,
        timeout=0.5,
        concurrency=4,
        scale=ScaleSpec(min=1, max=20, target=2.5, keep_alive=600.0),
        env={"GREETING": "hi"},
        requirements="requirements.txt",
        network=Network.EGRESS,
    )


def test_minimal_manifest_gets_the_defaults() -> None:
    assert load_manifest(yaml_with("")) == Manifest(name="hello", handler="main:handle")


def test_null_optional_values_mean_the_default() -> None:
    m = load_manifest(yaml_with("env:\nscale:\nrequirements:\ntimeout:\nmemory:\n"))
    assert m == Manifest(name="hello", handler="main:handle")


@pytest.mark.parametrize(
    ("written", "seconds"), [("500ms", 0.5), ("2s", 2.0), ("10m", 600.0), (30, 30.0), (1.5, 1.5)]
)
def test_timeout_accepts_durations_and_bare_seconds(written: object, seconds: float) -> None:
    assert load_manifest(yaml_with(f"timeout: {written}")).timeout == seconds


def test_timeout_of_exactly_fifteen_minutes_is_allowed() -> None:
    assert load_manifest(yaml_with("timeout: 15m")).timeout == 900.0


def test_dotted_handler_modules_are_allowed() -> None:
    assert load_manifest("name: a\nhandler: pkg.sub.mod:run").module == "pkg.sub.mod"


def test_scale_keep_alive_of_zero_is_allowed() -> None:
    assert load_manifest(yaml_with("scale: {keep_alive: 0}")).scale.keep_alive == 0.0


def test_env_booleans_and_numbers_keep_the_text_as_written() -> None:
    m = load_manifest(yaml_with("env: {A: true, B: 1.10, C: 010, D: 2024-01-01, E: 7}"))
    assert m.env == {"A": "true", "B": "1.10", "C": "010", "D": "2024-01-01", "E": "7"}


def test_async_is_accepted_but_not_stored() -> None:
    m = load_manifest(yaml_with("async: {retries: 2}"))
    assert m == Manifest(name="hello", handler="main:handle")


def test_async_settings_are_parsed_with_durations_and_destinations() -> None:
    m = load_manifest(yaml_with(
        "async:\n  retries: 0\n  max_age: 10m\n  on_success: audit\n  on_failure: alarm:live"))
    assert m.async_ == AsyncSpec(retries=0, max_age=600.0, on_success="audit",
                                 on_failure="alarm:live")


def test_async_settings_survive_the_stored_dict_and_defaults_are_not_stored() -> None:
    m = load_manifest(yaml_with("async: {retries: 1, on_failure: alarm}"))
    assert manifest_from_dict(json.loads(json.dumps(manifest_to_dict(m)))) == m
    assert "async" not in manifest_to_dict(Manifest(name="hello", handler="main:handle"))


@pytest.mark.parametrize(("written", "expected"), [
    ("async: {retries: 11}", "async.retries must be 0..10, was: 11 (yun.yaml line 3)"),
    ("async: {max_age: 7h}", "async.max_age must be 60s..6h, was: '7h' (yun.yaml line 3)"),
    ("async:\n  on_success: Bad_Name",
     "async.on_success must be a function name, optionally with :alias or :version, "
     "was: 'Bad_Name' (yun.yaml line 4)"),
])
def test_bad_async_settings_name_the_key_value_and_line(written: str, expected: str) -> None:
    assert error_of(yaml_with(written)) == expected


def test_unknown_async_key_is_named() -> None:
    assert error_of(yaml_with("async:\n  retry: 2")).startswith(
        "unknown key 'retry' in async (yun.yaml line 4); did you mean 'retries'?")


# --- yun.yaml: what is rejected, and how it is reported ------------------------------------


def test_error_matches_the_house_style_exactly() -> None:
    text = "name: hello\nhandler: main:handle\nruntime: python3.11\nmemory: 99999\n"
    assert error_of(text) == "memory must be 64..10240 MiB, was: 99999 (yun.yaml line 4)"


def test_manifest_error_is_an_invalid_request() -> None:
    assert issubclass(ManifestError, InvalidRequest)


def test_unknown_key_names_the_key_and_line_and_suggests_the_closest() -> None:
    message = error_of(yaml_with("timeout: 2s\nmemroy: 128"))
    assert message.startswith("unknown key 'memroy' (yun.yaml line 4); did you mean 'memory'?")
    assert "known keys: async, concurrency, cpu, env, handler, memory" in message


def test_unknown_key_with_nothing_close_lists_the_known_keys_without_a_guess() -> None:
    message = error_of(yaml_with("zzzzzz: 1"))
    assert "did you mean" not in message
    assert message.startswith("unknown key 'zzzzzz' (yun.yaml line 3); known keys:")


def test_unknown_key_inside_scale_names_scale_and_the_line() -> None:
    message = error_of(yaml_with("scale:\n  min: 0\n  mx: 3\n"))
    assert message.startswith("unknown key 'mx' in scale (yun.yaml line 5); did you mean 'max'?")
    assert ("known keys: histogram_range, keep_alive, keep_alive_policy, max, min, target, "
            "target_utilization, window") in message


def test_filename_is_used_in_messages() -> None:
    with pytest.raises(ManifestError, match=r"\(fn/yun\.yaml line 3\)"):
        load_manifest(yaml_with("memory: 1"), filename="fn/yun.yaml")


@pytest.mark.parametrize("missing", ["name", "handler"])
def test_missing_required_key_is_named(missing: str) -> None:
    text = "\n".join(line for line in FULL.splitlines() if not line.startswith(missing))
    assert error_of(text) == f"missing required key {missing!r} (yun.yaml)"


def test_yaml_syntax_error_reports_the_line() -> None:
    message = error_of("name: hello\nhandler: main:handle\nenv: {A: 1\n")
    assert message.startswith("invalid YAML:")
    assert "(yun.yaml line 4)" in message


def test_unsafe_yaml_tags_are_refused_not_executed() -> None:
    message = error_of(yaml_with("env: {A: !!python/object/apply:os.system [echo]}"))
    assert message.startswith("invalid YAML:") and "line 3" in message


def test_several_yaml_documents_are_refused() -> None:
    assert error_of("name: a\n---\nname: b\n").startswith("invalid YAML:")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n"])
def test_empty_manifest_is_refused_clearly(text: str) -> None:
    assert "manifest is empty" in error_of(text)


@pytest.mark.parametrize("text", ["- name: a\n", "just a string\n", "42\n"])
def test_top_level_that_is_not_a_mapping_is_refused(text: str) -> None:
    assert error_of(text).startswith("manifest must be a mapping of keys to values, was:")


def test_duplicate_key_is_refused_naming_both_lines() -> None:
    message = error_of(yaml_with("memory: 128\nmemory: 256"))
    assert message == "duplicate key 'memory', first on line 3 (yun.yaml line 4)"


def test_duplicate_key_inside_scale_is_refused() -> None:
    assert error_of(yaml_with("scale: {max: 1, max: 2}")).startswith("duplicate key 'scale.max'")


@pytest.mark.parametrize("name", ["Hello", "1st", "-x", "a_b", "", "a" * 64, "hello\n"])
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    message = error_of(f"name: {json.dumps(name)}\nhandler: main:handle")
    assert message.startswith("name must be 1-63 lowercase letters, digits or '-'")
    assert "^[a-z][a-z0-9-]{0,62}$" in message and "(yun.yaml line 1)" in message


def test_longest_allowed_name_is_accepted() -> None:
    assert load_manifest(f"name: a{'b' * 62}\nhandler: m:f").name == "a" + "b" * 62


@pytest.mark.parametrize(
    "handler", ["main", "main:", ":handle", "main:handle:x", "my-mod:f", "m:class", "a..b:f", "1:f"]
)
def test_bad_handlers_are_refused(handler: str) -> None:
    message = error_of(f"name: hello\nhandler: {json.dumps(handler)}")
    assert message.startswith("handler must be module:function")
    assert message.endswith("(yun.yaml line 2)")


def test_unknown_runtime_lists_the_supported_ones() -> None:
    assert error_of(yaml_with("runtime: python3.9")) == (
        "runtime must be one of python3.11, python3.12, python3.13, was: 'python3.9'"
        " (yun.yaml line 3)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("63", "memory must be 64..10240 MiB, was: 63"),
        ("10241", "memory must be 64..10240 MiB, was: 10241"),
        ("true", "memory must be an integer 64..10240 MiB, was: True"),
        ("128.0", "memory must be an integer 64..10240 MiB, was: 128.0"),
        ("128MB", "memory must be an integer 64..10240 MiB, was: '128MB'"),
    ],
)
def test_memory_must_be_an_integer_in_range(value: str, expected: str) -> None:
    assert error_of(yaml_with(f"memory: {value}")) == f"{expected} (yun.yaml line 3)"


def test_cpu_is_a_number_of_cores() -> None:
    assert load_manifest(yaml_with("cpu: 1.5")).cpu == 1.5
    assert load_manifest(yaml_with("cpu: 2")).cpu == 2.0


def test_cpu_left_out_is_in_proportion_to_memory() -> None:
    assert load_manifest(yaml_with("memory: 128")).cpu is None
    assert instance_cpu(load_manifest(yaml_with("memory: 128"))) == 0.5
    assert instance_cpu(load_manifest(yaml_with("memory: 1024"))) == 4.0
    assert instance_cpu(load_manifest(yaml_with("cpu: 0.25"))) == 0.25


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0", "0"), ("0.01", "0.01"), ("65", "65"), ("true", "True"), ("'1'", "'1'"),
     (".nan", "nan"), ("[1]", "[1]")],
)
def test_cpu_out_of_range_names_the_value_and_line(value: str, shown: str) -> None:
    assert error_of(yaml_with(f"cpu: {value}")) == (
        f"cpu must be a number of cores from 0.05 to 64, was: {shown} (yun.yaml line 3)")


def test_wrong_type_for_timeout_names_the_expected_type() -> None:
    text = "name: hello\nhandler: main:handle\nmemory: 128\nruntime: python3.11\ntimeout: [1, 2]\n"
    assert error_of(text) == (
        "timeout must be a duration like 500ms, 2s, 10m, was: [1, 2] (yun.yaml line 5)"
    )


@pytest.mark.parametrize("value", ["0", "0s", "-1", "901", "1h", ".inf", ".nan"])
def test_timeout_must_be_positive_and_at_most_fifteen_minutes(value: str) -> None:
    message = error_of(yaml_with(f"timeout: {value}"))
    assert message.startswith("timeout must be")
    assert message.endswith("(yun.yaml line 3)")


@pytest.mark.parametrize("value", ["0", "1001", "yes", "'4'"])
def test_concurrency_must_be_an_integer_from_one_to_a_thousand(value: str) -> None:
    assert error_of(yaml_with(f"concurrency: {value}")).startswith("concurrency must be")


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("{min: -1}", "scale.min must be >= 0, was: -1"),
        ("{max: 0}", "scale.max must be 1..1000, was: 0"),
        ("{max: 1001}", "scale.max must be 1..1000, was: 1001"),
        ("{min: 5, max: 3}", "scale.min must be <= scale.max, was: min 5, max 3"),
        ("{min: 20}", "scale.min must be <= scale.max, was: min 20, max 10 by default"),
        ("{target: 0}", "scale.target must be a number > 0, was: 0"),
        ("{target: true}", "scale.target must be a number > 0, was: True"),
        ("{target: .inf}", "scale.target must be a number > 0, was: inf"),
        ("{keep_alive: -5}", "scale.keep_alive must be 0 or more, was: -5"),
        ("{keep_alive: .inf}", "scale.keep_alive must be 0 or more, was: inf"),
        ("{keep_alive: soon}", "scale.keep_alive must be a duration like 500ms, 2s, 10m"),
        ("[1, 10]", "scale must be a mapping like {min: 0, max: 10}, was: [1, 10]"),
        ("{keep_alive_policy: lru}",
         "scale.keep_alive_policy must be one of fixed, hybrid, was: 'lru'"),
        ("{window: 2s}", "scale.window must be 6s..1h, was: '2s'"),
        ("{target_utilization: 0}", "scale.target_utilization must be a number in (0, 1], was: 0"),
        ("{target_utilization: 1.5}",
         "scale.target_utilization must be a number in (0, 1], was: 1.5"),
        ("{window: 2h}", "scale.window must be 6s..1h, was: '2h'"),
        ("{keep_alive_policy: hybrid, histogram_range: 5m}",
         "scale.histogram_range must be 10m..24h, was: '5m'"),
        ("{keep_alive_policy: hybrid, histogram_range: 2d}",
         "scale.histogram_range must be 10m..24h, was: '2d'"),
        ("{keep_alive_policy: hybrid, histogram_range: later}",
         "scale.histogram_range must be a duration like 500ms, 2s, 10m"),
        ("{histogram_range: 1h}",
         "scale.histogram_range applies only with keep_alive_policy: hybrid, was: '1h' with "
         "keep_alive_policy: fixed"),
    ],
)
def test_scale_rules(scale: str, expected: str) -> None:
    message = error_of(yaml_with(f"scale: {scale}"))
    assert message.startswith(expected)
    assert message.endswith("(yun.yaml line 3)")


def test_scale_error_points_at_the_line_of_the_bad_value() -> None:
    assert error_of(yaml_with("scale:\n  min: 0\n  max: 0\n")).endswith("(yun.yaml line 5)")


def test_env_must_be_a_mapping() -> None:
    assert error_of(yaml_with("env: [A=1]")) == (
        "env must be a mapping of NAME: value, was: ['A=1'] (yun.yaml line 3)"
    )


@pytest.mark.parametrize("name", ["1A", "A-B", "A B", "'1'"])
def test_env_names_must_be_shell_identifiers(name: str) -> None:
    message = error_of(yaml_with(f"env:\n  {name}: x"))
    assert message.startswith("env name must match [A-Za-z_][A-Za-z0-9_]*")
    assert message.endswith("(yun.yaml line 4)")


def test_env_names_starting_with_yun_are_reserved() -> None:
    assert error_of(yaml_with("env:\n  A: b\n  YUN_TOKEN: x")) == (
        "env name 'YUN_TOKEN' is reserved: Yun sets the YUN_* names (yun.yaml line 5)"
    )


def test_env_value_left_empty_suggests_an_empty_string() -> None:
    assert 'write A: "" for an empty value' in error_of(yaml_with("env:\n  A:\n"))


def test_env_value_that_is_a_list_is_refused() -> None:
    message = error_of(yaml_with("env:\n  A: [1]"))
    assert message == "env A must be a string, number or boolean, was: [1] (yun.yaml line 4)"


@pytest.mark.parametrize("escaped", ["x\\0y", "\\ud800"])
def test_env_values_cannot_contain_nul_or_lone_surrogates(escaped: str) -> None:
    assert "cannot contain NUL or lone surrogates" in error_of(
        yaml_with(f'env: {{A: "{escaped}"}}')
    )


def test_env_of_exactly_4096_bytes_is_allowed_and_one_more_is_refused() -> None:
    fits = "A: " + "x" * 4095  # 1 byte of name + 4095 of value
    assert len(load_manifest(yaml_with(f"env:\n  {fits}")).env["A"]) == 4095
    message = error_of(yaml_with(f"env:\n  {fits}x"))
    assert (
        message
        == "env is 4097 bytes (names + values), more than the 4096 allowed (yun.yaml line 4)"
    )


def test_env_size_counts_utf8_bytes_not_characters() -> None:
    assert "env is 4097 bytes" in error_of(yaml_with("env:\n  A: " + "é" * 2048))


def test_env_with_more_than_a_thousand_entries_is_refused() -> None:
    entries = "".join(f"  V{i}: x\n" for i in range(1001))
    assert "env has 1001 entries, more than the 1000 allowed" in error_of(
        yaml_with("env:\n" + entries)
    )


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../requirements.txt", "deps/../../x", "..\\x.txt", "C:\\r.txt", "", 3]
)
def test_requirements_must_be_a_relative_path_inside_the_function(path: object) -> None:
    message = error_of(yaml_with(f"requirements: {json.dumps(path)}"))
    assert message == (
        "requirements must be a relative path inside the function's directory, like"
        f" requirements.txt, was: {path!r} (yun.yaml line 3)"
    )


def test_requirements_in_a_subdirectory_is_allowed() -> None:
    assert load_manifest(yaml_with("requirements: deps/req.txt")).requirements == "deps/req.txt"


@pytest.mark.parametrize("value", ["public", "off", "true"])
def test_network_must_be_none_or_egress(value: str) -> None:
    assert error_of(yaml_with(f"network: {value}")).startswith(
        "network must be one of none, egress, was:"
    )


def test_sandbox_is_process_by_default_and_runsc_on_request() -> None:
    assert load_manifest(yaml_with("")).sandbox == Tier.PROCESS
    runsc = load_manifest(yaml_with("sandbox: runsc"))
    assert runsc.sandbox == Tier.RUNSC
    assert manifest_from_dict(manifest_to_dict(runsc)) == runsc
    assert "sandbox" not in manifest_to_dict(load_manifest(yaml_with("")))


def test_sandbox_must_be_a_known_tier() -> None:
    assert error_of(yaml_with("sandbox: docker")).startswith(
        "sandbox must be one of process, runsc, was: 'docker'")


def test_a_runsc_sandbox_has_no_network() -> None:
    message = error_of(yaml_with("sandbox: runsc\nnetwork: egress\n"))
    assert message.startswith("network: egress is not available with sandbox: runsc")
    assert message.endswith("(yun.yaml line 4)")


def test_triggers_must_be_a_list_and_async_a_mapping() -> None:
    assert error_of(yaml_with("triggers: cron")).startswith("triggers must be a list, was: 'cron'")
    assert error_of(yaml_with("async: 3")).startswith("async must be a mapping, was: 3")


def test_long_values_are_shortened_in_messages() -> None:
    message = error_of(yaml_with(f"runtime: {'x' * 500}"))
    assert len(message) < 200 and "..." in message


def test_an_alias_bomb_gives_a_short_error_not_a_huge_one() -> None:
    lines = ["triggers:", "  - &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    message = error_of("\n".join([*lines, "name: a", "handler: m:f", "env: *l9"]))
    assert message.startswith("env must be a mapping of NAME: value") and len(message) < 300


def test_control_characters_are_a_manifest_error() -> None:
    assert error_of("name: a\x07\nhandler: m:f") == (
        "invalid YAML: special characters are not allowed (character #x0007) (yun.yaml)"
    )


def test_an_integer_too_long_to_convert_is_a_manifest_error() -> None:
    assert error_of(yaml_with("memory: " + "1" * 5000)).startswith("invalid YAML:")


def test_yaml_nested_too_deeply_is_a_manifest_error() -> None:
    assert (
        error_of(yaml_with("memory: " + "[" * 5000)) == "invalid YAML: nested too deeply (yun.yaml)"
    )


# --- @yun.function in a single file ---------------------------------------------------------

DECORATED = """\
import yun

@yun.function(
    memory=256,
    timeout="2s",
    scale={"min": 1, "max": 3, "keep_alive": "1m"},
    env={"GREETING": "hi", "DEBUG": True},
    network="egress",
)
def handle(event, context):
    return event
"""


def test_decorator_arguments_become_the_manifest() -> None:
    assert manifest_from_decorated_source(DECORATED, "hello_world.py") == Manifest(
        name="hello-world",
        handler="hello_world:handle",
        memory=256,
        timeout=2.0,
        scale=ScaleSpec(min=1, max=3, keep_alive=60.0),
        env={"GREETING": "hi", "DEBUG": "true"},
        network=Network.EGRESS,
    )


def test_bare_decorator_gives_the_defaults() -> None:
    m = manifest_from_decorated_source("import yun\n@yun.function\ndef run(e): ...\n", "job.py")
    assert m == Manifest(name="job", handler="job:run")


def test_imported_function_decorator_on_an_async_def_is_found() -> None:
    source = "from yun import function\n\n@function(name='greeter')\nasync def hi(e): ...\n"
    assert manifest_from_decorated_source(source, "app.py").handler == "app:hi"


def test_aliased_imports_are_recognised() -> None:
    source = "import yun as y\nfrom yun import function as fn\n@y.function()\ndef a(e): ...\n"
    assert manifest_from_decorated_source(source, "app.py").handler == "app:a"
    source = "from yun import function as fn\n@fn(memory=512)\ndef b(e): ...\n"
    assert manifest_from_decorated_source(source, "app.py").memory == 512


def test_a_plain_function_decorator_not_imported_from_yun_is_ignored() -> None:
    source = "from functools import cache as function\n@function\ndef a(): ...\n"
    assert "no top-level function decorated with @yun.function in app.py" in source_error_of(source)


def test_the_directory_in_the_filename_is_not_part_of_the_handler() -> None:
    m = manifest_from_decorated_source(DECORATED, "src/fns/hello.py")
    assert (m.name, m.handler) == ("hello", "hello:handle")


def test_the_decorator_takes_cpu_too() -> None:
    source = "import yun\n@yun.function(memory=512, cpu=1.5)\ndef run(e): ...\n"
    assert manifest_from_decorated_source(source, "job.py").cpu == 1.5


def test_decorated_source_is_never_executed() -> None:
    source = "import os\nos.exit(1)\nraise SystemExit\nimport yun\n@yun.function\ndef f(e): ...\n"
    assert manifest_from_decorated_source(source, "app.py").handler == "app:f"


def test_no_decorated_function_names_the_file() -> None:
    assert source_error_of("def f(e): ...\n", "svc.py") == (
        "no top-level function decorated with @yun.function in svc.py"
    )


def test_decorated_method_in_a_class_does_not_count() -> None:
    source = "import yun\nclass C:\n    @yun.function\n    def f(self): ...\n"
    assert source_error_of(source).startswith("no top-level function")


def test_two_decorated_functions_are_refused_naming_their_lines() -> None:
    source = "import yun\n@yun.function\ndef a(e): ...\n\n@yun.function\ndef b(e): ...\n"
    assert source_error_of(source) == (
        "app.py has 2 functions decorated with @yun.function (lines 2, 5);"
        " a single-file deploy needs exactly one"
    )


def test_python_syntax_error_names_the_file_and_line() -> None:
    message = source_error_of("import yun\n\ndef broken(:\n")
    assert message.startswith("invalid Python:") and message.endswith("(app.py line 3)")


def test_non_literal_argument_names_the_keyword_and_line() -> None:
    source = "import yun\nMB = 256\n@yun.function(\n    memory=MB * 2,\n)\ndef f(e): ...\n"
    assert source_error_of(source) == "memory= must be a literal, was: MB * 2 (app.py line 4)"


def test_positional_and_unpacked_arguments_are_refused() -> None:
    assert "keyword arguments only" in source_error_of(
        "import yun\n@yun.function('x')\ndef f(e): ...\n"
    )
    assert "cannot take **arguments" in source_error_of(
        "import yun\n@yun.function(**opts)\ndef f(e): ...\n"
    )


def test_huge_literals_are_reported_not_crashed_on() -> None:
    huge = "0x" + "f" * 5000
    message = source_error_of(f"import yun\n@yun.function(memory={huge})\ndef f(e): ...\n")
    assert message == "memory must be 64..10240 MiB, was: <int too large to show> (app.py line 2)"
    message = source_error_of(f"import yun\n@yun.function(env={{'A': {huge}}})\ndef f(e): ...\n")
    assert message == "env A is longer than the 4096 bytes allowed (app.py line 2)"


def test_repeated_argument_is_refused() -> None:
    source = "import yun\n@yun.function(memory=128, memory=256)\ndef f(e): ...\n"
    assert source_error_of(source) == "argument 'memory' given twice (app.py line 2)"


def test_unknown_argument_suggests_the_closest() -> None:
    message = source_error_of("import yun\n@yun.function(\n  timout=3)\ndef f(e): ...\n")
    assert message.startswith("unknown argument 'timout' (app.py line 3); did you mean 'timeout'?")


def test_handler_cannot_be_passed_to_the_decorator() -> None:
    message = source_error_of("import yun\n@yun.function(handler='x:y')\ndef f(e): ...\n")
    assert message.startswith("unknown argument 'handler'")


def test_decorator_values_are_validated_like_yaml_with_the_line() -> None:
    source = "import yun\n@yun.function(name='ok',\n    memory=99999)\ndef f(e): ...\n"
    assert source_error_of(source) == "memory must be 64..10240 MiB, was: 99999 (app.py line 3)"


def test_bad_key_inside_a_scale_dict_points_at_its_line() -> None:
    source = 'import yun\n@yun.function(scale={\n  "min": 0,\n  "max": -1})\ndef f(e): ...\n'
    assert source_error_of(source) == "scale.max must be 1..1000, was: -1 (app.py line 4)"


def test_a_file_name_that_is_not_a_module_name_is_refused() -> None:
    message = source_error_of(DECORATED, "my-app.py")
    assert message.startswith("file name must be an importable module name")


def test_a_default_name_that_is_invalid_asks_for_an_explicit_name() -> None:
    message = source_error_of(DECORATED, "Hello.py")
    assert "'Hello'" in message and "pass name=... to @yun.function" in message
    assert message.endswith("(Hello.py line 3)")


def test_an_explicit_name_overrides_the_file_name() -> None:
    source = "import yun\n@yun.function(name='billing-v2')\ndef f(e): ...\n"
    assert manifest_from_decorated_source(source, "Billing.py").name == "billing-v2"


# --- the stored form -----------------------------------------------------------------------


def test_to_dict_is_json_with_seconds_and_plain_strings() -> None:
    d = manifest_to_dict(load_manifest(FULL))
    assert d == {
        "name": "hello",
        "handler": "main:handle",
        "runtime": "python3.12",
        "memory": 256,
        "timeout": 0.5,
        "concurrency": 4,
        "scale": {"min": 1, "max": 20, "target": 2.5, "keep_alive": 600.0},  # defaults omitted
        "env": {"GREETING": "hi"},
        "requirements": "requirements.txt",
        "network": "egress",
    }
    assert json.loads(json.dumps(d)) == d
    assert type(d["network"]) is str


def test_from_dict_validates_and_names_the_source() -> None:
    d = manifest_to_dict(Manifest(name="a", handler="m:f")) | {"memory": 1}
    with pytest.raises(
        ManifestError, match=r"^memory must be 64\.\.10240 MiB, was: 1 \(stored manifest\)$"
    ):
        manifest_from_dict(d)


def test_from_dict_refuses_something_that_is_not_a_mapping() -> None:
    with pytest.raises(ManifestError, match="manifest must be a mapping"):
        manifest_from_dict([("name", "a")])  # type: ignore[arg-type]


identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s)
)


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    high = draw(st.integers(1, 1000))
    positive = st.floats(min_value=0, exclude_min=True, allow_infinity=False, allow_nan=False)
    env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
        lambda s: not s.startswith("YUN_")
    )
    env_values = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
    concurrency = draw(st.integers(1, 1000))
    return Manifest(
        name=draw(st.from_regex(r"[a-z][a-z0-9-]{0,62}", fullmatch=True)),
        handler=".".join(draw(st.lists(identifiers, min_size=1, max_size=3)))
        + ":"
        + draw(identifiers),
        runtime=draw(st.sampled_from(["python3.11", "python3.12", "python3.13"])),
        memory=draw(st.integers(64, 10240)),
        cpu=draw(st.none() | st.floats(min_value=0.05, max_value=64)),
        timeout=draw(st.floats(min_value=0, max_value=900, exclude_min=True)),
        concurrency=concurrency,
        scale=ScaleSpec(
            min=draw(st.integers(0, high)),
            max=high,
            target=draw(positive.filter(lambda t: t <= concurrency)),
            keep_alive=draw(st.floats(min_value=0, allow_infinity=False, allow_nan=False)),
        ),
        env=draw(st.dictionaries(env_names, env_values.map(lambda v: v[:40]), max_size=20)),
        requirements=draw(
            st.none() | st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8}){0,2}\.txt", fullmatch=True)
        ),
        network=draw(st.sampled_from(Network)),
    )


@given(manifests())
def test_any_valid_manifest_survives_the_json_round_trip(m: Manifest) -> None:
    stored = json.loads(json.dumps(manifest_to_dict(m), allow_nan=False))
    assert manifest_from_dict(stored) == m


@given(manifests())
def test_the_stored_form_is_stable(m: Manifest) -> None:
    d = manifest_to_dict(m)
    assert manifest_to_dict(manifest_from_dict(d)) == d


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
fields_with_junk = st.dictionaries(
    st.sampled_from(["name", "handler", "memory", "timeout", "scale", "env", "network"]),
    json_values,
)


@given(fields_with_junk)
def test_from_dict_with_junk_either_validates_or_raises_a_manifest_error(
    junk: dict[str, object],
) -> None:
    with contextlib.suppress(ManifestError):
        manifest_from_dict({"name": "a", "handler": "m:f", **junk})


@given(st.text(max_size=200))
def test_any_text_either_loads_or_raises_a_manifest_error(text: str) -> None:
    with contextlib.suppress(ManifestError):
        load_manifest(text)


def test_scale_target_defaults_to_concurrency() -> None:
    assert load_manifest(yaml_with("concurrency: 8\n")).scale.target == 8.0
    assert load_manifest(yaml_with("concurrency: 8\nscale: {max: 2}\n")).scale.target == 8.0


def test_scale_target_above_concurrency_is_refused_with_the_line() -> None:
    with pytest.raises(ManifestError, match=r"scale\.target must be at most concurrency \(1\).*"
                                            r"was: 4 \(yun\.yaml line 3\)"):
        load_manifest(yaml_with("scale: {target: 4}\n"))


def test_scale_settings_beyond_the_defaults_are_stored_and_read_back() -> None:
    m = load_manifest("name: a\nhandler: m:f\nscale: {keep_alive_policy: hybrid, window: 30s, "
                      "target_utilization: 0.7, histogram_range: 20m}\n")
    d = manifest_to_dict(m)
    assert d["scale"] == {"min": 0, "max": 10, "target": 1.0, "keep_alive": 600.0,
                          "keep_alive_policy": "hybrid", "window": 30.0,
                          "target_utilization": 0.7, "histogram_range": 1200.0}
    assert manifest_from_dict(d) == m
