"""Quantities with units and safe arithmetic expressions over named parameters.

Everywhere a person types a dimensioned number it is a string with a unit (``"50 ns"``,
``"4 MHz"``, ``"90 deg"``, ``"20 mK"``, ``"1e-4 T/V"``); this module turns those strings into
SI floats, once, at the file and command-line boundary.

Units come from a small table (SI prefixes on ``s``, ``Hz``, ``K``, ``T``, ``V``, ``rad``, plus
``deg``, ``G``, ``Sa/s``) rather than a general units library: the product needs six dimensions,
its energies are written as frequencies *or* temperatures (a convention pint does not encode),
and expressions must go through our own whitelisted evaluator anyway.

Expressions (``2*t_pi2``, ``tau - window/2``, ``tau + 100 ns``, ``sqrt(2)*pi/4``) are parsed with
:mod:`ast` and evaluated over a whitelist of nodes and functions, with dimension checking;
:func:`eval` is never used.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from spin_echo.sequences.errors import InputError, shorten

__all__ = [
    "KINDS",
    "RANGES",
    "Kind",
    "Quantity",
    "Range",
    "check_range",
    "describe_kind",
    "evaluate",
    "format_quantity",
    "parse_quantity",
    "reserved_name",
]

# Dimension vectors: exponents of (second, kelvin, tesla, volt, radian).
Dim = tuple[int, int, int, int, int]
_NONE: Dim = (0, 0, 0, 0, 0)
_TIME: Dim = (1, 0, 0, 0, 0)
_FREQ: Dim = (-1, 0, 0, 0, 0)
_TEMP: Dim = (0, 1, 0, 0, 0)
_FIELD: Dim = (0, 0, 1, 0, 0)
_VOLT: Dim = (0, 0, 0, 1, 0)
_ANGLE: Dim = (0, 0, 0, 0, 1)

#: Hertz per kelvin, k_B / h: converts a temperature written as an energy to a frequency.
HZ_PER_K = 1.380649e-23 / 6.62607015e-34  # k_B / h, both exact in the SI since 2019

# symbol -> (power of ten, remaining factor, dimension); powers of ten are applied exactly
# in decimal so that "50 ns" is the float nearest to 5e-8.
_BASE_UNITS: dict[str, tuple[int, float, Dim]] = {
    "s": (0, 1.0, _TIME),
    "Hz": (0, 1.0, _FREQ),
    "K": (0, 1.0, _TEMP),
    "T": (0, 1.0, _FIELD),
    "G": (-4, 1.0, _FIELD),
    "V": (0, 1.0, _VOLT),
    "Vpp": (0, 1.0, _VOLT),
    "rad": (0, 1.0, _ANGLE),
    "deg": (0, math.pi / 180.0, _ANGLE),
    "Sa": (0, 1.0, _NONE),
}
_PREFIXES = {"p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12}
_UNPREFIXABLE = {"deg"}


@dataclass(frozen=True)
class Quantity:
    """A value in SI units with its dimension vector (s, K, T, V, rad exponents)."""

    value: float
    dim: Dim = _NONE

    def _same(self, other: Quantity, op: str) -> None:
        if self.dim != other.dim:
            raise InputError(
                f"cannot {op} {_describe_dim(self.dim)} and {_describe_dim(other.dim)}"
            )


@dataclass(frozen=True)
class Kind:
    """What a field expects: accepted dimensions, a conversion, and phrases for messages.

    ``noun`` is the bare noun (``"plain number"``, see :func:`describe_kind`), ``example`` what
    follows it in :attr:`expected` (``"such as '50 ns'"``).
    """

    name: str
    accepts: tuple[Dim, ...]
    noun: str
    example: str = ""

    @property
    def expected(self) -> str:
        """The noun with its article and the example, e.g. ``"a time such as '50 ns'"``."""
        return f"{describe_kind(self.name)} {self.example}".strip()

    def convert(self, q: Quantity) -> float:
        """Return the SI float of ``q`` for this kind (temperatures become Hz for energies)."""
        if q.dim not in self.accepts:
            raise InputError(f"must be {self.expected}, got {_describe_dim(q.dim)}")
        if self.name == "energy" and q.dim == _TEMP:
            return q.value * HZ_PER_K
        return q.value


#: The kinds of quantity a file may ask for, by name.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("time", (_TIME,), "time", "such as '50 ns'"),
        Kind("frequency", (_FREQ,), "frequency", "such as '4 MHz'"),
        Kind("angle", (_ANGLE, _NONE), "angle", "such as 'pi/2', '90 deg' or '1.57 rad'"),
        Kind("temperature", (_TEMP,), "temperature", "such as '20 mK'"),
        Kind("energy", (_FREQ, _TEMP), "energy", "as a frequency ('1 MHz') or temperature ('1 K')"),
        Kind("field", (_FIELD,), "magnetic field", "such as '10 mT'"),
        Kind("field_per_volt", ((0, 0, 1, -1, 0),), "coil constant", "such as '1e-4 T/V'"),
        Kind("voltage", (_VOLT,), "voltage", "such as '2 V'"),
        Kind("dimensionless", (_NONE,), "plain number"),
    )
}


def describe_kind(kind: str, qualifier: str = "") -> str:
    """Return ``kind`` (a key of :data:`KINDS`) as a noun phrase with its article.

    ``qualifier`` is an adjective before the noun: ``describe_kind("angle")`` is ``"an angle"``,
    ``describe_kind("dimensionless", "non-negative")`` is ``"a non-negative plain number"``.
    An unknown kind is its own noun (``_`` as spaces).
    """
    noun = KINDS[kind].noun if kind in KINDS else kind.replace("_", " ")
    words = f"{qualifier} {noun}".strip()
    return f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"


@dataclass(frozen=True)
class Range:
    """The physical range of a kind of quantity: zero, or a magnitude in ``[smallest, largest]``.

    Attributes
    ----------
    smallest
        Smallest non-zero magnitude accepted, SI (0: any non-zero magnitude).
    largest
        Largest magnitude accepted, SI.
    unit
        SI unit, for messages.
    """

    smallest: float
    largest: float
    unit: str

    def describe(self) -> str:
        """Return the range as words, e.g. ``"0 or a magnitude from 1e-15 s to 1e+06 s"``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.smallest > 0:
            return f"0 or a magnitude from {self.smallest:g}{unit} to {self.largest:g}{unit}"
        return f"a magnitude of at most {self.largest:g}{unit}"


