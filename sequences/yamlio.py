"""YAML documents that remember where every value came from.

Protocol, sample and bench files are read through :func:`load_yaml`, which returns a tree of
:class:`Node` objects carrying the file name, the line and the dotted key path of each value,
so that every error can say ``hahn.yaml:7: sequence[2].pulse.duration = '-5 ns': must be a
positive time``.

Safety: only :func:`yaml.compose` with the safe loader is used (no object construction);
tags other than the plain ones (str, int, float, bool, null, seq, map) are refused, dates are
read as strings; anchors and aliases are refused (they are how "billion laughs" documents
explode), and documents are limited in size and node count. Duplicate keys are errors, not
silent overwrites.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import Quantity, parse_quantity

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_NODES", "MapNode", "Node", "SeqNode", "load_yaml"]

#: Largest document accepted, in bytes.
MAX_DOCUMENT_BYTES = 1_000_000
#: Largest number of YAML nodes accepted in one document.
MAX_NODES = 50_000

_SCALARS = yaml.constructor.SafeConstructor()
_ALLOWED_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class Node:
    """A value in a YAML document with its location.

    Attributes
    ----------
    file
        The name used in messages (a path, a built-in name, ``--set``).
    line
        1-based line of the value.
    path
        Dotted key path, e.g. ``sequence[2].pulse.duration`` (empty for the root).
    error_class
        The :class:`InputError` subclass raised for problems in this document.
    """

    def __init__(self, file: str, line: int, path: str, error_class: type[InputError]) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.error_class = error_class

    def plain(self) -> Any:
        """Return the value as plain Python (dict, list, str, int, float, bool, None)."""
        raise NotImplementedError

    def error(self, message: str) -> InputError:
        """Return (not raise) an error located at this value, naming its key and value."""
        value = self.plain()
        shown = value if not isinstance(value, (dict, list)) else None
        return self.error_class(
            message, file=self.file, line=self.line, key=self.path or None, value=shown
        )

    def as_map(self) -> MapNode:
        """Return this node as a mapping, or raise a located error."""
        if not isinstance(self, MapNode):
            raise self.error("must be a mapping of keys to values")
        return self

    def as_list(self) -> SeqNode:
        """Return this node as a sequence, or raise a located error."""
        if not isinstance(self, SeqNode):
            raise self.error("must be a list")
        return self

    def as_str(self) -> str:
        """Return this scalar as a non-empty string, or raise a located error."""
        value = self.plain()
        if not isinstance(value, str) or not value.strip():
            raise self.error("must be a non-empty string")
        return value

    def as_bool(self) -> bool:
        """Return this scalar as a boolean, or raise a located error."""
        value = self.plain()
        if not isinstance(value, bool):
            raise self.error("must be true or false")
        return value

    def quantity(
        self,
        kind: str,
        parameters: Mapping[str, Quantity] | None = None,
        *,
        positive: bool = False,
        nonnegative: bool = False,
    ) -> float:
        """Parse this scalar as a quantity of ``kind`` (see :data:`sequences.quantity.KINDS`).

        Parameters
        ----------
        kind
            ``"time"``, ``"frequency"``, ``"angle"``, ``"energy"``, ``"dimensionless"``, ...
        parameters
            Names an expression may refer to.
        positive, nonnegative
            Require the value to be > 0 or >= 0.

        Returns
        -------
        float
            The value in SI units (energies in Hz).
        """
        value = self.plain()
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.error(f"must be a {kind} (a number or a string with a unit)")
        try:
            result = parse_quantity(value, kind, parameters)
        except InputError as err:
            raise self.error(err.message) from None
        if positive and not result > 0:
            raise self.error(f"must be a positive {kind.replace('_', ' ')}")
        if nonnegative and not result >= 0:
            raise self.error(f"must be a non-negative {kind.replace('_', ' ')}")
        return result

    def integer(self, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """Return this scalar as an integer within ``[minimum, maximum]``."""
        value = self.plain()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error("must be a whole number")
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(f"must be at most {maximum}")
        return value


class ScalarNode(Node):
    """A scalar: string, number, boolean or null."""

    def __init__(self, value: Any, *args: Any) -> None:
        super().__init__(*args)
        self.value = value

    def plain(self) -> Any:
        """Return the scalar value."""
        return self.value


class SeqNode(Node):
    """A YAML sequence."""

    def __init__(self, items: list[Node], *args: Any) -> None:
        super().__init__(*args)
        self.items = items

    def __iter__(self) -> Iterator[Node]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def plain(self) -> list[Any]:
        """Return the list of plain values."""
        return [item.plain() for item in self.items]


class MapNode(Node):
    """A YAML mapping with string keys, in document order."""

    def __init__(self, entries: dict[str, Node], key_lines: dict[str, int], *args: Any) -> None:
        super().__init__(*args)
        self.entries = entries
        self.key_lines = key_lines

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def keys(self) -> Iterable[str]:
        """Return the keys in document order."""
        return self.entries.keys()

    def items(self) -> Iterable[tuple[str, Node]]:
        """Return ``(key, node)`` pairs in document order."""
        return self.entries.items()

    def plain(self) -> dict[str, Any]:
        """Return the dict of plain values."""
        return {k: v.plain() for k, v in self.entries.items()}

    def get(self, key: str) -> Node | None:
        """Return the node under ``key`` or None."""
        return self.entries.get(key)

    def __getitem__(self, key: str) -> Node:
        if key not in self.entries:
            where = f"{self.path}.{key}" if self.path else key
            raise self.error_class(
                f"missing required key {key!r}", file=self.file, line=self.line, key=where
            )
        return self.entries[key]

    def check_keys(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Raise a located error for an unknown key or a missing required one."""
        allowed = set(allowed)
        for key, node in self.entries.items():
            if key not in allowed:
                raise self.error_class(
                    f"unknown key {key!r}; allowed keys are {', '.join(sorted(allowed))}",
                    file=self.file,
                    line=self.key_lines[key],
                    key=node.path,
                )
        for key in required:
            self[key]


