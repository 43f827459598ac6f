"""The store's own DynamoDB attribute conversion agrees with boto3's for every type the
table holds, and refuses what boto3 refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from webapp.store.attributes import deserialize, serialize

VALUES = [
    "",
    "Ada Lovelace",
    "20301104-0900",
    "üñí \u2028 text",
    True,
    False,
    0,
    -7,
    1_900_000_000,
    10**37,
    Decimal("3.25"),
    Decimal("-0.001"),
    None,
    [],
    ["a", 1, None, True],
    {},
    {"from": "20301104-0900", "to": "20301105-1000", "at": "2030-11-01T10:00:00Z"},
    {"moves": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}], "count": 2},
    ("tuple", 1),
    {"x", "y"},
    {1, 2, Decimal("3.5")},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_serialize_matches_boto3(value):
    ours, theirs = serialize(value), TypeSerializer().serialize(value)
    if "SS" in theirs or "NS" in theirs:  # sets: order is not part of the value
        ((kind, members),) = theirs.items()
        assert list(ours) == [kind] and sorted(ours[kind]) == sorted(members)
    else:
        assert ours == theirs


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_deserialize_matches_boto3(value):
    attribute = TypeSerializer().serialize(value)
    ours, theirs = deserialize(attribute), TypeDeserializer().deserialize(attribute)
    assert ours == theirs
    assert type(ours) is type(theirs)


def test_numbers_come_back_as_decimal():
    assert deserialize(serialize(42)) == Decimal(42)
    assert isinstance(deserialize({"N": "42"}), Decimal)


@pytest.mark.parametrize("value", [1.5, b"bytes", object(), {"a", 1}, set(), 10**40 + 1], ids=repr)
def test_unsupported_or_inexact_values_are_refused(value):
    with pytest.raises((TypeError, ArithmeticError)):
        serialize(value)


@pytest.mark.parametrize("attribute", [{}, {"S": "a", "N": "1"}, {"B": b"x"}, {"Q": 1}])
def test_malformed_attribute_values_are_refused(attribute):
    with pytest.raises(TypeError):
        deserialize(attribute)
