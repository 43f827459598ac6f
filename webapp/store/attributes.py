"""DynamoDB attribute values to Python and back, as boto3's TypeSerializer and
TypeDeserializer do it, for the types this table holds, without importing boto3 (the
low-level botocore client is all the store uses; boto3 would add ~60 modules to the first
read on a cold start).

| Python | DynamoDB |
| --- | --- |
| `str` | `S` |
| `bool` | `BOOL` |
| `int`, `Decimal` | `N` (read back as `Decimal`, like boto3) |
| `None` | `NULL` |
| `list`, `tuple` | `L` |
| `dict` (any mapping) | `M` |
| `set`/`frozenset` of `str` / of numbers | `SS` / `NS` |

Anything else (a `float`, `bytes`, a set of mixed types) is a TypeError, as it is for
boto3 (floats must be given as `Decimal`; the table stores no binary data).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# boto3's DYNAMODB_CONTEXT: DynamoDB numbers have 38 digits of precision, and a number that
# would be rounded or clamped is an error rather than a silent change.
NUMBER_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def _number(value: int | Decimal) -> str:
    return str(NUMBER_CONTEXT.create_decimal(value))


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (`{"S": "..."}`, ...)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: a bool is an int
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(key): serialize(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    if isinstance(value, set | frozenset) and value:
        if all(isinstance(item, str) for item in value):
            return {"SS": list(value)}
        if all(isinstance(item, int | Decimal) and not isinstance(item, bool) for item in value):
            return {"NS": [_number(item) for item in value]}
    raise TypeError(f"Unsupported type {type(value).__name__!r} for a DynamoDB value")


def deserialize(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as Python (numbers as `Decimal`)."""
    if len(attribute) != 1:
        raise TypeError("A DynamoDB attribute value has exactly one type key")
    (kind, value), *_ = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return NUMBER_CONTEXT.create_decimal(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {key: deserialize(item) for key, item in value.items()}
    if kind == "L":
        return [deserialize(item) for item in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {NUMBER_CONTEXT.create_decimal(item) for item in value}
    raise TypeError(f"Unsupported DynamoDB type {kind!r}")
