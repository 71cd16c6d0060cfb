from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from yun.core.errors import BundleError, ManifestError
from yun.storage import MAX_BUNDLE_BYTES, MAX_FILES, MAX_UNPACKED_BYTES, pack, unpack

YUN_YAML = "name: hello\nhandler: main:handle\n"
MAIN_PY = "def handle(event, context):\n    return event\n"
GOOD = {"yun.yaml": YUN_YAML, "main.py": MAIN_PY}

DECORATED = """\
import yun


@yun.function(memory=256)
def handle(event, context):
    return {"ok": True}
"""


def zip_of(files: Mapping[str, str | bytes]) -> bytes:
    """A plain zip built directly (not with `pack`), so tests can add what pack never would."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def set_declared_size(data: bytes, size: int) -> bytes:
    """Rewrite every entry's uncompressed size, in the local and the central headers."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = patched.find(signature)
        while at != -1:
            struct.pack_into("<I", patched, at + offset, size)
            at = patched.find(signature, at + 4)
    return bytes(patched)


# --- good bundles ---------------------------------------------------------------------------


def test_unpack_of_a_folder_bundle_reads_its_yun_yaml_and_requirements(
    function_dir: Callable[..., Path], tmp_path: Path
) -> None:
    yaml = YUN_YAML + "requirements: requirements.txt\nmemory: 256\n"
    folder = function_dir({"yun.yaml": yaml, "requirements.txt": "attrs\n", "lib/x.py": ""})
    bundle = unpack(pack(folder), tmp_path / "staging")
    assert (bundle.manifest.name, bundle.manifest.handler) == ("hello", "main:handle")
    assert bundle.manifest.memory == 256
    assert bundle.requirements == b"attrs\n"
    assert bundle.files == 4
    assert bundle.code_size == sum(len(v) for v in (yaml, "attrs\n", MAIN_PY))
    assert bundle.root == tmp_path / "staging"
    assert (bundle.root / "lib" / "x.py").is_file()


def test_unpack_of_a_single_decorated_file_takes_the_manifest_from_the_decorator(
    tmp_path: Path,
) -> None:
    (tmp_path / "hello_world.py").write_text(DECORATED)
    bundle = unpack(pack(tmp_path / "hello_world.py"), tmp_path / "staging")
    assert bundle.manifest.name == "hello-world"
    assert bundle.manifest.handler == "hello_world:handle"
    assert bundle.manifest.memory == 256
    assert bundle.requirements is None


def test_unpack_accepts_yun_yml(tmp_path: Path) -> None:
    bundle = unpack(zip_of({"yun.yml": YUN_YAML, "main.py": MAIN_PY}), tmp_path / "s")
    assert bundle.manifest.name == "hello"


def test_code_hash_is_stable_across_packs_and_changes_with_the_code(
    function_dir: Callable[..., Path], tmp_path: Path
) -> None:
    first = unpack(pack(function_dir()), tmp_path / "a").code_hash
    again = unpack(pack(function_dir()), tmp_path / "b").code_hash
    edited = function_dir({"main.py": MAIN_PY + "# edited\n"})
    other = unpack(pack(edited), tmp_path / "c").code_hash
    assert first == again
    assert other != first


def test_code_hash_covers_the_executable_bit(
    function_dir: Callable[..., Path], tmp_path: Path
) -> None:
    plain = function_dir()
    executable = function_dir()
    (executable / "main.py").chmod(0o755)
    hashes = {unpack(pack(f), tmp_path / "s" / f.name).code_hash for f in (plain, executable)}
    assert len(hashes) == 2


# --- refused archives -----------------------------------------------------------------------


def test_unpack_refuses_bytes_that_are_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"not a zip archive"):
        unpack(b"definitely not a zip", tmp_path / "s")


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("../evil.py", "contains '..'"),
        ("lib/../../evil.py", "contains '..'"),
        ("/abs/evil.py", "is an absolute path"),
        ("C:/evil.py", "is an absolute path"),
        ("..\\evil.py", "must use /"),
    ],
)
def test_unpack_refuses_an_entry_that_could_escape_the_bundle(
    tmp_path: Path, entry: str, why: str
) -> None:
    with pytest.raises(BundleError, match=re.escape(f"{entry!r} {why}")):
        unpack(zip_of({**GOOD, entry: "x"}), tmp_path / "s")
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "s").exists()