def _scalar(node: yaml.Node, file: str, path: str, error_class: type[InputError]) -> Any:
    """Construct a scalar with the safe constructor; a located error if it cannot be read."""
    if node.tag == _TIMESTAMP_TAG:
        return node.value
    try:
        return _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError, KeyError, OverflowError) as err:
        detail = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise error_class(
            f"cannot read value: {detail}",
            file=file,
            line=node.start_mark.line + 1,
            key=path or None,
        ) from None


def _convert(
    node: yaml.Node, file: str, path: str, error_class: type[InputError], count: list[int]
) -> Node:
    count[0] += 1
    line = node.start_mark.line + 1
    if count[0] > MAX_NODES:
        raise error_class(f"document has more than {MAX_NODES} values", file=file, line=line)
    if node.tag not in _ALLOWED_TAGS:
        raise error_class(
            f"YAML tags such as {node.tag!r} are not allowed",
            file=file,
            line=line,
            key=path or None,
        )
    if isinstance(node, yaml.MappingNode):
        entries: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = (
                _scalar(key_node, file, path, error_class)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str):
                raise error_class(
                    "keys must be plain strings",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    key=path or None,
                )
            child = f"{path}.{key}" if path else key
            if key in entries:
                raise error_class(
                    "duplicate key", file=file, line=key_node.start_mark.line + 1, key=child
                )
            entries[key] = _convert(value_node, file, child, error_class, count)
            key_lines[key] = key_node.start_mark.line + 1
        return MapNode(entries, key_lines, file, line, path, error_class)
    if isinstance(node, yaml.SequenceNode):
        items = [
            _convert(item, file, f"{path}[{i}]", error_class, count)
            for i, item in enumerate(node.value)
        ]
        return SeqNode(items, file, line, path, error_class)
    value = _scalar(node, file, path, error_class)
    return ScalarNode(value, file, line, path, error_class)


def load_yaml(
    source: str | Path,
    *,
    text: str | None = None,
    error_class: type[InputError] = InputError,
) -> MapNode:
    """Read a YAML mapping with locations.

    Parameters
    ----------
    source
        A path to read, or the name to use in messages when ``text`` is given.
    text
        The document text; read from ``source`` when omitted.
    error_class
        The :class:`InputError` subclass to raise (``ProtocolError``, ``SampleError``, ...).

    Returns
    -------
    MapNode
        The root mapping.

    Raises
    ------
    InputError
        (as ``error_class``) for unreadable files, YAML syntax errors, anchors or aliases,
        oversized documents, duplicate or non-string keys, or a root that is not a mapping.
    """
    name = str(source)
    if text is None:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_DOCUMENT_BYTES:
                raise error_class(
                    f"file is {size} bytes; at most {MAX_DOCUMENT_BYTES} are accepted", file=name
                )
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise error_class(f"cannot read file: {err.strerror}", file=name) from None
        except UnicodeDecodeError:
            raise error_class("file is not UTF-8 text", file=name) from None
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise error_class(f"document is larger than {MAX_DOCUMENT_BYTES} bytes", file=name)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise error_class(
                    "YAML anchors and aliases are not allowed",
                    file=name,
                    line=event.start_mark.line + 1,
                )
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error_class(f"YAML syntax error: {err.problem}", file=name, line=line) from None
    except yaml.YAMLError as err:
        raise error_class(f"YAML error: {err}", file=name) from None
    if root is None:
        raise error_class("document is empty; expected a mapping of keys", file=name)
    node = _convert(root, name, "", error_class, [0])
    if not isinstance(node, MapNode):
        raise node.error("the document must be a mapping of keys to values")
    return node