#: Physical range of every kind (values in SI; energies in Hz). Every quantity read from a file
#: or an option is checked against it (:func:`check_range`), so that nothing beyond it (and no
#: inf or NaN) reaches a computation. README "Limits" lists the same table.
RANGES: dict[str, Range] = {
    "time": Range(1e-15, 1e6, "s"),
    "frequency": Range(1e-6, 1e15, "Hz"),
    "energy": Range(1e-6, 1e15, "Hz"),
    "angle": Range(0.0, 1e6, "rad"),
    "temperature": Range(1e-9, 1e4, "K"),
    "field": Range(0.0, 1e3, "T"),
    "field_per_volt": Range(0.0, 1e3, "T/V"),
    "voltage": Range(0.0, 1e3, "V"),
    "dimensionless": Range(0.0, 1e9, ""),
}


def check_range(value: float, kind: str) -> float:
    """Return ``value`` if it is finite and within ``RANGES[kind]``; raise InputError if not.

    Parameters
    ----------
    value
        SI value (energies in Hz).
    kind
        A key of :data:`RANGES`.

    Raises
    ------
    InputError
        Saying the range, for inf, NaN, a magnitude above ``largest`` or a non-zero magnitude
        below ``smallest``.
    """
    bounds, noun = RANGES[kind], describe_kind(kind)
    if not math.isfinite(value):
        raise InputError(f"must be finite ({noun} is {bounds.describe()})")
    if abs(value) > bounds.largest or 0 < abs(value) < bounds.smallest:
        raise InputError(f"is out of range: {noun} is {bounds.describe()}")
    return value


_DIM_NAMES = ("s", "K", "T", "V", "rad")


