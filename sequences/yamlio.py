"""YAML documents that remember where every value came from.

Protocol, sample and bench files are read through :func:`load_yaml`, which returns a tree of
:class:`Node` objects carrying the file name, the line and the dotted key path of each value,
so that every error can say ``hahn.yaml:7: sequence[2].pulse.duration = '-5 ns': must be a
positive time``.

Safety: only :func:`yaml.compose` with the safe loader is used (no object construction);
tags other than the plain ones (str, int, float, bool, null, seq, map) are refused, dates are
read as strings; anchors and aliases are refused (they are how "billion laughs" documents
explode), and documents are limited in size (:data:`MAX_DOCUMENT_BYTES`), node count
(:data:`MAX_NODES`) and nesting depth (:data:`MAX_DEPTH`), all checked on the event stream
before a tree is built. Files are read by :func:`read_document` only: regular files (not a
pipe, a device or a folder, even behind a link), opened without blocking and read with a
limit. Duplicate keys are errors, not silent overwrites; a key that YAML 1.1 reads as a
boolean, null or number (``off``, ``yes``, ``~``, ``1``) is an error that says how to quote it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from spin_echo.sequences.errors import InputError, shorten
from spin_echo.sequences.quantity import Quantity, describe_kind, parse_quantity

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "MapNode",
    "Node",
    "SeqNode",
    "load_yaml",
    "read_document",
    "reads_as_number",
]

#: Largest document accepted, in bytes.
MAX_DOCUMENT_BYTES = 1_000_000
#: Largest number of YAML nodes accepted in one document.
MAX_NODES = 50_000
#: Deepest nesting of mappings and lists accepted in one document.
MAX_DEPTH = 32

_SCALARS = yaml.constructor.SafeConstructor()
_ALLOWED_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_KEY_READ_AS = {
    "tag:yaml.org,2002:bool": "the boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:int": "the number",
    "tag:yaml.org,2002:float": "the number",
}


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
            raise self.error(f"must be {describe_kind(kind)} (a number or a string with a unit)")
        try:
            result = parse_quantity(value, kind, parameters)
        except InputError as err:
            raise self.error(err.message) from None
        if positive and not result > 0:
            raise self.error(f"must be {describe_kind(kind, 'positive')}")
        if nonnegative and not result >= 0:
            raise self.error(f"must be {describe_kind(kind, 'non-negative')}")
        return result

    def integer(self, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """Return this scalar as an integer within ``[minimum, maximum]``.

        Only a YAML integer is one: text, even ``'2'`` or ``6.4e1`` (which YAML 1.1 reads as
        text), is refused (:meth:`not_whole_number`).
        """
        value = self.plain()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.not_whole_number()
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(f"must be at most {maximum}")
        return value

    def not_whole_number(self) -> InputError:
        """Return the error for a value that is not a whole number (text such as ``'2'`` too)."""
        value = self.plain()
        if isinstance(value, str) and reads_as_number(value):
            return self.error(
                "must be a whole number written as digits, such as 64 "
                "(not quoted, not in exponent notation)"
            )
        return self.error("must be a whole number")


def reads_as_number(text: str) -> bool:
    """Return whether ``text`` is just a number (``'64'``, ``' 6.4e1'``, ``'nan'``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


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
                    f"unknown key {shorten(repr(key))}; allowed keys are "
                    + ", ".join(sorted(allowed)),
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
        value = _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError, KeyError, OverflowError) as err:
        detail = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise error_class(
            f"cannot read value: {detail}",
            file=file,
            line=node.start_mark.line + 1,
            key=path or None,
        ) from None
    written = node.value.lower().split("e")[0]  # the digits before the exponent
    if value == 0 and isinstance(value, float) and written.strip("+-0._"):
        return node.value  # 1.0e-400 underflows: the text goes on, and the quantity parser refuses
    return value


