import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import (
    HZ_PER_K,
    KINDS,
    RANGES,
    Quantity,
    check_range,
    evaluate,
    format_quantity,
    parse_quantity,
)

PREFIXES = {"p": -12, "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9}


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("50 ns", "time", 5e-8),
        ("50ns", "time", 5e-8),
        ("1 µs", "time", 1e-6),
        ("4 MHz", "frequency", 4e6),
        ("90 deg", "angle", math.pi / 2),
        ("pi/2", "angle", math.pi / 2),
        ("1.5708 rad", "angle", 1.5708),
        ("20 mK", "temperature", 0.02),
        ("1e-4 T/V", "field_per_volt", 1e-4),
        ("10 G", "field", 1e-3),
        ("2 V", "voltage", 2.0),
        ("250 MSa/s", "frequency", 250e6),
        ("1 MHz", "energy", 1e6),
        ("3", "dimensionless", 3.0),
        ("2e-3s", "time", 2e-3),
        (".5 us", "time", 5e-7),
    ],
    ids=lambda v: str(v),
)
def test_parse_quantity_known_values(text, kind, expected):
    assert parse_quantity(text, kind) == expected


def test_temperature_as_energy_uses_boltzmann_over_planck():
    assert parse_quantity("1 K", "energy") == pytest.approx(1.380649e-23 / 6.62607015e-34, 1e-15)
    assert math.isclose(HZ_PER_K, 20.836619123e9, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("text", "parameters", "expected"),
    [
        ("tau - window/2", {"tau": 5e-6, "window": 4e-6}, 3e-6),
        ("2*t_pi2 + 10 ns", {"t_pi2": 5e-7}, 1.01e-6),
        ("sqrt(2)*pi/4", {}, math.sqrt(2) * math.pi / 4),
        ("max(tau, 1 us)", {"tau": 5e-7}, 1e-6),
        ("-(tau)", {"tau": 1e-6}, -1e-6),
    ],
    ids=["difference", "sum-with-literal", "functions", "max", "unary"],
)
def test_expressions(text, parameters, expected):
    time = (1, 0, 0, 0, 0)
    env = {k: Quantity(v, time) for k, v in parameters.items()}
    q = evaluate(text, env)
    assert q.value == pytest.approx(expected, rel=1e-15)


def test_dimension_of_products_and_square_roots():
    assert evaluate("1 ns ** 2").dim == (2, 0, 0, 0, 0)
    assert evaluate("sqrt(4 ns**2)") == Quantity(4e-9, (1, 0, 0, 0, 0))
    assert evaluate("1/(2 us)").dim == (-1, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("5 MHz", "time", "must be a time"),
        ("3 ns + 2 MHz", "time", "cannot add"),
        ("1 foo", "time", "unknown unit 'foo'"),
        ("x", "time", "unknown name 'x'"),
        ("__import__('os')", "time", "call of '__import__' is not allowed"),
        ("open('f')", "time", "call of 'open' is not allowed"),
        ("(lambda: 1)()", "dimensionless", "is not allowed"),
        ("a.b", "dimensionless", "'Attribute' is not allowed"),
        ("[1, 2]", "dimensionless", "'List' is not allowed"),
        ("1/0", "dimensionless", "division by zero"),
        ("((10**8)**8)**8", "dimensionless", "number too large"),
        ("1e300*1e300", "dimensionless", "must be finite"),
        ("1e-99999999999999999999 ns", "time", "number out of range"),
        ("log(0)", "dimensionless", "undefined"),
        ("True", "dimensionless", "booleans"),
        ("1 +", "dimensionless", "not a valid quantity"),
        ("x" * 600, "dimensionless", "longer than 500"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_bad_quantities_raise_input_error(text, kind, message):
    with pytest.raises(InputError, match=None) as info:
        parse_quantity(text, kind)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@given(
    mantissa=st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=6),
    prefix=st.sampled_from(sorted(PREFIXES)),
    unit=st.sampled_from(["s", "Hz", "K", "T", "V"]),
)
def test_literal_is_the_float_nearest_to_the_exact_decimal_value(mantissa, prefix, unit):
    kind = {"s": "time", "Hz": "frequency", "K": "temperature", "T": "field", "V": "voltage"}[unit]
    text = f"{mantissa} {prefix}{unit}"
    exact = Fraction(mantissa) * Fraction(10) ** PREFIXES[prefix]
    bounds = RANGES[kind]
    if exact == 0 or bounds.smallest <= abs(exact) <= bounds.largest:
        assert parse_quantity(text, kind) == float(exact)
    else:
        with pytest.raises(InputError, match="is out of range"):
            parse_quantity(text, kind)


@given(
    value=st.floats(min_value=1e-9, max_value=1e3, allow_nan=False),
    sign=st.sampled_from([1.0, -1.0]),
    kind=st.sampled_from(["time", "frequency", "temperature", "field", "voltage", "angle"]),
)
def test_format_then_parse_round_trips(value, sign, kind):
    x = sign * value * (1e6 if kind == "frequency" else 1.0)
    assert parse_quantity(format_quantity(x, kind), kind) == pytest.approx(x, rel=4e-16, abs=0)


@given(
    a=st.floats(min_value=-1e3, max_value=1e3),
    b=st.floats(min_value=-1e3, max_value=1e3),
    c=st.floats(min_value=0.5, max_value=1e3),
)
def test_arithmetic_matches_python_on_plain_numbers(a, b, c):
    text = f"({a!r} + {b!r}) * {c!r} - {b!r} / {c!r}"
    if ((a + b) * c == 0 and a + b != 0) or (b / c == 0 and b != 0):
        # a non-zero product or quotient that underflows to 0 is refused, never 0
        with pytest.raises(InputError, match="too small to represent"):
            evaluate(text)
        return
    assert evaluate(text).value == (a + b) * c - b / c


def test_every_kind_has_a_physical_range():
    assert set(RANGES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(RANGES))
def test_range_edges_are_inclusive_and_sharp(kind):
    bounds = RANGES[kind]
    for value in (0.0, bounds.largest, -bounds.largest):
        assert check_range(value, kind) == value
    beyond = math.nextafter(bounds.largest, math.inf)
    for value in (beyond, -beyond, math.inf, -math.inf, math.nan):
        with pytest.raises(InputError, match=r"out of range|must be finite"):
            check_range(value, kind)
    if bounds.smallest > 0:
        assert check_range(bounds.smallest, kind) == bounds.smallest
        with pytest.raises(InputError, match="is out of range"):
            check_range(math.nextafter(bounds.smallest, 0.0), kind)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("1e308 s", "time"), ("1.7e308 Hz", "frequency"), ("1e-320 s", "time"), ("1e5 K", "energy")],
)
def test_parse_quantity_refuses_values_beyond_the_physical_range(text, kind):
    with pytest.raises(InputError, match="is out of range") as info:
        parse_quantity(text, kind)
    assert repr(text) in str(info.value)


def test_an_unknown_unit_suffix_never_shows_an_internal_name():
    with pytest.raises(InputError, match="not a valid quantity") as info:
        parse_quantity("2 ms2", "time")
    assert "__q" not in str(info.value)
