"""The README's map of the code names every module, and every module says what it is for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = ROOT / "webapp"
MAX_MODULE_LINES = 420


def _modules() -> list[Path]:
    return sorted(path for path in WEBAPP.rglob("*.py") if "__pycache__" not in path.parts)


def _readme_map() -> dict[str, str]:
    """Module path (relative to webapp/) -> its line in the README's code map."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\nwebapp/\n(.*?)```", text, re.S)
    assert block, "README.md has no code map starting with webapp/"
    entries: dict[str, str] = {}
    package = ""
    for line in block.group(1).splitlines():
        match = re.match(r"^( +)(\S+)\s+(.*)$", line)
        if not match:
            continue
        indent, name, description = len(match.group(1)), match.group(2), match.group(3)
        if indent == 2:
            package = name if name.endswith("/") else ""
            if not name.endswith("/"):
                entries[name] = description
        elif indent == 4 and package:
            entries[package + name] = description
    return entries


def test_readme_names_every_module_and_no_other():
    mapped = set(_readme_map())
    actual = {str(path.relative_to(WEBAPP)) for path in _modules()}
    assert actual - mapped == set(), "modules missing from README.md's code map"
    assert mapped - actual == set(), "README.md's code map names modules that do not exist"


def test_every_module_has_a_docstring_and_stays_small():
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        assert ast.get_docstring(ast.parse(source)), f"{path} has no module docstring"
        lines = source.count("\n")
        assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines; split it along a seam"
