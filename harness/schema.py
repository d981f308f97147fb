"""Does a value read from JSON or YAML fit a dataclass field's type hint?

Reference budgets (Spec fields) and stored results (RunResult fields) arrive as
plain JSON/YAML values; a wrong type there must be an error at load time, naming
the field, not a TypeError deep inside a run. Only the hints those two dataclasses
use are understood: str, int, float, bool, None, Any, unions, list/tuple and dict.
"""
from __future__ import annotations

import types
import typing
from typing import Any


def is_number(value: Any) -> bool:
    """int or float, but not bool (YAML's `yes` and JSON's `true` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def conforms(value: Any, hint: Any) -> bool:
    """True when `value` (as JSON/YAML gives it: lists for tuples) fits `hint`."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if hint is float:
        return is_number(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return isinstance(value, hint)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:  # fixed-length tuple
            return len(value) == len(args) and all(conforms(v, a) for v, a in zip(value, args))
        return all(conforms(v, args[0]) for v in value) if args else True
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            return False
        return all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()) if args else True
    raise TypeError(f"conforms() does not understand the type hint {hint!r}")


def describe(hint: Any) -> str:
    """A short human name for a hint: 'int', 'int or None', 'list of str'."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if hint is float:
        return "a number"
    if origin in (list, tuple):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
