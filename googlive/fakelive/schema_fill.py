"""Example JSON that fits a response schema, for the offline ``generateContent`` endpoint.

Accepts both schema dialects the SDK may send: Gemini's OpenAPI subset (``responseSchema``:
``type: "OBJECT"``, ``nullable``, ``propertyOrdering``, int64 bounds as strings) and JSON Schema
(``responseJsonSchema``: lowercase types, type lists, ``$ref``/``$defs``, ``const``, ``oneOf``).
Strings are honest offline text built by the caller; arrays get 1-2 items (within bounds), enums
their first value, numbers a value inside their bounds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

StringMaker = Callable[[str], str]  # field path -> text


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _types(schema: dict[str, Any]) -> list[str]:
    raw = schema.get("type")
    if isinstance(raw, list):
        return [str(t).lower() for t in raw]
    if isinstance(raw, str):
        return [raw.lower()]
    return []


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return schema
        node = node[part]
    merged = dict(node) if isinstance(node, dict) else {}
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    return merged


def fill(
    schema: dict[str, Any],
    make_string: StringMaker,
    *,
    root: dict[str, Any] | None = None,
    path: str = "",
    depth: int = 0,
) -> Any:
    """A value that validates against ``schema``; ``make_string(path)`` supplies free text."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if depth > 12:
        return None
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [
                o
                for o in options
                if isinstance(o, dict) and "null" not in _types(_resolve(o, root))
            ]
            return fill(
                (non_null or options)[0], make_string, root=root, path=path, depth=depth + 1
            )
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for part in all_of:
            if isinstance(part, dict):
                merged.update(_resolve(part, root))
        return fill(merged, make_string, root=root, path=path, depth=depth + 1)

    types = [t for t in _types(schema) if t != "null"]
    kind = (
        types[0]
        if types
        else ("object" if "properties" in schema else "array" if "items" in schema else "string")
    )
    if kind == "object":
        return _fill_object(schema, make_string, root, path, depth)
    if kind == "array":
        lo = int(_num(schema.get("minItems", schema.get("min_items"))) or 0)
        hi_raw = _num(schema.get("maxItems", schema.get("max_items")))
        count = max(lo, 1 if hi_raw is not None and hi_raw < 2 else 2)
        if hi_raw is not None:
            count = min(count, int(hi_raw))
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
        return [
            fill(items, make_string, root=root, path=f"{path}[{i}]", depth=depth + 1)
            for i in range(count)
        ]
    if kind in ("integer", "number"):
        return _fill_number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    return _fill_string(schema, make_string, path)


def _fill_object(
    schema: dict[str, Any], make_string: StringMaker, root: dict[str, Any], path: str, depth: int
) -> dict[str, Any]:
    props = schema.get("properties") or {}
    order = schema.get("propertyOrdering") or schema.get("property_ordering") or list(props)
    names = [n for n in order if n in props] + [n for n in props if n not in order]
    out: dict[str, Any] = {}
    for name in names:
        sub = props[name]
        if isinstance(sub, dict):
            out[name] = fill(
                sub,
                make_string,
                root=root,
                path=f"{path}.{name}" if path else name,
                depth=depth + 1,
            )
    return out


def _fill_number(schema: dict[str, Any], *, integer: bool) -> int | float:
    lo = _num(schema.get("minimum"))
    hi = _num(schema.get("maximum"))
    ex_lo = schema.get("exclusiveMinimum")
    ex_hi = schema.get("exclusiveMaximum")
    if isinstance(ex_lo, (int, float)) and not isinstance(ex_lo, bool):
        lo = ex_lo + (1 if integer else 1e-6)
    if isinstance(ex_hi, (int, float)) and not isinstance(ex_hi, bool):
        hi = ex_hi - (1 if integer else 1e-6)
    if lo is not None and hi is not None:
        value = lo + (hi - lo) / 2
    elif lo is not None:
        value = lo
    elif hi is not None:
        value = min(hi, 0.0)
    else:
        value = 0.0
    if integer:
        ivalue = math.floor(value)
        if lo is not None and ivalue < lo:
            ivalue = math.ceil(lo)
        return int(ivalue)
    return float(value)


def _fill_string(schema: dict[str, Any], make_string: StringMaker, path: str) -> str:
    fmt = str(schema.get("format", "")).lower()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if fmt == "date-time":
        return now.isoformat().replace("+00:00", "Z")
    if fmt == "date":
        return now.date().isoformat()
    if fmt == "time":
        return now.time().isoformat()
    if fmt == "email":
        return "offline-demo@example.invalid"
    if fmt in ("uri", "url"):
        return "https://example.invalid/offline-demo"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    text = make_string(path)
    lo = int(_num(schema.get("minLength", schema.get("min_length"))) or 0)
    hi = _num(schema.get("maxLength", schema.get("max_length")))
    if hi is not None and len(text) > hi:
        text = text[: int(hi)]
    if len(text) < lo:
        text = text + "." * (lo - len(text))
    return text


def violate(schema: dict[str, Any]) -> Any:
    """JSON that certainly does not fit ``schema`` (a value of the wrong top-level type)."""
    kinds = _types(schema) or (["object"] if "properties" in schema else ["string"])
    if "object" in kinds:
        return ["offline demo: deliberately schema-violating response (rest_bad_responses)"]
    if "array" in kinds:
        return {"offline_demo_error": "deliberately schema-violating response"}
    return {"offline_demo_error": ["deliberately", "schema-violating"]}
