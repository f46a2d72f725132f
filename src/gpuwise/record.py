"""Value records: what ``@dataclass`` gives the domain types, without its start-up cost.

A command of gpuwise answers in a few tens of milliseconds, and ``dataclasses`` would cost a
third of that on its own: importing it loads ``inspect`` (with ``ast``, ``dis``, ``tokenize``),
and each decorated class compiles its ``__init__``, ``__eq__``, ``__hash__`` and ``__repr__``
from generated source, about 0.5 ms a class for the thirty a plan loads. ``@record`` makes the
same kind of class from a few shared functions instead:

- ``__init__`` takes the fields in order, positionally or by name, with their defaults
  (a :func:`field` gives a ``default_factory`` or leaves a field out of comparisons);
- ``__eq__`` and ``__hash__`` over the compared fields; ``__repr__`` with every field;
- ``frozen=True`` (the default): assigning to an instance raises :class:`FrozenInstanceError`,
  and its hash is worked out once; a mutable record (``frozen=False``) is unhashable, as a
  mutable dataclass is;
- a ``__hash__`` the class defines itself is kept.

:func:`replace` and :func:`fields` stand for ``dataclasses.replace`` and ``dataclasses.fields``.
Type checkers read ``@record`` as a dataclass (PEP 681, ``dataclass_transform``).
"""

from __future__ import annotations

from operator import attrgetter  # loaded with collections, by every program

TYPE_CHECKING = False  # typing itself is not imported at run time (about 3 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_: Any) -> Any:
        return lambda f: f


_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class _Field:
    __slots__ = ("compare", "default", "default_factory")

    def __init__(self, default: Any, default_factory: Any, compare: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, compare: bool = True) -> Any:
    """A field's default (or a function making one per instance), and whether it counts in
    ``==`` and ``hash``."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("a field takes a default or a default_factory, not both")
    return _Field(default, default_factory, compare)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = True) -> Any:
    """Make ``cls`` a record of its annotated fields (see the module's docstring)."""

    def wrap(cls: type[T]) -> type[T]:
        return _make(cls, frozen)

    return wrap if cls is None else wrap(cls)


def _make(cls: type[T], frozen: bool) -> type[T]:
    # the class's own annotations, in order (inspect.get_annotations would import inspect)
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    compared = []
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        compare = True
        if isinstance(value, _Field):
            compare = value.compare
            if value.default_factory is not _MISSING:
                factories[name] = value.default_factory
            elif value.default is not _MISSING:
                defaults[name] = value.default
            if value.default is _MISSING:
                delattr(cls, name)  # the instance's value, never the class's
            else:
                setattr(cls, name, value.default)
        elif value is not _MISSING:
            defaults[name] = value
        if name not in defaults and name not in factories and (defaults or factories):
            raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with")
        if compare:
            compared.append(name)
    keys = tuple(compared)
    count = len(names)
    qualname = cls.__qualname__

    every = frozenset(names)
    tails = _tails(names, defaults, factories)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        values = self.__dict__
        # every field given, by position or by name: the common case, at once
        if not kwargs and len(args) == count:
            values.update(zip(names, args, strict=True))
            return
        # the first fields by position, the others their defaults: the next most common
        tail = None if kwargs else tails.get(len(args))
        if tail is not None:
            values.update(zip(names, args, strict=False))
            filled, made = tail
            values.update(filled)  # in field order, a made field's place held by None
            for name, factory in made:
                values[name] = factory()
            return
        if not args and len(kwargs) == count and kwargs.keys() == every:
            values.update(kwargs)
            return
        given = len(args)
        if given > count:
            raise TypeError(f"{qualname}() takes {count} arguments, {given} given")
        values.update(zip(names[:given], args, strict=True))
        for name in names[given:]:
            if name in kwargs:
                values[name] = kwargs.pop(name)
            elif name in defaults:
                values[name] = defaults[name]
            elif name in factories:
                values[name] = factories[name]()
            else:
                raise TypeError(f"{qualname}() is missing the field {name!r}")
        if kwargs:
            raise TypeError(f"{qualname}() got unknown or repeated fields: {', '.join(kwargs)}")

    # the compared fields as one tuple, read in C: records key the caches of every plan and
    # search, and a cache lookup compares a new record with an equal one field by field
    values: Callable[[Any], Any] = attrgetter(*keys) if keys else (lambda _: ())

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        if other is self:
            return True
        return bool(values(self) == values(other))

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{qualname}({shown})"

    made: dict[str, Any] = {
        "__init__": __init__,
        "__eq__": __eq__,
        "__repr__": __repr__,
        "__record_fields__": names,
    }
    own_hash = cls.__dict__.get("__hash__")
    if frozen:

        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r} of a {qualname}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r} of a {qualname}")

        def __hash__(self: Any) -> int:
            # worked out once: records key the caches of every plan and search
            found: int | None = self.__dict__.get("__hash")
            if found is None:
                found = hash(values(self))
                self.__dict__["__hash"] = found
            return found

        made.update(__setattr__=__setattr__, __delattr__=__delattr__)
        made["__hash__"] = own_hash or __hash__
    elif own_hash is None:
        made["__hash__"] = None  # mutable and compared by value: unhashable
    for name, value in made.items():
        setattr(cls, name, value)
    return cls


def _tails(
    names: tuple[str, ...], defaults: dict[str, Any], factories: dict[str, Callable[[], Any]]
) -> dict[int, tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]]:
    """Per number of fields given by position: the defaults of the fields after them (a field
    with a factory holding its place, None) and the factories, when every one has either."""
    out = {}
    for given in range(len(names)):
        rest = names[given:]
        if all(n in defaults or n in factories for n in rest):
            filled = {n: defaults.get(n) for n in rest}
            out[given] = (filled, [(n, factories[n]) for n in rest if n in factories])
    return out


def fields(obj: Any) -> tuple[str, ...]:
    """The field names of a record (class or instance), in order."""
    names: tuple[str, ...] = obj.__record_fields__
    return names


def replace(obj: T, **changes: Any) -> T:
    """A copy of the record ``obj`` with ``changes`` to its fields."""
    values = {name: getattr(obj, name) for name in fields(obj)}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field {', '.join(sorted(unknown))}")
    values.update(changes)
    return type(obj)(**values)
