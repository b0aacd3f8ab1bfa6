"""Rules every page follows, checked in the pages' source (a new widget cannot forget them)."""
import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[1] / "pages").glob("*.py"))


def _called_names(node) -> set:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None))
    return names


def _callbacks(tree):
    """(what is passed as on_change / on_select / on_click, the functions of the module by name)."""
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    passed = [kw.value for call in ast.walk(tree) if isinstance(call, ast.Call)
              for kw in call.keywords if kw.arg in ("on_change", "on_select", "on_click")
              and not (isinstance(kw.value, ast.Constant))]
    return passed, functions


def _changes_settings(node, functions, seen=()) -> tuple:
    """(does it change settings, does it call changing() first-hand or through a function it calls)."""
    names = _called_names(node)
    touches = bool(names & {"settings", "set_setting"})
    marks = "changing" in names
    for name in names - set(seen):
        if name in functions:
            t, m = _changes_settings(functions[name], functions, seen + (name,))
            touches, marks = touches or t, marks or m
    return touches, marks


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_callback_that_changes_settings_marks_itself_as_a_change(path):
    """A widget's callback that changes the settings calls ``shared.changing()``: its run may carry
    an older address (quick clicks), and unmarked it would be taken for a Back and lose a change."""
    tree = ast.parse(path.read_text())
    passed, functions = _callbacks(tree)
    for value in passed:
        node = functions.get(getattr(value, "id", None) or getattr(value, "attr", None), value)
        touches, marks = _changes_settings(node, functions)
        assert marks or not touches, f"{path.name}:{value.lineno}: callback changes settings without changing()"
