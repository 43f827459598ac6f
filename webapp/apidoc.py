"""The OpenAPI description of the JSON API, assembled lazily from files in `openapi/`.

`openapi/base.json` holds the document's frame and the shared components; every other
`openapi/*.json` is a fragment for one audience (patient, staff, ops, ...) with its own
`paths`, `tags` and `components`, merged in name order. Adding an API means adding a
fragment, not editing a shared file. A name defined twice is an error, caught by the tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parent / "openapi"
BASE = "base.json"


class SpecError(ValueError):
    """Two fragments define the same path or component."""


def _merge_fragment(spec: dict[str, Any], fragment: dict[str, Any], source: str) -> None:
    for path, item in fragment.get("paths", {}).items():
        if path in spec["paths"]:
            raise SpecError(f"{source}: path {path} is already described")
        spec["paths"][path] = item
    for section, entries in fragment.get("components", {}).items():
        target = spec.setdefault("components", {}).setdefault(section, {})
        for name, value in entries.items():
            if name in target:
                raise SpecError(f"{source}: components.{section}.{name} is already defined")
            target[name] = value
    known = {tag["name"] for tag in spec.get("tags", [])}
    for tag in fragment.get("tags", []):
        if tag["name"] not in known:
            spec.setdefault("tags", []).append(tag)


def build_spec(spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    spec = json.loads((spec_dir / BASE).read_text(encoding="utf-8"))
    spec.setdefault("paths", {})
    for path in sorted(spec_dir.glob("*.json")):
        if path.name != BASE:
            _merge_fragment(spec, json.loads(path.read_text(encoding="utf-8")), path.name)
    return spec


def openapi_spec() -> dict[str, Any]:
    """A fresh copy of the whole document (callers may change it without harm)."""
    return json.loads(openapi_json())


@cache
def openapi_json() -> str:
    """The document as served, built on first use (not at import: cold starts stay cheap)."""
    return json.dumps(build_spec(), ensure_ascii=False, indent=1)
