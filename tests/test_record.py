"""``@record`` behaves as ``@dataclass`` does for everything the domain types use: construction
by position and name, defaults and factories, equality and hashing over the compared fields,
frozen instances, ``replace`` and ``fields`` — checked against dataclasses itself."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.record import FrozenInstanceError, field, fields, record, replace

from .checks import loads_none_of


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list, compare=False)


@dataclasses.dataclass(frozen=True)
class PointDC:
    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list, compare=False)


@record(frozen=False)
class Box:
    size: int
    notes: list[str] = field(default_factory=list)


values = st.integers() | st.text(max_size=5) | st.none()


@given(x=values, y=values, x2=values, y2=values, tags=st.lists(st.text(max_size=3)))
def test_equality_and_hash_as_dataclasses_compute_them(x, y, x2, y2, tags):
    a, b = Point(x, y, tags), Point(x2, y=y2)
    da, db = PointDC(x, y, tags), PointDC(x2, y=y2)
    assert (a == b) == (da == db)
    assert (hash(a) == hash(b)) or a != b  # equal records hash alike
    assert hash(a) == hash(Point(x, y))  # tags are not compared
    assert replace(a, y=y2) == Point(x, y2, tags)
    assert dataclasses.replace(da, y=y2) == PointDC(x, y2, tags)


def test_construction_by_position_name_and_default():
    assert Point(1) == Point(x=1) == Point(1, 0)
    assert Point(1, 2).y == 2 and Point(1, y=3).y == 3
    p, q = Point(1), Point(1)
    p.tags.append("a")
    assert q.tags == []  # a factory's value is each instance's own
    assert fields(Point) == ("x", "y", "tags") == tuple(f.name for f in dataclasses.fields(PointDC))
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"


@pytest.mark.parametrize(
    "call, says",
    [
        (lambda: Point(), "missing the field 'x'"),
        (lambda: Point(1, 2, [], 4), "takes 3 arguments"),
        (lambda: Point(1, z=2), "unknown or repeated fields: z"),
        (lambda: Point(1, x=2), "unknown or repeated fields: x"),
        (lambda: replace(Point(1), z=2), "no field z"),
    ],
)
def test_wrong_construction_is_a_type_error(call, says):
    with pytest.raises(TypeError, match=says):
        call()


def test_frozen_records_refuse_assignment_and_mutable_ones_are_unhashable():
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del p.x  # type: ignore[misc]
    b = Box(1)
    b.size = 2
    assert b == Box(2)
    with pytest.raises(TypeError):
        hash(b)


def test_a_hash_the_class_defines_is_kept():
    @record
    class Keyed:
        key: int
        other: int = 0

        def __hash__(self) -> int:
            return 7

    assert hash(Keyed(1)) == 7 == hash(Keyed(2, 3))


def test_a_field_without_default_after_one_with_is_refused():
    with pytest.raises(TypeError, match="'b' without a default"):

        @record
        class Bad:
            a: int = 0
            b: int


def test_the_domain_types_load_without_dataclasses():
    """The point of records: a plan's import loads neither dataclasses nor inspect."""
    loads_none_of("import gpuwise.plan.make, gpuwise.recommend.options", ("dataclasses", "inspect"))