def _describe_dim(dim: Dim) -> str:
    named = next((kind.name for kind in KINDS.values() if kind.accepts[0] == dim), None)
    if named is not None:
        return describe_kind(named)
    parts = [f"{n}^{e}" if e != 1 else n for n, e in zip(_DIM_NAMES, dim, strict=True) if e]
    return "a quantity in " + " ".join(parts)


def _combine(a: Dim, b: Dim, sign: int) -> Dim:
    """Dimension of a product (sign=+1) or quotient (sign=-1)."""
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _unit_factor(symbol: str) -> tuple[int, float, Dim] | None:
    if symbol in _BASE_UNITS:
        return _BASE_UNITS[symbol]
    prefix, base = symbol[:1], symbol[1:]
    if prefix in _PREFIXES and base in _BASE_UNITS and base not in _UNPREFIXABLE:
        power, factor, dim = _BASE_UNITS[base]
        return power + _PREFIXES[prefix], factor, dim
    return None


def _literal(number: str, unit: str) -> Quantity | None:
    """Return ``number`` in ``unit`` (``MHz``, ``T/V``, ``Sa/s``) in SI, or None if unknown."""
    parts = unit.split("/")
    if len(parts) > 2 or not all(parts):
        return None
    power, factor, dim = 0, 1.0, _NONE
    for sign, symbol in zip((1, -1), parts, strict=False):
        found = _unit_factor(symbol)
        if found is None:
            return None
        p, f, d = found
        power += sign * p
        factor *= f if sign > 0 else 1.0 / f
        dim = _combine(dim, d, sign)
    try:
        scaled = float(Decimal(number).scaleb(power))
    except ArithmeticError:
        raise InputError("number out of range") from None
    if scaled * factor == 0 and _nonzero_digits(number):
        raise InputError(_UNDERFLOW)
    return Quantity(scaled * factor, dim)


_UNDERFLOW = "is out of range: non-zero but too small to represent (it would be read as 0)"
_NOT_FINITE = "must be a finite number with a unit ('nan' and 'inf' are not numbers here)"
_NON_FINITE_WORD = re.compile(r"(?<![\w.])(?:nan|inf|infinity)(?!\w)", re.IGNORECASE)
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_BARE_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER}")
# The look-ahead keeps "1e300*2" from being read as the number 1 in unit "e".
_LITERAL = re.compile(rf"(?<![\w.])({_NUMBER})(?![eE][+-]?\d)\s*([A-Za-zµμ]+(?:/[A-Za-zµμ]+)?)")

_FUNCTIONS: dict[str, Callable[[float], float]] = {
    f.__name__: f for f in (math.sqrt, math.exp, math.log, math.log10, math.sin, math.cos, abs)
}
_MAX_EXPRESSION_CHARS = 500


def evaluate(text: str | float | int, parameters: Mapping[str, Quantity] | None = None) -> Quantity:
    """Evaluate a quantity or an expression to a :class:`Quantity` (SI value, dimension).

    Parameters
    ----------
    text
        ``"50 ns"``, ``"pi/2"``, ``"tau - window/2"``, ``"2*t_pi2 + 10 ns"`` or a bare number.
    parameters
        Values of the names the expression may use.

    Raises
    ------
    InputError
        For syntax errors, unknown names or units, calls outside the whitelist
        (``sqrt``, ``exp``, ``log``, ``log10``, ``sin``, ``cos``, ``abs``, ``min``, ``max``),
        dimension mismatches and non-zero numbers or results that underflow to 0.
    """
    if isinstance(text, bool):
        raise InputError("must be a number or a quantity string, not a boolean", value=text)
    if isinstance(text, (int, float)):
        try:
            return Quantity(float(text))
        except OverflowError:
            raise InputError("number out of range", value=text) from None
    if not isinstance(text, str):
        raise InputError("must be a number or a quantity string", value=text)
    if len(text) > _MAX_EXPRESSION_CHARS:
        raise InputError(f"expression longer than {_MAX_EXPRESSION_CHARS} characters", value=text)
    names: dict[str, Quantity] = dict(parameters or {})
    names.setdefault("pi", Quantity(math.pi))

    def substitute(match: re.Match[str]) -> str:
        try:
            literal = _literal(match.group(1), match.group(2))
        except InputError as err:
            raise InputError(err.message, value=text) from None
        if literal is None:
            if match.group(2) in names or match.group(2) in _FUNCTIONS:
                return match.group(0)
            raise InputError(f"unknown unit {shorten(repr(match.group(2)))}", value=text)
        token = f"__q{len(names)}"
        names[token] = literal
        return f" {token} "

    source = _LITERAL.sub(substitute, text.strip()).strip()
    for number in _BARE_NUMBER.findall(source):
        if float(number) == 0 and _nonzero_digits(number):
            raise InputError(_UNDERFLOW, value=text)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        if _NON_FINITE_WORD.search(text):
            raise InputError(_NOT_FINITE, value=text) from None
        raise InputError("is not a valid quantity or expression", value=text) from None
    try:
        return _Evaluator(names).visit(tree.body)
    except InputError as err:
        raise InputError(err.message, value=text) from None


