"""Exception hierarchy shared by every spin-echo package.

All errors derive from :class:`SpinEchoError`. Errors caused by what a person typed
(a protocol, sample or bench file, a ``--set`` option) derive from :class:`InputError`, which
also subclasses :class:`ValueError`; the command line turns them into one line and exit 2.
Every other :class:`SpinEchoError` (instrument failures, runtime failures) gives exit 1.

An :class:`InputError` renders as one line, ``FILE:LINE: KEY = VALUE: MESSAGE``: line breaks in
the message become spaces, and a key or value longer than :data:`MAX_SHOWN_CHARS` is shown
cut, with its length (``'1 ns+1 ns+… (100000 characters)``), so that a 100 kB expression does
not make a 100 kB message. The attributes keep the whole value.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_SHOWN_CHARS",
    "CompileError",
    "InputError",
    "ProtocolError",
    "SpinEchoError",
    "SpinEchoWarning",
    "shorten",
]

#: Longest key or value (as written, ``repr`` for a value) a message shows in full.
MAX_SHOWN_CHARS = 120


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """Return ``text``, or its first ``limit`` characters and ``… (N characters)`` if longer.

    Parameters
    ----------
    text
        What a message would show (a key, the ``repr`` of a value).
    limit
        Most characters shown in full.

    Returns
    -------
    str
        ``text`` itself when it has at most ``limit`` characters.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def _one_line(text: str) -> str:
    """Return ``text`` with its line breaks as spaces (a message is one line)."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class SpinEchoError(Exception):
    """Base class of every error raised on purpose by spin-echo."""


class InputError(SpinEchoError, ValueError):
    """Bad input from a person: a file, a key, a value and what was expected.

    Parameters
    ----------
    message
        What is wrong and what was expected, e.g. ``"must be a positive time"``.
    file
        File name (or ``"<string>"``/``"--set"``) the value came from.
    line
        1-based line number in ``file``.
    key
        Dotted path of the offending key, e.g. ``"sequence[3].pulse.duration"``.
    value
        The offending value as the user wrote it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        value: Any = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        self.value = value
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        shown = None if self.value is None else _shown_value(self.value)
        what = ""
        if self.key is not None:
            what = shorten(_one_line(str(self.key)))
            if shown is not None:
                what += f" = {shown}"
            what += ": "
        elif shown is not None:
            what = f"{shown}: "
        return f"{where}{what}{_one_line(str(self.message))}"


def _shown_value(value: Any) -> str:
    """Return the ``repr`` of a value for a message, cut if long (with the value's length)."""
    shown = repr(value)
    if len(shown) <= MAX_SHOWN_CHARS:
        return shown
    length = len(value) if isinstance(value, str) else len(shown)
    return f"{shown[:MAX_SHOWN_CHARS]}… ({length} characters)"


class ProtocolError(InputError):
    """A protocol file or a parameter override is malformed."""


class CompileError(InputError):
    """A protocol cannot be compiled for a target (a hardware constraint it cannot meet)."""


class SpinEchoWarning(UserWarning):
    """A result that is computed but should be read with care (the CLI prints it on one line)."""
