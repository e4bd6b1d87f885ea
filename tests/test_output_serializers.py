"""Every DRF answer is an output serializer's `.data`, and the view's `extend_schema(responses=...)` names that
same serializer: so the schema is true by construction, not by care. A scan of the source, since a hand-built
body and a shape described beside it are exactly what a review misses."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("dispatch", "pickup", "rider")

# Modules allowed to build a DRF Response from something other than an output serializer, and why.
ALLOWED = {
    # The one exception handler: every error body ({code, detail[, errors]}), declared as ErrorOut on every
    # operation by dispatch/schema.py.
    "dispatch/errors.py",
    # Idempotent create and cancel: the body is the first answer's OutputSerializer(...).data, kept and replayed
    # as it was (services/intake.py `idempotent`).
    "dispatch/intake/replay.py",
}


def _app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _is_response(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Response"


def _rendered_by(call: ast.Call) -> str | None:
    """`Response(SomethingOut(...).data, ...)` -> "SomethingOut"; anything else -> None."""
    if not call.args:
        return None
    body = call.args[0]
    if (isinstance(body, ast.Attribute) and body.attr == "data" and isinstance(body.value, ast.Call)
            and isinstance(body.value.func, ast.Name) and body.value.func.id.endswith("Out")):
        return body.value.func.id
    return None


def _declared(decorator: ast.AST) -> set[str]:
    """The serializer names in `extend_schema(responses=...)`: a class, a class called (many=True), or a dict
    of them by status."""
    names: set[str] = set()
    if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "extend_schema"):
        return names
    for keyword in decorator.keywords:
        if keyword.arg == "responses":
            for node in ast.walk(keyword.value):
                if isinstance(node, ast.Name):
                    names.add(node.id)
    return names


def test_no_inline_serializer_and_no_hand_built_body():
    problems = []
    for name, tree in _app_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.alias) and getattr(node, "id", getattr(node, "name", "")) == \
                    "inline_serializer":
                problems.append(f"{name}:{getattr(node, 'lineno', '?')}: inline_serializer")
            if _is_response(node) and name not in ALLOWED and _rendered_by(node) is None:
                problems.append(f"{name}:{node.lineno}: Response(...) of something other than SomethingOut(...).data")
    assert problems == []


def test_each_view_declares_the_serializer_it_renders():
    checked, problems = 0, []
    for name, tree in _app_modules():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            rendered = {_rendered_by(n) for n in ast.walk(func) if _is_response(n)} - {None}
            if not rendered:
                continue
            declared = set().union(*(_declared(d) for d in func.decorator_list))
            checked += 1
            if not rendered <= declared:
                problems.append(f"{name}:{func.lineno} {func.name} renders {sorted(rendered)}, "
                                f"declares {sorted(declared)}")
    assert problems == []
    assert checked >= 30  # every API method: a scan that finds nothing proves nothing


def test_selectors_hold_no_presenters():
    modules = sorted((ROOT / "dispatch" / "selectors").glob("*.py"))
    assert len(modules) > 1  # the package's modules, not an empty glob
    presenters = [f"{path.name}:{f.name}" for path in modules for f in ast.walk(ast.parse(path.read_text()))
                  if isinstance(f, ast.FunctionDef) and f.name.endswith("_view")]
    assert presenters == []


def test_the_scan_sees_a_hand_built_body():
    tree = ast.parse("Response({'id': 1})\nResponse([x for x in y])\nResponse(result)\nResponse(FooOut(o).data)")
    calls = [n for n in ast.walk(tree) if _is_response(n)]
    assert [_rendered_by(c) for c in calls] == [None, None, None, "FooOut"]