def _nonzero_digits(number: str) -> bool:
    """Return whether a number as written (``"1e-400"``) has a non-zero digit."""
    return bool(number.lower().split("e")[0].strip("+-0."))


def _nonzero(result: float, dim: Dim, *operands: float) -> Quantity:
    """Return ``Quantity(result, dim)``; raise InputError if non-zero ``operands`` gave 0."""
    if result == 0 and all(operands):
        raise InputError(_UNDERFLOW)
    return Quantity(result, dim)


def _unknown_name(name: str) -> str:
    """Return the message for a name that is no parameter (saying if it is a unit, nan, inf)."""
    if _NON_FINITE_WORD.fullmatch(name):
        return _NOT_FINITE
    if _unit_factor(name) is not None:
        return f"{name!r} is a unit: a unit is written after a number, as in '2 {name}'"
    return f"unknown name {shorten(repr(name))} (not a parameter, unit or 'pi')"


def reserved_name(name: str) -> str | None:
    """Return why ``name`` may not name a parameter (``"'us' is a unit"``), or None.

    Refused: ``pi``, the functions (``sqrt``, ``min``, ...) and the units with
    a prefix or of more than one letter (``us``, ``MHz``, ``rad``): a parameter ``us`` would
    make ``5*us`` silently 5 times it. The one-letter symbols ``s K T G V`` stay names (``T``
    for a period is common): a unit is read only right after a number (``5 T`` is tesla).
    """
    if name in {"pi", "min", "max", *_FUNCTIONS}:
        return f"{name!r} is reserved for the {'constant' if name == 'pi' else 'function'} {name}"
    if _unit_factor(name) is not None and len(name) > 1:
        return f"{name!r} is a unit"
    return None


