"""PHP-style array form fields, the way Movizor (a PHP service) reads arrays.

Movizor takes arrays as bracketed field names: ``destination[0][text]=Казань``,
``destination[0][coord]=55.76,49.19``, ``metadata[Склад]=Восточный``, ``st[0]=12:00``.
:func:`encode_php_form` turns nested dicts and lists into such (name, value) pairs;
:func:`decode_php_form` does what PHP does with them on the way in (the simulator uses it, and the
round trip is property-tested). Lists are written with explicit indexes (``phone[0]``); PHP reads
``phone[]`` the same way and the decoder accepts both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

FormScalar: TypeAlias = str | int | float | bool
FormValue: TypeAlias = "FormScalar | Mapping[str, FormValue] | Sequence[FormValue] | None"

_NAME_RE = re.compile(r"^(?P<base>[^\[\]]+)(?P<subs>(?:\[[^\[\]]*\])*)$")
_SUB_RE = re.compile(r"\[([^\[\]]*)\]")


def encode_php_form(data: Mapping[str, FormValue]) -> list[tuple[str, str]]:
    """Flatten ``data`` into PHP form pairs, in order. ``None`` values are left out.

    Booleans become ``"1"``/``"0"`` (PHP's truthiness); other scalars go through ``str``.
    A key that is empty or contains a bracket cannot be expressed and raises ``ValueError``.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        _check_key(key)
        _encode_into(pairs, key, value)
    return pairs


def _encode_into(pairs: list[tuple[str, str]], name: str, value: FormValue) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        pairs.append((name, "1" if value else "0"))
    elif isinstance(value, str | int | float):
        pairs.append((name, str(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_key(key)
            _encode_into(pairs, f"{name}[{key}]", item)
    else:
        for index, item in enumerate(value):
            _encode_into(pairs, f"{name}[{index}]", item)


def _check_key(key: str) -> None:
    if not key or "[" in key or "]" in key:
        raise ValueError(f"cannot encode form key {key!r}: empty or contains a bracket")


def decode_php_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested values from PHP form pairs, like PHP's ``$_REQUEST``.

    ``a[x][y]=v`` nests dicts, ``a[]=v`` appends, a later duplicate wins. A dict whose keys are
    exactly ``"0"``, ``"1"``, … in order comes back as a list.
    """
    root: dict[str, Any] = {}
    for name, value in pairs:
        match = _NAME_RE.match(name)
        if match is None:
            root[name] = value
            continue
        path = [match["base"], *_SUB_RE.findall(match["subs"])]
        node = root
        for depth, part in enumerate(path):
            key = _next_index(node) if part == "" else part
            if depth == len(path) - 1:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = node[key] = {}
                node = child
    return {key: _listify(value) for key, value in root.items()}


def _next_index(node: dict[str, Any]) -> str:
    indexes = [int(key) for key in node if key.isdigit()]
    return str(max(indexes) + 1 if indexes else 0)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listify(item) for key, item in value.items()}
    if items and list(items) == [str(index) for index in range(len(items))]:
        return list(items.values())
    return items