def _key_error(
    key_node: yaml.Node, key: Any, file: str, path: str, error_class: type[InputError]
) -> InputError:
    """Return a located error for a key that is not a string (YAML 1.1 ``off``, ``yes``, 1)."""
    line = key_node.start_mark.line + 1
    if not isinstance(key_node, yaml.ScalarNode):
        return error_class("keys must be plain strings", file=file, line=line, key=path or None)
    written = key_node.value
    read_as = _KEY_READ_AS.get(key_node.tag, "a value")
    shown = "" if key is None else f" {key!r}"
    return error_class(
        f"YAML 1.1 reads the key {written!r} as {read_as}{shown}, not as a name; "
        f"quote it ('{written}': ...) if it is meant as a name",
        file=file,
        line=line,
        key=f"{path}.{written}" if path else written,
    )


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
                raise _key_error(key_node, key, file, path, error_class)
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


def _check_events(text: str, name: str, error_class: type[InputError]) -> None:
    """Refuse anchors, aliases, too many nodes and too deep nesting, before composing a tree."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise error_class("YAML anchors and aliases are not allowed", file=name, line=line)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise error_class(
                    f"mappings and lists nest deeper than {MAX_DEPTH} levels", file=name, line=line
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.ScalarEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise error_class(
                    f"document has more than {MAX_NODES} values", file=name, line=line
                )


def _reader_error(
    err: yaml.reader.ReaderError, text: str, name: str, error_class: type[InputError]
) -> InputError:
    """Return an error at the line and column of a character YAML refuses (NUL, ESC, ...)."""
    position = min(max(int(err.position), 0), len(text))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = ord(err.character) if isinstance(err.character, str) else int(err.character)
    return error_class(
        f"YAML syntax error: character {chr(code)!r} (U+{code:04X}) at column {column} is not "
        "allowed in YAML: remove it or write it as an escape in a double-quoted string",
        file=name,
        line=line,
    )


def read_document(source: str | Path, *, error_class: type[InputError] = InputError) -> str:
    """Read a YAML file as text, safely: a regular file of at most :data:`MAX_DOCUMENT_BYTES`.

    The one reader of every protocol, sample and bench file. A pipe, a device (``/dev/zero``),
    a socket or a folder, also behind a symbolic link, is refused before it is opened; the file
    is opened without blocking and read with a limit, so a file that grows while it is read
    cannot exhaust memory.

    Parameters
    ----------
    source
        The path.
    error_class
        The :class:`InputError` subclass to raise.

    Returns
    -------
    str
        The text (UTF-8).

    Raises
    ------
    InputError
        (as ``error_class``) naming the file, for a missing or unreadable file, one that is not
        a regular file, is larger than the limit, or is not UTF-8 text.
    """
    name = str(source)
    try:
        info = os.stat(source)
        if stat.S_ISREG(info.st_mode):
            fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read(MAX_DOCUMENT_BYTES + 1) if stat.S_ISREG(info.st_mode) else b""
    except OSError as err:
        raise error_class(f"cannot read file: {err.strerror}", file=name) from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "a pipe, device or socket"
        raise error_class(f"is {what}, not a regular file; expected a YAML file", file=name)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise error_class(
            f"file is larger than {MAX_DOCUMENT_BYTES} bytes, the most a YAML file may have",
            file=name,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        byte = f"byte {data[err.start]:#04x} at column {column}"
        raise error_class(f"file is not UTF-8 text ({byte})", file=name, line=line) from None


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
        text = read_document(source, error_class=error_class)
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise error_class(f"document is larger than {MAX_DOCUMENT_BYTES} bytes", file=name)
    try:
        _check_events(text, name, error_class)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error_class(f"YAML syntax error: {err.problem}", file=name, line=line) from None
    except yaml.reader.ReaderError as err:
        raise _reader_error(err, text, name, error_class) from None
    except yaml.YAMLError as err:
        raise error_class(f"YAML error: {err}", file=name) from None
    if root is None:
        raise error_class("document is empty; expected a mapping of keys", file=name)
    node = _convert(root, name, "", error_class, [0])
    if not isinstance(node, MapNode):
        raise node.error("the document must be a mapping of keys to values")
    return node
