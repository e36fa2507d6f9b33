"""Exception hierarchy shared by every spin-echo package.

All errors derive from :class:`SpinEchoError`. Errors caused by what a person typed
(a protocol, sample or bench file, a ``--set`` option) derive from :class:`InputError`, which
also subclasses :class:`ValueError`; the command line turns them into one line and exit 2.
Every other :class:`SpinEchoError` (instrument failures, runtime failures) gives exit 1.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CompileError", "InputError", "ProtocolError", "SpinEchoError", "SpinEchoWarning"]


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
        what = ""
        if self.key is not None:
            what = f"{self.key}"
            if self.value is not None:
                what += f" = {self.value!r}"
            what += ": "
        elif self.value is not None:
            what = f"{self.value!r}: "
        return f"{where}{what}{self.message}"


class ProtocolError(InputError):
    """A protocol file or a parameter override is malformed."""


class CompileError(InputError):
    """A protocol cannot be compiled for a target (a hardware constraint it cannot meet)."""


class SpinEchoWarning(UserWarning):
    """A result that is computed but should be read with care (the CLI prints it on one line)."""
