"""Deploy-time checks of a bundle's Python, without running it: syntax, handler, decorator.

Pure functions of source bytes, so a typo is refused at deploy with a message that points at
it, rather than surfacing later as a crashed cold start.
"""

from __future__ import annotations

import ast
import difflib
import sys
from collections.abc import Iterator

from yun.core.errors import BundleError

# Calls that bind module names we cannot see; a module using them may well define the handler.
_OPAQUE_CALLS = frozenset({"globals", "exec"})


def check_syntax(source: bytes, name: str) -> None:
    """Compile `source` (bytes, so a coding cookie is honoured); refuse it if it cannot be."""
    try:
        compile(source, name, "exec", dont_inherit=True)
    except SyntaxError as e:  # includes IndentationError, TabError and bad encodings
        line = f" line {e.lineno}" if e.lineno else ""
        raise BundleError(f"syntax error in {name}{line}: {e.msg}") from e
    except ValueError as e:  # NUL bytes, on some 3.11 releases
        raise BundleError(f"syntax error in {name}: {e}") from e
    except (RecursionError, MemoryError) as e:
        raise BundleError(f"cannot compile {name}: it is nested too deeply") from e


def has_decorator(source: bytes) -> bool:
    """Whether a top-level function is decorated with something called `function`.

    Deliberately loose (`@yun.function`, `@y.function`, `@function`): it only picks which file
    to hand to `manifest_from_decorated_source`, which checks precisely and explains problems.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                called = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(called, ast.Attribute) and called.attr == "function":
                    return True
                if isinstance(called, ast.Name) and called.id == "function":
                    return True
    return False


# Already imported in every sandbox before the handler is, so the import would find these and
# never the bundle's file of the same name.
_PLATFORM_MODULES = frozenset({"yun", "msgspec"})


def check_module_name(handler: str, module: str) -> None:
    """Refuse a handler module that would import from outside the bundle."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in _PLATFORM_MODULES:
        origin = "the platform's" if top in _PLATFORM_MODULES else "a standard-library"
        raise BundleError(f"handler {handler!r}: {top!r} is {origin} module name, so the "
                          "sandbox would import that module, not the bundle's; rename the module")


def module_files(module: str) -> tuple[str, str]:
    """Where the import system finds `module` in the bundle, in the order it looks."""
    base = module.replace(".", "/")
    return f"{base}/__init__.py", f"{base}.py"


def check_handler(handler: str, attribute: str, source: bytes, filename: str) -> None:
    """Refuse `handler` unless `attribute` is bound at the top level of its module `source`."""
    names, opaque = bound_names(ast.parse(source, filename))
    if opaque or attribute in names:
        return
    message = f"handler {handler!r} not found: {filename} defines no {attribute!r}"
    public = sorted(n for n in names if not n.startswith("__"))
    close = difflib.get_close_matches(attribute, public, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    elif public:
        shown = ", ".join(public[:10]) + (", ..." if len(public) > 10 else "")
        message += f"; it defines: {shown}"
    raise BundleError(message)


def bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names a module binds at its top level, and whether it may bind others we cannot see.

    Compound statements (if, try, with, for, while, match) do not open a scope, so names bound
    inside them count. A star import, a module `__getattr__`, a `global` statement, `globals()`
    or `exec` can bind anything: such a module is given the benefit of the doubt.
    """
    names: set[str] = set()
    opaque = False
    for node in _module_scope(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n for target in node.targets for n in _targets(target))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            if not isinstance(node, ast.AnnAssign) or node.value is not None:
                names.update(_targets(node.target))
        elif isinstance(node, ast.For | ast.AsyncFor):
            names.update(_targets(node.target))
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    names.update(_targets(item.optional_vars))
        elif isinstance(node, ast.Import):
            names.update(a.asname or a.name.partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            opaque |= any(a.name == "*" for a in node.names)
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                names.update(_captures(case.pattern))
    for any_node in ast.walk(tree):  # even inside functions: over-accepting is the safe side
        if isinstance(any_node, ast.NamedExpr):
            names.update(_targets(any_node.target))
        elif isinstance(any_node, ast.Global):
            names.update(any_node.names)
        elif isinstance(any_node, ast.Call) and isinstance(any_node.func, ast.Name):
            opaque |= any_node.func.id in _OPAQUE_CALLS
    return names, opaque or "__getattr__" in names


def _module_scope(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement that runs in the module's own scope, however deeply nested in blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for block in ("body", "orelse", "finalbody"):
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                yield from _module_scope(inner)
        if isinstance(node, ast.Try | ast.TryStar):
            for handler in node.handlers:
                yield from _module_scope(handler.body)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                yield from _module_scope(case.body)


def _targets(target: ast.expr) -> Iterator[str]:
    """Names an assignment target binds: `a`, `a, *b`, `[a, (b, c)]`; not `a.b` or `a[0]`."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _targets(element)
    elif isinstance(target, ast.Starred):
        yield from _targets(target.value)


def _captures(pattern: ast.pattern) -> Iterator[str]:
    for node in ast.walk(pattern):
        if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            yield node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node.rest