def test_unpack_refuses_a_symlink_entry(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in GOOD.items():
            archive.writestr(name, content)
        link = zipfile.ZipInfo("passwd")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(BundleError, match=r"'passwd' is a symlink"):
        unpack(buffer.getvalue(), tmp_path / "s")


def with_mode(files: Mapping[str, str], name: str, content: str, mode: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for other, text in files.items():
            archive.writestr(other, text)
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = mode << 16
        archive.writestr(info, content)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", [0o104755, 0o102755])
def test_unpack_refuses_setuid_and_setgid_files(tmp_path: Path, mode: int) -> None:
    expected = rf"'tool' has the setuid or setgid bit \(mode {mode & 0o7777:04o}\)"
    with pytest.raises(BundleError, match=expected):
        unpack(with_mode(GOOD, "tool", "#!/bin/sh\n", mode), tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_unpack_refuses_a_manifest_too_large_to_parse_before_parsing_it(tmp_path: Path) -> None:
    huge = YUN_YAML + "env:\n" + "".join(f"  V{i}: x\n" for i in range(10_000))
    with pytest.raises(BundleError, match=r"yun.yaml is \d+ bytes, more than the 64 KiB"):
        unpack(zip_of({"yun.yaml": huge, "main.py": MAIN_PY}), tmp_path / "s")


def test_unpack_refuses_a_python_file_too_large_to_compile_in_the_server(tmp_path: Path) -> None:
    big = MAIN_PY + "X = '" + "x" * (3 << 20) + "'\n"
    with pytest.raises(BundleError, match=r"main.py is 3.0 MiB, more than the 2.0 MiB"):
        unpack(zip_of({"yun.yaml": YUN_YAML, "main.py": big}), tmp_path / "s")


@pytest.mark.parametrize(("handler", "origin"), [
    ("os:system", "a standard-library"), ("json.decoder:scanstring", "a standard-library"),
    ("yun.server:main", "the platform's"), ("msgspec:json", "the platform's"),
])
def test_unpack_refuses_a_handler_module_the_sandbox_would_import_from_outside(
        tmp_path: Path, handler: str, origin: str) -> None:
    module = handler.partition(":")[0].replace(".", "/")
    files = {"yun.yaml": f"name: x\nhandler: {handler}\n",
             f"{module}.py": f"def {handler.partition(':')[2]}(e, c):\n    return 1\n"}
    with pytest.raises(BundleError, match=f"is {origin} module name"):
        unpack(zip_of(files), tmp_path / "s")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_unpack_refuses_an_entry_that_appears_twice(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in [*GOOD.items(), ("main.py", "handle = None\n")]:
            archive.writestr(name, content)
    with pytest.raises(BundleError, match=r"'main.py' appears twice"):
        unpack(buffer.getvalue(), tmp_path / "s")


def test_unpack_refuses_more_entries_than_allowed(tmp_path: Path) -> None:
    files = {**GOOD, **{f"f/{i}.txt": "" for i in range(MAX_FILES)}}
    with pytest.raises(BundleError, match=f"{MAX_FILES + 2} entries, more than the {MAX_FILES}"):
        unpack(zip_of(files), tmp_path / "s")


def test_unpack_refuses_an_upload_over_the_size_limit(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"more than the 50.0 MiB allowed"):
        unpack(b"\0" * (MAX_BUNDLE_BYTES + 1), tmp_path / "s")


def test_unpack_refuses_a_bundle_that_declares_too_many_unpacked_bytes(tmp_path: Path) -> None:
    declared = MAX_UNPACKED_BYTES + 1
    bomb = set_declared_size(zip_of({"bomb.bin": b"\0" * 1000}), declared)
    with pytest.raises(BundleError, match=f"unpacks to {declared} bytes"):
        unpack(bomb, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_unpack_refuses_an_entry_whose_header_understates_its_size(tmp_path: Path) -> None:
    liar = set_declared_size(zip_of({"bomb.bin": b"\0" * 1_000_000}), 10)
    with pytest.raises(BundleError, match=r"'bomb.bin'"):
        unpack(liar, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_unpack_refuses_a_staging_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep").write_text("")
    with pytest.raises(ValueError, match=r"must be empty"):
        unpack(zip_of(GOOD), tmp_path / "s")
    assert (tmp_path / "s" / "keep").exists()


# --- manifest -------------------------------------------------------------------------------


def test_unpack_without_a_manifest_or_decorated_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"^no yun.yaml and no .py file with @yun.function$"):
        unpack(zip_of({"main.py": MAIN_PY}), tmp_path / "s")


def test_unpack_of_a_zipped_folder_hints_at_zipping_its_contents(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"found hello/yun.yaml: zip the folder's contents"):
        unpack(zip_of({"hello/yun.yaml": YUN_YAML, "hello/main.py": MAIN_PY}), tmp_path / "s")


def test_unpack_refuses_two_decorated_files_without_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"several .py files with @yun.function \(a.py, b.py\)"):
        unpack(zip_of({"a.py": DECORATED, "b.py": DECORATED}), tmp_path / "s")


def test_an_invalid_yun_yaml_raises_manifest_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"memory must be .* \(yun.yaml line 3\)"):
        unpack(zip_of({**GOOD, "yun.yaml": YUN_YAML + "memory: 1\n"}), tmp_path / "s")


def test_unpack_refuses_a_manifest_naming_a_missing_requirements_file(tmp_path: Path) -> None:
    yaml = YUN_YAML + "requirements: deps/requirements.txt\n"
    with pytest.raises(BundleError, match=r"'deps/requirements.txt' named in yun.yaml is not in"):
        unpack(zip_of({**GOOD, "yun.yaml": yaml}), tmp_path / "s")


# --- code checks ----------------------------------------------------------------------------


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    broken = "import os\n\ndef helper(:\n    pass\n"
    with pytest.raises(BundleError, match=r"^syntax error in lib/util.py line 3: "):
        unpack(zip_of({**GOOD, "lib/util.py": broken}), tmp_path / "s")


def test_a_syntax_error_in_a_decorated_file_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"syntax error in app.py line 6"):
        unpack(zip_of({"app.py": DECORATED.replace("return", "return )")}), tmp_path / "s")


def test_a_missing_handler_module_says_where_it_looked(tmp_path: Path) -> None:
    yaml = "name: hello\nhandler: app.api:handle\n"
    message = (
        "handler 'app.api:handle': no module app.api "
        "(looked for app/api.py and app/api/__init__.py)"
    )
    with pytest.raises(BundleError, match=re.escape(message)):
        unpack(zip_of({**GOOD, "yun.yaml": yaml}), tmp_path / "s")


def test_a_missing_handler_function_suggests_the_close_name(tmp_path: Path) -> None:
    yaml = "name: hello\nhandler: main:handel\n"
    message = "handler 'main:handel' not found: main.py defines no 'handel'; did you mean 'handle'?"
    with pytest.raises(BundleError, match=f"^{re.escape(message)}$"):
        unpack(zip_of({**GOOD, "yun.yaml": yaml}), tmp_path / "s")


def test_a_missing_handler_function_without_close_names_lists_what_is_defined(
    tmp_path: Path,
) -> None:
    yaml = "name: hello\nhandler: main:zzz\n"
    with pytest.raises(BundleError, match=r"defines no 'zzz'; it defines: handle$"):
        unpack(zip_of({**GOOD, "yun.yaml": yaml}), tmp_path / "s")


@pytest.mark.parametrize(
    "source",
    [
        "async def handle(event, context): ...\n",
        "class handle: ...\n",
        "handle = lambda event, context: event\n",
        "from os.path import join as handle\n",
        "import os.path as handle\n",
        "try:\n    import ujson as json\nexcept ImportError:\n    json = None\nelse:\n    pass\n"
        "if json:\n    def handle(e, c): ...\nelse:\n    handle = None\n",
        "from helpers import *\n",
        "def __getattr__(name): ...\n",
        "def setup():\n    global handle\n    handle = print\n",
        "handler, handle = None, None\n",
    ],
)
def test_a_handler_bound_at_module_level_in_any_form_is_accepted(
    tmp_path: Path, source: str
) -> None:
    unpack(zip_of({**GOOD, "main.py": source}), tmp_path / "s")


def test_a_name_bound_only_inside_a_function_is_not_a_handler(tmp_path: Path) -> None:
    source = "def make():\n    handle = 1\n    return handle\n"
    with pytest.raises(BundleError, match=r"defines no 'handle'"):
        unpack(zip_of({**GOOD, "main.py": source}), tmp_path / "s")


def test_a_dotted_handler_module_is_found_as_a_package_path(tmp_path: Path) -> None:
    yaml = "name: hello\nhandler: app.api:handle\n"
    files = {"yun.yaml": yaml, "app/__init__.py": "", "app/api/__init__.py": MAIN_PY}
    assert unpack(zip_of(files), tmp_path / "s").manifest.module == "app.api"


def test_a_coding_cookie_is_honoured_when_checking_the_source(tmp_path: Path) -> None:
    latin1 = "# -*- coding: latin-1 -*-\nhandle = 'é'\n".encode("latin-1")
    unpack(zip_of({**GOOD, "main.py": latin1}), tmp_path / "s")
