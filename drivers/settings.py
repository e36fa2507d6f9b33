"""Instrument settings declared once: SCPI command, unit, and a validator with limits.

Every value a driver writes to an instrument goes through a :class:`Setting`: the command
template, the unit, and a validator (:class:`Range` or :class:`OneOf`) holding the model's
limits. A bench file's ``limits`` block may only tighten them (:data:`BENCH_LIMITS` lists the
keys it may use); :meth:`Setting.violation` checks a value against the tighter of the two
*before* anything is written, so a driver never sends an amplitude, offset or sample rate
beyond what the bench allows.

Numbers are written in one unambiguous format, :func:`scpi_number` (``2.500000000E+08``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BENCH_LIMITS",
    "BOOLEAN_REPLIES",
    "DRIVE_RTOL",
    "OneOf",
    "Range",
    "Setting",
    "declare",
    "scpi_number",
]

#: Keys a bench file's ``limits`` block may hold, with the quantity kind of each. Each bounds
#: the setting of the same name from above (offsets: their magnitude).
BENCH_LIMITS: dict[str, str] = {
    "amplitude_vpp": "voltage",
    "offset_v": "voltage",
    "sample_rate_hz": "frequency",
}


#: How an instrument answers the query of an ON/OFF setting (SCPI booleans read back as 0/1).
BOOLEAN_REPLIES: tuple[tuple[str, str], ...] = (("1", "ON"), ("0", "OFF"))

#: Resolution to which the drive settings (sample rate, amplitude, offset) must read back: the
#: record's pulse areas and time axis scale with them, so a larger disagreement is an error.
#: Numbers are written with ten significant digits (:func:`scpi_number`).
DRIVE_RTOL = 1e-6


def scpi_number(value: float | int) -> str:
    """Format a number for SCPI: integers as NR1 (``1``), floats as NR3 (``2.5E+08``).

    Floats carry ten significant digits (``2.500000000E+08``), enough that a sample rate or a
    time base is written exactly as computed, and a form every SCPI parser accepts.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.9E}"


@dataclass(frozen=True)
class Range:
    """A closed numeric interval ``[minimum, maximum]`` in the setting's unit."""

    minimum: float
    maximum: float

    def tightened(self, limit: float | None, *, symmetric: bool) -> Range:
        """Return the interval cut to ``<= limit`` (``|value| <= limit`` when symmetric)."""
        if limit is None:
            return self
        low = max(self.minimum, -limit) if symmetric else self.minimum
        return Range(low, min(self.maximum, limit))

    def violation(self, value: float | int | str, unit: str) -> str | None:
        """Return why ``value`` is not allowed, or None if it is."""
        if isinstance(value, (str, bool)) or not math.isfinite(float(value)):
            return f"must be a finite number of {unit}"
        if self.minimum > self.maximum:
            return f"no value is allowed (the limits leave an empty range, {self.describe(unit)})"
        if not self.minimum <= float(value) <= self.maximum:
            return f"must be {self.describe(unit)}"
        return None

    def describe(self, unit: str) -> str:
        """Say the interval in words, e.g. ``between 0.001 and 2 Vpp``."""
        return f"between {self.minimum:g} and {self.maximum:g} {unit}".rstrip()


@dataclass(frozen=True)
class OneOf:
    """A discrete set of allowed values (numbers or SCPI keywords)."""

    choices: tuple[float | int | str, ...]

    def tightened(self, limit: float | None, *, symmetric: bool) -> OneOf:
        """Return the choices not above ``limit`` (a limit on a keyword set is not allowed)."""
        if limit is None:
            return self
        numbers = [c for c in self.choices if not isinstance(c, str)]
        kept = [c for c in numbers if (abs(c) if symmetric else c) <= limit]
        return OneOf(tuple(kept))

    def violation(self, value: float | int | str, unit: str) -> str | None:
        """Return why ``value`` is not allowed, or None if it is."""
        if value in self.choices:
            return None
        return f"must be {self.describe(unit)}"

    def describe(self, unit: str) -> str:
        """Say the allowed values in words."""
        shown = ", ".join(str(c) for c in self.choices)
        return f"one of {shown} {unit}".rstrip()


