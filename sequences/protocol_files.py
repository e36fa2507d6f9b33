"""Where protocols come from: the built-in library, a path, and the listing of the built-ins.

:func:`load_protocol` reads a built-in protocol by name (``sequences/library/NAME.yaml``) or a
protocol file by path, through the one safe reader of YAML files
(:func:`spin_echo.sequences.yamlio.read_document`), and checks it
(:func:`spin_echo.sequences.protocol.parse_protocol`); :func:`list_protocols` names the built-ins
with the first line of their descriptions.
"""

from __future__ import annotations

import os
from pathlib import Path

from spin_echo.sequences.errors import ProtocolError
from spin_echo.sequences.protocol import Protocol, parse_protocol
from spin_echo.sequences.yamlio import load_yaml, read_document

__all__ = ["LIBRARY_DIR", "list_protocols", "load_protocol"]

#: Folder of the built-in protocols.
LIBRARY_DIR = Path(__file__).resolve().parent / "library"


def _builtin_names() -> list[str]:
    return sorted(path.stem for path in LIBRARY_DIR.glob("*.yaml"))


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Load a built-in protocol by name (``"hahn-echo"``) or a protocol file by path.

    Parameters
    ----------
    name_or_path
        A name from :func:`list_protocols`, or the path of a YAML protocol file.

    Returns
    -------
    Protocol
        The checked protocol (every sweep point binds and lays out).

    Raises
    ------
    ProtocolError
        If the name is neither built-in nor an existing file, or the file is malformed
        (the message names the file, line, key and value).
    """
    text = str(name_or_path)
    builtin = LIBRARY_DIR / f"{text}.yaml"
    if isinstance(name_or_path, str) and text in _builtin_names():
        root = load_yaml(
            builtin.name, text=builtin.read_text(encoding="utf-8"), error_class=ProtocolError
        )
        return parse_protocol(root)
    path = Path(name_or_path)
    if not os.path.lexists(path):
        raise ProtocolError(
            "is neither a built-in protocol nor a file; built-in protocols are "
            + ", ".join(_builtin_names()),
            key="protocol",
            value=text,
        )
    text = read_document(path, error_class=ProtocolError)
    return parse_protocol(load_yaml(path, text=text, error_class=ProtocolError))


def list_protocols() -> list[tuple[str, str]]:
    """Return ``(name, one-line description)`` of every built-in protocol, sorted by name."""
    result = []
    for name in _builtin_names():
        path = LIBRARY_DIR / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        root = load_yaml(path.name, text=text, error_class=ProtocolError)
        node = root.get("description")
        description = str(node.plain()).strip() if node is not None else ""
        result.append((name, description.splitlines()[0] if description else ""))
    return result
