"""The built-in protocol library (``sequences/library/*.yaml``) and loading by name or path."""

from __future__ import annotations

from pathlib import Path

from sequences.errors import ProtocolError
from sequences.protocol import Protocol, parse_protocol
from sequences.yamlio import load_yaml

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
    if not path.is_file():
        raise ProtocolError(
            "is neither a built-in protocol nor a file; built-in protocols are "
            + ", ".join(_builtin_names()),
            key="protocol",
            value=text,
        )
    return parse_protocol(load_yaml(path, error_class=ProtocolError))


def list_protocols() -> list[tuple[str, str]]:
    """Return ``(name, one-line description)`` of every built-in protocol, sorted by name."""
    result = []
    for name in _builtin_names():
        description = load_protocol(name).description.strip()
        result.append((name, description.splitlines()[0] if description else ""))
    return result