@dataclass(frozen=True)
class Setting:
    """One instrument setting: its SCPI command, unit and validator.

    Attributes
    ----------
    name
        Setting name; also the bench-file limit key that tightens it, when that key is in
        :data:`BENCH_LIMITS` (``amplitude_vpp``, ``offset_v``, ``sample_rate_hz``).
    command
        Command template with ``{value}`` and any of the driver's fields, e.g.
        ``"SOUR{channel}:VOLT {value}"``.
    unit
        Unit of the value as written (``"Vpp"``, ``"V"``, ``"Sa/s"``, ``"s"``, ``""``).
    validator
        The model's allowed values.
    symmetric
        The bench limit bounds the magnitude (offsets), not just the maximum.
    written_scale
        Factor applied to the (validated) value when it is written, for instruments that take
        a per-division value: ``0.1`` writes a full-scale range as volts per division.
    query
        Query template reading the setting back (:meth:`query_command`); ``""`` (default)
        means the SCPI query form of :attr:`command` (its header and ``?``: ``SOUR1:VOLT?``),
        None that the setting cannot be read back.
    replies
        ``(reply, value)`` pairs for replies that do not spell the value as written:
        ``("1", "ON")`` for an instrument answering ``OUTP?`` with 0/1, ``("CHAN1", 1)``.
        Numbers compare as numbers (``+5.0E+01`` is ``50``).
    read_rtol
        Relative resolution of the value read back (a numeric setting agrees within it).
    must_agree
        A value read back outside ``read_rtol`` is an instrument error (the data would not be
        what the record says: sample rate, amplitude); otherwise it is only recorded (a
        coerced time base, whose true value the acquisition reports anyway).
    """

    name: str
    command: str
    unit: str
    validator: Range | OneOf
    symmetric: bool = False
    written_scale: float = 1.0
    query: str | None = ""
    replies: tuple[tuple[str, float | int | str], ...] = ()
    read_rtol: float = 1e-9
    must_agree: bool = False

    def query_command(self, **fields: object) -> str | None:
        """Return the query reading this setting back, or None when it cannot be read.

        Parameters
        ----------
        **fields
            The driver's template fields (``channel``, ...).
        """
        if self.query is None:
            return None
        if self.query:
            return self.query.format(**fields)
        header = self.command.split(" ")[0]
        if not header or "{value}" in header or " " not in self.command:
            return None
        return header.format(**fields) + "?"

    def parse_reply(self, reply: str) -> float | int | str:
        """Return the value a query reply means, in the unit and scale of the written value.

        Parameters
        ----------
        reply
            The instrument's reply to :meth:`query_command`.

        Raises
        ------
        ValueError
            If a numeric setting's reply is not a number.
        """
        text = reply.strip().strip('"').strip()
        for word, value in self.replies:
            if _same_word(word, text):
                return value
        choices = self.validator.choices if isinstance(self.validator, OneOf) else ()
        if choices and all(isinstance(c, str) for c in choices):
            for choice in sorted(choices, key=len, reverse=True):
                if _same_word(str(choice), text) or text.upper().startswith(str(choice).upper()):
                    return choice
            return text
        number = float(text) / self.written_scale
        if choices and all(isinstance(c, int) for c in choices) and number.is_integer():
            return int(number)
        return number

    def allowed(self, limits: Mapping[str, float]) -> Range | OneOf:
        """Return the validator tightened by the bench ``limits`` (tighter of the two wins)."""
        return self.validator.tightened(limits.get(self.name), symmetric=self.symmetric)

    def violation(self, value: float | int | str, limits: Mapping[str, float]) -> str | None:
        """Return why ``value`` may not be written with these bench ``limits``, or None."""
        why = self.allowed(limits).violation(value, self.unit)
        if why is not None and self.name in limits:
            why += f" (model limits {self.validator.describe(self.unit)}, tightened by the bench)"
        return why

    def accepts_written(self, written: float | int | str) -> bool:
        """Return whether the model allows a value as written on the wire (an emulator's check).

        ``written`` is the number in the SCPI command, i.e. the value times
        :attr:`written_scale` (the bounds are scaled and written the same way,
        :func:`scpi_number`, so a value the driver allows is accepted as written); the
        model's validator decides, without any bench limit, so an emulated instrument
        enforces exactly the limits the driver declares.
        """
        if self.written_scale == 1.0 or isinstance(written, str):
            return self.validator.violation(written, self.unit) is None
        if not isinstance(self.validator, Range):
            return written in [c * self.written_scale for c in self.validator.choices]
        low = float(scpi_number(self.validator.minimum * self.written_scale))
        high = float(scpi_number(self.validator.maximum * self.written_scale))
        return Range(low, high).violation(written, self.unit) is None

    def render(self, value: float | int | str, **fields: object) -> str:
        """Return the SCPI command that writes ``value``."""
        if isinstance(value, str):
            text = value
        elif self.written_scale != 1.0:
            text = scpi_number(float(value) * self.written_scale)
        else:
            text = scpi_number(value)
        return self.command.format(value=text, **fields)


def _same_word(word: str, text: str) -> bool:
    """Whether a reply ``text`` is ``word``: the same keyword, or the same number."""
    if word.upper() == text.upper():
        return True
    try:
        return float(word) == float(text)
    except ValueError:
        return False


def declare(*settings: Setting) -> dict[str, Setting]:
    """Return ``{name: setting}``, refusing two declarations of one name."""
    table: dict[str, Setting] = {}
    for setting in settings:
        if setting.name in table:
            raise ValueError(f"setting {setting.name!r} is declared twice")
        table[setting.name] = setting
    return table