class _Evaluator:
    """Walk an expression AST allowing only arithmetic, names and whitelisted calls."""

    def __init__(self, names: Mapping[str, Quantity]) -> None:
        self.names = names

    def visit(self, node: ast.AST) -> Quantity:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            if isinstance(node.value, bool):
                raise InputError("booleans are not numbers here")
            try:
                return Quantity(float(node.value))
            except OverflowError:
                raise InputError("number out of range") from None
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise InputError(_unknown_name(node.id))
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            q = self.visit(node.operand)
            return Quantity(-q.value if isinstance(node.op, ast.USub) else q.value, q.dim)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise InputError(f"'{type(node).__name__}' is not allowed in an expression")

    def _binop(self, node: ast.BinOp) -> Quantity:
        a, b = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, (ast.Add, ast.Sub)):
            a._same(b, "add" if isinstance(op, ast.Add) else "subtract")
            total = a.value + b.value if isinstance(op, ast.Add) else a.value - b.value
            return Quantity(total, a.dim)
        if isinstance(op, ast.Mult):
            return _nonzero(a.value * b.value, _combine(a.dim, b.dim, 1), a.value, b.value)
        if isinstance(op, ast.Div):
            if b.value == 0:
                raise InputError("division by zero")
            return _nonzero(a.value / b.value, _combine(a.dim, b.dim, -1), a.value)
        if isinstance(op, ast.Pow):
            if b.dim != _NONE or b.value != int(b.value) or abs(b.value) > 8:
                raise InputError("exponents must be plain integers between -8 and 8")
            n = int(b.value)
            if a.value == 0 and n < 0:
                raise InputError("division by zero")
            try:
                power = a.value**n
            except OverflowError:
                raise InputError("number too large") from None
            return _nonzero(power, tuple(x * n for x in a.dim), a.value)  # type: ignore[arg-type]
        raise InputError(f"operator '{type(op).__name__}' is not allowed in an expression")

    def _call(self, node: ast.Call) -> Quantity:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if node.keywords or name not in {*_FUNCTIONS, "min", "max"}:
            raise InputError(
                f"call of {name or 'an expression'!r} is not allowed; allowed functions are "
                + ", ".join(sorted({*_FUNCTIONS, "min", "max"}))
            )
        args = [self.visit(a) for a in node.args]
        if name in {"min", "max"}:
            if not args:
                raise InputError(f"{name}() needs at least one argument")
            for other in args[1:]:
                args[0]._same(other, f"take {name} of")
            pick = min if name == "min" else max
            return pick(args, key=lambda q: q.value)
        if len(args) != 1:
            raise InputError(f"{name}() takes exactly one argument")
        (arg,) = args
        if name == "abs":
            return Quantity(abs(arg.value), arg.dim)
        if name == "sqrt":
            if any(e % 2 for e in arg.dim) or arg.value < 0:
                raise InputError("sqrt() needs a non-negative value with even unit powers")
            return Quantity(math.sqrt(arg.value), tuple(e // 2 for e in arg.dim))  # type: ignore[arg-type]
        if arg.dim not in (_NONE, _ANGLE):
            raise InputError(f"{name}() needs a plain number, got {_describe_dim(arg.dim)}")
        try:
            return Quantity(_FUNCTIONS[name](arg.value))  # type: ignore[index]
        except (ValueError, OverflowError):
            raise InputError(f"{name}({arg.value:g}) is undefined") from None


def parse_quantity(
    text: str | float | int, kind: str, parameters: Mapping[str, Quantity] | None = None
) -> float:
    """Parse ``text`` as a quantity of ``kind`` (a key of :data:`KINDS`) to an SI float.

    Energies written as temperatures are converted to hertz with ``k_B / h``.

    Raises
    ------
    InputError
        If the text does not parse, or its dimension is not the one ``kind`` accepts, or the
        result is not finite and within the kind's physical range (:data:`RANGES`).
    """
    q = evaluate(text, parameters)
    try:
        return check_range(KINDS[kind].convert(q), kind)
    except InputError as err:
        raise InputError(err.message, value=text) from None


_FORMAT_UNITS = {
    "time": ("s", [(1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")]),
    "frequency": ("Hz", [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")]),
    "energy": ("Hz", [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")]),
    "temperature": ("K", [(1, ""), (1e-3, "m"), (1e-6, "u")]),
    "field": ("T", [(1, ""), (1e-3, "m"), (1e-6, "u")]),
    "voltage": ("V", [(1, ""), (1e-3, "m")]),
}


def format_quantity(value: float, kind: str, *, digits: int | None = None) -> str:
    """Format an SI float as a human-readable quantity string (``"2.5 us"``).

    Without ``digits``, mantissas have ``repr`` precision, so that
    ``parse_quantity(format_quantity(x, k), k) == x`` up to one rounding of the prefix
    scaling; with ``digits``, they have that many significant digits (for messages).
    """

    def number(x: float) -> str:
        return repr(float(x)) if digits is None else f"{x:.{digits}g}"

    if kind == "angle":
        return f"{number(value)} rad"
    if kind not in _FORMAT_UNITS:
        return number(value)
    unit, prefixes = _FORMAT_UNITS[kind]
    scale, prefix = next(((s, p) for s, p in prefixes if abs(value) >= s), prefixes[-1])
    return f"{number(value / scale)} {prefix}{unit}"
