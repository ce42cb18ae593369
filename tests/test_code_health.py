"""Code health (issue 14): numpydoc sections on the public API of ``qdanalysis`` and short functions.

* Every public function (module level, name without a leading ``_``) and every public method of a public
  class has a docstring; one that takes arguments has a numpydoc ``Parameters`` section, one annotated to
  return something other than ``None`` a ``Returns`` (or ``Yields``) section.
* No function (public or private) has more than ``MAX_LINES`` lines of code (from ``def`` to its last line,
  the docstring not counted) unless a ``# long function: <reason>`` comment in it says why.

The checks read the source with :mod:`ast`; the helpers below are tested on small snippets so the checks
themselves can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qdanalysis"
MAX_LINES = 60
LONG_REASON = "# long function:"


def _section(doc: str, name: str) -> bool:
    lines = [line.strip() for line in doc.splitlines()]
    return any(a == name and b.startswith("---") and set(b) == {"-"} for a, b in zip(lines, lines[1:], strict=False))


def _is_property_like(node: ast.FunctionDef) -> bool:
    names = {getattr(d, "id", getattr(d, "attr", "")) for d in node.decorator_list}
    return bool(names & {"property", "cached_property", "setter", "overload"})


def _public_callables(tree: ast.Module):
    """(qualified name, node) of public functions and public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if (isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_")
                        and not _is_property_like(item)):
                    yield f"{node.name}.{item.name}", item


def docstring_problems(source: str) -> list[str]:
    """What the numpydoc rule finds wrong in one module's source (empty: all public callables comply)."""
    problems = []
    for name, node in _public_callables(ast.parse(source)):
        doc = ast.get_docstring(node)
        if not doc:
            problems.append(f"{name}: no docstring")
            continue
        args = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if a.arg not in ("self", "cls")]
        if node.args.vararg:
            args.append(node.args.vararg.arg)
        if node.args.kwarg:
            args.append(node.args.kwarg.arg)
        if args and not _section(doc, "Parameters"):
            problems.append(f"{name}: no Parameters section")
        returns = node.returns
        returns_none = returns is None or (isinstance(returns, ast.Constant) and returns.value is None)
        if not returns_none and not (_section(doc, "Returns") or _section(doc, "Yields")):
            problems.append(f"{name}: no Returns section")
    return problems


def long_functions(source: str, max_lines: int = MAX_LINES) -> list[str]:
    """Functions with more than ``max_lines`` lines (``def`` to last line, docstring left out) and no written
    reason."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if ast.get_docstring(node) is not None:
                length -= node.body[0].end_lineno - node.body[0].lineno + 1
            body = lines[node.lineno - 1:node.end_lineno]
            if length > max_lines and not any(LONG_REASON in line for line in body):
                found.append(f"{node.name} ({length} lines)")
    return found


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_public_api_has_numpydoc_sections(path):
    assert docstring_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_long_function_without_a_reason(path):
    assert long_functions(path.read_text(encoding="utf-8")) == []


def test_the_docstring_rule_catches_missing_sections():
    source = '''
def documented(x: float) -> float:
    """Twice x.

    Parameters
    ----------
    x : float
        A number.

    Returns
    -------
    float
        ``2 x``.
    """
    return 2 * x


def no_returns(x: float) -> float:
    """Twice x.

    Parameters
    ----------
    x : float
        A number.
    """
    return 2 * x


def no_parameters(x):
    """Twice x."""
    return 2 * x


def _private(x):
    return x


class Thing:
    def method(self, y) -> None:
        pass

    @property
    def size(self) -> int:
        return 1
'''
    assert docstring_problems(source) == ["no_returns: no Returns section", "no_parameters: no Parameters section",
                                          "Thing.method: no docstring"]


def test_the_length_rule_counts_lines_and_honours_a_reason():
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    assert long_functions(f"def f():\n{body}\n") == ["f (71 lines)"]
    assert long_functions(f"def f():\n    {LONG_REASON} one pass over a file format\n{body}\n") == []
    assert long_functions(f"def f():\n{body}\n", max_lines=80) == []
    docstring = '    """' + "\n".join(["Doc."] * 30) + '"""\n'
    assert long_functions(f"def f():\n{docstring}{body}\n") == ["f (71 lines)"]
