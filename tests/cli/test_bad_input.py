"""Table-driven bad-input suite: protocols, samples, ``--set`` and command-line options.

Every case must exit 2 with one line naming its location (``file:line`` and the key, or the
option), print no traceback and leave the working folder untouched (harness:
:mod:`tests.cli.bad_input`). The cases whose failure mode is a hang or a memory blow-up run in a
subprocess with ``RLIMIT_AS`` = 2 GiB and a 20 s timeout; the others run in this process.
"""

from __future__ import annotations

import pytest

from tests.cli.bad_input import Case, Fifo, Symlink, check_case

# Line numbers matter: the cases below name them.
PROTOCOL_LINES = (
    "name: t",  # 1
    "parameters:",  # 2
    "  carrier: 4 MHz",  # 3
    "  t_pi2: 500 ns",  # 4
    "  tau: 2 us",  # 5
    "  window: 2 us",  # 6
    "sequence:",  # 7
    "  - pulse: {angle: pi/2, duration: t_pi2}",  # 8
    "  - delay: tau",  # 9
    "  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}",  # 10
    "  - delay: tau - window/2",  # 11
    "  - detect: {duration: window, points: 16}",  # 12
    "sweep:",  # 13
    "  tau: {start: 2 us, stop: 4 us, points: 2}",  # 14
    "phase_cycle:",  # 15
    "  - {pulses: [0 deg, 0 deg], receiver: +1}",  # 16
    "  - {pulses: [180 deg, 0 deg], receiver: -1}",  # 17
    "shots: 1",  # 18
    "repetition_time: 1 ms",  # 19
    "full_scale_rabi: 1 MHz",  # 20
)
SAMPLE_LINES = (
    "name: s",  # 1
    "spin: 10",  # 2
    "g: 2.0",  # 3
    "Omega0: 40 GHz",  # 4
    "tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}",  # 5
    "bias: {distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}",  # 6
    "orientation: {distribution: fixed, theta: 0 deg}",  # 7
    "packets: 50",  # 8
    "seed: 1",  # 9
    "temperature: 0 K",  # 10
    "relaxation: {T1: 1 ms, T2: 100 us}",  # 11
)
NUCLEAR = "environment:\n  nuclear: {N: 100, omega0: 50 MHz, delta_omega: 1 MHz, lambda: 0.1}"


def _text(lines: tuple[str, ...], changes: dict[int, str]) -> str:
    out = list(lines)
    for number, line in changes.items():
        if number > len(out):
            out.append(line)
        else:
            out[number - 1] = line
    return "\n".join(out) + "\n"


def protocol(changes: dict[int, str]) -> str:
    """The base protocol with lines replaced (``{5: "  tau: 1e308 s"}``); 21+ appends."""
    return _text(PROTOCOL_LINES, changes)


def sample(changes: dict[int, str]) -> str:
    """The base sample with lines replaced; 12+ appends."""
    return _text(SAMPLE_LINES, changes)


SIMULATE_P = ("simulate", "p.yaml", "--sample", "bare", "--packets", "20", "-o", "out.nc")
SIMULATE_S = ("simulate", "p.yaml", "--sample", "s.yaml", "-o", "out.nc")
GOOD_P = protocol({})
GOOD_S = sample({})


def p_case(
    id_: str, changes: dict[int, str], line: int, key: str, *, isolated: bool = False
) -> Case:
    """A protocol case run by ``simulate``: the message names ``p.yaml:LINE`` and ``key``."""
    return Case(
        f"protocol-{id_}",
        SIMULATE_P,
        {"p.yaml": protocol(changes)},
        (f"p.yaml:{line}", key),
        isolated,
    )


def s_case(
    id_: str, changes: dict[int, str], line: int, key: str, *, isolated: bool = False
) -> Case:
    """A sample case run by ``simulate``: the message names ``s.yaml:LINE`` and ``key``."""
    return Case(
        f"sample-{id_}",
        SIMULATE_S,
        {"p.yaml": GOOD_P, "s.yaml": sample(changes)},
        (f"s.yaml:{line}", key),
        isolated,
    )


def set_case(id_: str, assignment: str, key: str, *, args: tuple[str, ...] = SIMULATE_P) -> Case:
    """A ``--set`` case: the message names ``--set`` and ``key``."""
    return Case(f"set-{id_}", (*args, "--set", assignment), {"p.yaml": GOOD_P}, ("--set", key))


def option_case(id_: str, options: tuple[str, ...], option: str, *, isolated: bool = False) -> Case:
    """A command-line option case: the message names the option."""
    return Case(
        f"option-{id_}",
        ("simulate", "p.yaml", "--sample", "s.yaml", "-o", "out.nc", *options),
        {"p.yaml": GOOD_P, "s.yaml": GOOD_S},
        (option,),
        isolated,
    )


def _nested(depth: int) -> str:
    return "  junk: " + "[" * depth + "1" + "]" * depth


def _block_nested(depth: int) -> str:
    return "\n".join("  " * (i + 1) + f"k{i}:" for i in range(depth)) + " 1"


CHIRP = "  - pulse: {{angle: pi/2, duration: t_pi2, shape: {{type: chirp, bandwidth: {}}}}}"
SECH = "  - pulse: {{angle: pi/2, duration: t_pi2, shape: {{type: sech, bandwidth: {}}}}}"
GAUSS = "  - pulse: {{angle: pi/2, duration: t_pi2, shape: {{type: gaussian, {}}}}}"
DETECT = "  - detect: {{duration: window, points: {}}}"

PROTOCOL_CASES = [
    # numeric extremes
    p_case("tau-1e308", {5: "  tau: 1e308 s"}, 5, "parameters.tau"),
    p_case("tau-minus-1e308", {5: "  tau: -1e308 s"}, 5, "parameters.tau"),
    p_case("tau-1e400", {5: "  tau: 1e400 s"}, 5, "parameters.tau"),
    p_case("tau-inf", {5: "  tau: .inf"}, 5, "parameters.tau"),
    p_case("tau-nan", {5: "  tau: .nan"}, 5, "parameters.tau"),
    p_case("tau-overflow-product", {5: "  tau: 1e200 s * 1e200"}, 5, "parameters.tau"),
    p_case("tau-exp-overflow", {5: "  tau: exp(1000) * 1 s"}, 5, "parameters.tau"),
    p_case("tau-1e-320", {5: "  tau: 1e-320 s"}, 5, "parameters.tau"),
    p_case("t_pi2-1e-320", {4: "  t_pi2: 1e-320 s"}, 4, "parameters.t_pi2"),
    p_case("t_pi2-1e308", {4: "  t_pi2: 1e308 s"}, 4, "parameters.t_pi2"),
    p_case("window-1e308", {6: "  window: 1e308 s"}, 6, "parameters.window"),
    p_case("carrier-1e308", {3: "  carrier: 1e308 Hz"}, 3, "parameters.carrier"),
    p_case("carrier-1.7e308", {3: "  carrier: 1.7e308 Hz"}, 3, "parameters.carrier"),
    p_case("carrier-negative", {3: "  carrier: -4 MHz"}, 3, "parameters.carrier"),
    p_case("carrier-zero", {3: "  carrier: 0 Hz"}, 3, "parameters.carrier"),
    p_case("carrier-1e-300", {3: "  carrier: 1e-300 Hz"}, 3, "parameters.carrier"),
    p_case("chirp-1.7e308", {8: CHIRP.format("1.7e308 Hz")}, 8, "shape.bandwidth"),
    p_case("chirp-1e20", {8: CHIRP.format("1e20 Hz")}, 8, "shape.bandwidth"),
    p_case("sech-1e308", {8: SECH.format("1e308 Hz")}, 8, "shape.bandwidth"),
    p_case("gauss-sigma-1e-300", {8: GAUSS.format("sigma: 1e-300 s")}, 8, "shape.sigma"),
    p_case("gauss-truncation-1e308", {8: GAUSS.format("truncation: 1e308")}, 8, "truncation"),
    p_case(
        "pulse-frequency-1e308",
        {8: "  - pulse: {angle: pi/2, duration: t_pi2, frequency: 1e308 Hz}"},
        8,
        "sequence[0].pulse.frequency",
    ),
    p_case(
        "pulse-phase-1e308",
        {8: "  - pulse: {angle: pi/2, duration: t_pi2, phase: 1e308 rad}"},
        8,
        "sequence[0].pulse.phase",
    ),
    p_case(
        "pulse-amplitude-nan",
        {8: "  - pulse: {amplitude: .nan, duration: t_pi2}"},
        8,
        "sequence[0].pulse.amplitude",
    ),
    p_case(
        "detect-offset-1e308",
        {12: "  - detect: {duration: window, points: 16, offset: 1e308 s}"},
        12,
        "sequence[4].detect.offset",
    ),
    p_case("repetition-1e308", {19: "repetition_time: 1e308 s"}, 19, "repetition_time"),
    p_case("full-scale-1e308", {20: "full_scale_rabi: 1e308 Hz"}, 20, "full_scale_rabi"),
    p_case("full-scale-zero", {20: "full_scale_rabi: 0 Hz"}, 20, "full_scale_rabi"),
    p_case(
        "sweep-start-1e308", {14: "  tau: {start: 1e308 s, stop: 4 us, points: 2}"}, 14, "start"
    ),
    p_case("sweep-values-1e308", {14: "  tau: {values: [2 us, 1e308 s]}"}, 14, "values[1]"),
    p_case(
        "sweep-points-10001",
        {14: "  tau: {start: 2 us, stop: 4 us, points: 10001}"},
        14,
        "sweep.tau.points",
    ),
    p_case(
        "sweep-points-float",
        {14: "  tau: {start: 2 us, stop: 4 us, points: 2.5}"},
        14,
        "sweep.tau.points",
    ),
    p_case("detect-points-huge", {12: DETECT.format(10**7)}, 12, "points"),
    p_case("detect-points-zero", {12: DETECT.format(0)}, 12, "points"),
    p_case("detect-points-text", {12: DETECT.format("many")}, 12, "points"),
    p_case(
        "memory-sweep-x-detect",
        {12: DETECT.format(1000000), 14: "  tau: {start: 2 us, stop: 4 us, points: 2000}"},
        14,
        "sweep",
        isolated=True,
    ),
    Case(
        "protocol-memory-detect-x-packets",
        SIMULATE_P,
        {"p.yaml": protocol({12: "\n".join([DETECT.format(1000000)] * 10), 13: "#", 14: "#"})},
        ("p.yaml", "10000000 detection points", "GiB"),
        isolated=True,
    ),
    p_case("shots-huge", {18: "shots: 10000000000"}, 18, "shots"),
    p_case("receiver-2", {16: "  - {pulses: [0 deg, 0 deg], receiver: 2}"}, 16, "receiver"),
    p_case("phase-cycle-short", {16: "  - {pulses: [0 deg], receiver: +1}"}, 16, "pulses"),
    p_case("unknown-unit", {5: "  tau: 2 ms2"}, 5, "parameters.tau"),
    p_case("dimension-mismatch", {5: "  tau: 2 us + 4 MHz"}, 5, "parameters.tau"),
    p_case("call-not-allowed", {5: "  tau: __import__('os')"}, 5, "parameters.tau"),
    p_case("attribute-not-allowed", {5: "  tau: t_pi2.real"}, 5, "parameters.tau"),
    p_case("power-too-large", {5: "  tau: 10**400 * 1 s"}, 5, "parameters.tau"),
    p_case("date-value", {5: "  tau: 2024-01-01"}, 5, "parameters.tau"),
    p_case("python-tag", {5: "  tau: !!python/object:os.system echo"}, 5, "parameters.tau"),
    p_case("delay-negative", {9: "  - delay: -tau"}, 9, "sequence[1].delay"),
    p_case(
        "detect-inside-pulse",
        {12: "  - detect: {duration: window, points: 16, offset: -10 us}"},
        12,
        "sequence[4]",
    ),
    p_case("sweep-unknown", {14: "  tauu: {start: 2 us, stop: 4 us, points: 2}"}, 14, "sweep.tauu"),
    p_case(
        "log-sweep-negative",
        {14: "  tau: {start: -2 us, stop: 4 us, points: 2, scale: log}"},
        14,
        "sweep.tau",
    ),
    p_case("unknown-top-key", {21: "junk: 1"}, 21, "junk"),
    p_case("duplicate-key", {6: "  tau: 3 us"}, 6, "parameters.tau"),
    p_case(
        "element-two-keys",
        {9: "  - {delay: tau, pulse: {angle: pi, duration: t_pi2}}"},
        9,
        "sequence[1]",
    ),
    p_case(
        "amplitude-above-one",
        {8: "  - pulse: {amplitude: 1.5, duration: t_pi2}"},
        8,
        "sequence[0].pulse.amplitude",
    ),
    p_case(
        "angle-too-large", {8: "  - pulse: {angle: 1e308, duration: t_pi2}"}, 8, "sequence[0].pulse"
    ),
    # YAML 1.1 booleans as keys
    p_case("key-off", {5: "  off: 2 us"}, 5, "off"),
    p_case("key-on", {5: "  on: 2 us"}, 5, "on"),
    p_case("key-yes", {5: "  yes: 2 us"}, 5, "yes"),
    p_case("key-no", {5: "  no: 2 us"}, 5, "no"),
    p_case("key-Off", {5: "  Off: 2 us"}, 5, "Off"),
    p_case("key-TRUE", {21: "TRUE: 1"}, 21, "TRUE"),
    p_case("key-null", {5: "  null: 2 us"}, 5, "null"),
    p_case("key-int", {5: "  1: 2 us"}, 5, "1"),
    # structure and syntax
    p_case("tab-indent", {5: "\ttau: 2 us"}, 5, ""),
    p_case("unclosed-bracket", {8: "  - pulse: {angle: pi/2, duration: t_pi2"}, 9, ""),
    p_case("alias", {6: "  window: &w 2 us", 21: "extra: *w"}, 6, ""),
    # resources
    p_case("nesting-500-flow", {21: "junk: " + "[" * 500 + "]" * 500}, 21, "", isolated=True),
    p_case(
        "nesting-100000-flow", {21: "junk: " + "[" * 100000 + "]" * 100000}, 21, "", isolated=True
    ),
    p_case("nesting-500-block", {21: "junk:\n" + _block_nested(500)}, 53, "", isolated=True),
    Case("protocol-2MB", SIMULATE_P, {"p.yaml": GOOD_P + "#" * 2_000_000 + "\n"}, ("p.yaml",)),
    Case("protocol-not-utf8", SIMULATE_P, {"p.yaml": b"name: \xff\xfe\n"}, ("p.yaml",)),
    Case("protocol-empty", SIMULATE_P, {"p.yaml": ""}, ("p.yaml",)),
    Case("protocol-list-root", SIMULATE_P, {"p.yaml": "- 1\n- 2\n"}, ("p.yaml:1",)),
    Case("protocol-fifo", SIMULATE_P, {"p.yaml": Fifo()}, ("p.yaml",), isolated=True),
    Case(
        "protocol-dev-zero",
        SIMULATE_P,
        {"p.yaml": Symlink("/dev/zero")},
        ("p.yaml",),
        isolated=True,
    ),
    Case("protocol-directory", SIMULATE_P, {"p.yaml/x": "1"}, ("p.yaml",)),
    Case("protocol-missing", SIMULATE_P, {}, ("p.yaml",)),
    Case(
        "protocol-many-nodes",
        SIMULATE_P,
        {"p.yaml": GOOD_P + "junk: [" + ",".join(["1"] * 60000) + "]\n"},
        ("p.yaml:21",),
    ),
]

BAD_DIST = "tunnel_splitting: {{distribution: {}}}"
BIAS = "bias: {{distribution: {}}}"
NUC = "  nuclear: {{N: 100, omega0: 50 MHz, delta_omega: 1 MHz, {}}}"

SAMPLE_CASES = [
    # numeric extremes in distributions
    s_case(
        "sigma-1e308",
        {5: BAD_DIST.format("lognormal, median: 1 MHz, sigma: 1e308")},
        5,
        "tunnel_splitting.sigma",
    ),
    s_case(
        "sigma-1000",
        {5: BAD_DIST.format("lognormal, median: 1 MHz, sigma: 1000")},
        5,
        "tunnel_splitting.sigma",
    ),
    s_case(
        "median-1e308",
        {5: BAD_DIST.format("lognormal, median: 1e308 Hz, sigma: 0.1")},
        5,
        "tunnel_splitting.median",
    ),
    s_case(
        "median-1e-300",
        {5: BAD_DIST.format("lognormal, median: 1e-300 Hz, sigma: 0.1")},
        5,
        "tunnel_splitting.median",
    ),
    s_case(
        "fixed-1e308", {5: BAD_DIST.format("fixed, value: 1e308 Hz")}, 5, "tunnel_splitting.value"
    ),
    s_case(
        "fixed-negative", {5: BAD_DIST.format("fixed, value: -1 MHz")}, 5, "tunnel_splitting.value"
    ),
    s_case(
        "uniform-high-1e308",
        {5: BAD_DIST.format("uniform, low: 1 MHz, high: 1e308 Hz")},
        5,
        "tunnel_splitting.high",
    ),
    s_case(
        "list-1e308",
        {5: BAD_DIST.format("list, values: [1 MHz, 1e308 Hz]")},
        5,
        "tunnel_splitting.values[1]",
    ),
    s_case(
        "list-weights-1e308",
        {5: BAD_DIST.format("list, values: [1 MHz, 2 MHz], weights: [1e308, 1e308]")},
        5,
        "tunnel_splitting.weights[0]",
    ),
    s_case(
        "list-weights-nan",
        {5: BAD_DIST.format("list, values: [1 MHz, 2 MHz], weights: [.nan, 1]")},
        5,
        "tunnel_splitting.weights[0]",
    ),
    s_case(
        "bias-width-1e308",
        {6: BIAS.format("gaussian, mean: 0 Hz, width: 1e308 Hz")},
        6,
        "bias.width",
    ),
    s_case(
        "bias-mean-1e308",
        {6: BIAS.format("gaussian, mean: 1e308 Hz, width: 1 MHz")},
        6,
        "bias.mean",
    ),
    s_case(
        "bias-width-1e-300",
        {6: BIAS.format("gaussian, mean: 0 Hz, width: 1e-300 Hz")},
        6,
        "bias.width",
    ),
    s_case("bias-uniform-inf", {6: BIAS.format("uniform, low: -.inf, high: 1 MHz")}, 6, "bias.low"),
    s_case(
        "unknown-distribution",
        {5: BAD_DIST.format("cauchy, median: 1 MHz")},
        5,
        "tunnel_splitting.distribution",
    ),
    s_case(
        "gaussian-splitting",
        {5: BAD_DIST.format("gaussian, mean: 1 MHz, width: 1 kHz")},
        5,
        "tunnel_splitting.distribution",
    ),
    # top-level numbers
    s_case("spin-1e308", {2: "spin: 1e308"}, 2, "spin"),
    s_case("spin-third", {2: "spin: 0.3"}, 2, "spin"),
    s_case("g-1e308", {3: "g: 1e308"}, 3, "g"),
    s_case("Omega0-1e308", {4: "Omega0: 1e308 Hz"}, 4, "Omega0"),
    s_case(
        "theta-1e308",
        {7: "orientation: {distribution: fixed, theta: 1e308 rad}"},
        7,
        "orientation.theta",
    ),
    s_case("temperature-1e308", {10: "temperature: 1e308 K"}, 10, "temperature"),
    s_case("temperature-1e-320", {10: "temperature: 1e-320 K"}, 10, "temperature"),
    s_case("temperature-negative", {10: "temperature: -1 K"}, 10, "temperature"),
    s_case("T1-1e308", {11: "relaxation: {T1: 1e308 s}"}, 11, "relaxation.T1"),
    s_case("T2-1e-320", {11: "relaxation: {T2: 1e-320 s}"}, 11, "relaxation.T2"),
    s_case("T2-above-2T1", {11: "relaxation: {T1: 1 us, T2: 3 us}"}, 11, "relaxation.T2"),
    s_case("packets-zero", {8: "packets: 0"}, 8, "packets"),
    s_case("packets-negative", {8: "packets: -1"}, 8, "packets"),
    s_case("packets-float", {8: "packets: 1.5"}, 8, "packets"),
    s_case("packets-1e8", {8: "packets: 100000000"}, 8, "packets", isolated=True),
    s_case("seed-negative", {9: "seed: -1"}, 9, "seed"),
    s_case("seed-text", {9: "seed: one"}, 9, "seed"),
    s_case(
        "bias-sampling-width-1e308",
        {12: "bias_sampling: {width: 1e308 Hz, fraction: 0.5}"},
        12,
        "bias_sampling.width",
    ),
    s_case(
        "bias-sampling-fraction-1",
        {12: "bias_sampling: {width: 1 MHz, fraction: 1}"},
        12,
        "bias_sampling.fraction",
    ),
    s_case(
        "bias-sampling-center-1e308",
        {12: "bias_sampling: {width: 1 MHz, fraction: 0.5, center: 1e308 Hz}"},
        12,
        "bias_sampling.center",
    ),
    # environments
    s_case(
        "lambda-1e308",
        {12: "environment:", 13: NUC.format("lambda: 1e308")},
        13,
        "environment.nuclear.lambda",
    ),
    s_case(
        "lambda-1e9",
        {12: "environment:", 13: NUC.format("lambda: 1e9")},
        13,
        "environment.nuclear.lambda",
        isolated=True,
    ),
    s_case(
        "lambda-prime-above",
        {12: "environment:", 13: NUC.format("lambda: 1, lambda_prime: 2")},
        13,
        "environment.nuclear.lambda_prime",
    ),
    s_case(
        "nuclear-omega0-1e308",
        {12: "environment:", 13: "  nuclear: {N: 100, omega0: 1e308 Hz}"},
        13,
        "environment.nuclear.omega0",
    ),
    s_case(
        "nuclear-delta-omega-1e308",
        {
            12: "environment:",
            13: NUC.format("delta_omega: 1e308 Hz").replace("delta_omega: 1 MHz, ", ""),
        },
        13,
        "environment.nuclear.delta_omega",
    ),
    s_case(
        "nuclear-N-huge",
        {12: "environment:", 13: "  nuclear: {N: 10000000000000, omega0: 50 MHz}"},
        13,
        "environment.nuclear.N",
    ),
    s_case(
        "nuclear-temperature-1e-320",
        {12: "environment:", 13: NUC.format("temperature: 1e-320 K")},
        13,
        "environment.nuclear.temperature",
    ),
    s_case(
        "nuclear-dynamic-maybe",
        {12: "environment:", 13: NUC.format("dynamic: maybe")},
        13,
        "environment.nuclear.dynamic",
    ),
    s_case(
        "diffusion-T2-1e-320",
        {12: "environment:", 13: "  spin_diffusion: {T2: 1e-320 s, width: 1 MHz}"},
        13,
        "environment.spin_diffusion.T2",
    ),
    s_case(
        "diffusion-width-1e308",
        {12: "environment:", 13: "  spin_diffusion: {T2: 1 ms, width: 1e308 Hz}"},
        13,
        "environment.spin_diffusion.width",
    ),
    s_case(
        "electrons-alpha-1e308",
        {12: "environment:", 13: "  electrons: {alpha: 1e308}"},
        13,
        "environment.electrons.alpha",
    ),
    s_case(
        "phonons-debye-1e308",
        {12: "environment:", 13: "  phonons: {debye_temperature: 1e308 K, anisotropy: 1 K}"},
        13,
        "environment.phonons.debye_temperature",
    ),
    s_case(
        "phonons-anisotropy-1e308",
        {12: "environment:", 13: "  phonons: {debye_temperature: 100 K, anisotropy: 1e308 Hz}"},
        13,
        "environment.phonons.anisotropy",
    ),
    # YAML 1.1 booleans and structure
    s_case("key-off", {12: "off: 1"}, 12, "off"),
    s_case("key-yes-in-block", {11: "relaxation: {yes: 1 ms}"}, 11, "yes"),
    s_case("unknown-key", {12: "colour: blue"}, 12, "colour"),
    s_case("missing-bias", {6: "# no bias"}, 1, "bias"),
    s_case("nesting-500", {12: "junk: " + "[" * 500 + "]" * 500}, 12, "", isolated=True),
    Case(
        "sample-fifo", SIMULATE_S, {"p.yaml": GOOD_P, "s.yaml": Fifo()}, ("s.yaml",), isolated=True
    ),
    Case(
        "sample-dev-zero",
        SIMULATE_S,
        {"p.yaml": GOOD_P, "s.yaml": Symlink("/dev/zero")},
        ("s.yaml",),
        isolated=True,
    ),
    Case("sample-directory", SIMULATE_S, {"p.yaml": GOOD_P, "s.yaml/x": "1"}, ("s.yaml",)),
    Case(
        "sample-2MB",
        SIMULATE_S,
        {"p.yaml": GOOD_P, "s.yaml": GOOD_S + "#" * 2_000_000},
        ("s.yaml",),
    ),
    Case("sample-missing", SIMULATE_S, {"p.yaml": GOOD_P}, ("s.yaml",)),
    Case(
        "sample-unknown-builtin",
        ("simulate", "p.yaml", "--sample", "nosuch", "-o", "out.nc"),
        {"p.yaml": GOOD_P},
        ("nosuch",),
    ),
    Case(
        "budget-sigma-1e308",
        ("budget", "s.yaml"),
        {"s.yaml": sample({5: BAD_DIST.format("lognormal, median: 1 MHz, sigma: 1e308")})},
        ("s.yaml:5", "tunnel_splitting.sigma"),
    ),
]

SET_CASES = [
    set_case("tau-1e308", "tau=1e308 s", "tau"),
    set_case("tau-1e400", "tau=1e400 s", "tau"),
    set_case("tau-exp-overflow", "tau=exp(1000) s", "tau"),
    set_case("tau-text", "tau=abc", "tau"),
    set_case("tau-frequency", "tau=4 MHz", "tau"),
    set_case("tau-negative", "tau=-3 us", "tau"),
    set_case("window-negative", "window=-1 us", "window"),
    set_case("t_pi2-1e-320", "t_pi2=1e-320 s", "t_pi2"),
    set_case("carrier-1e308", "carrier=1e308 Hz", "carrier"),
    set_case("carrier-zero", "carrier=0 Hz", "carrier"),
    set_case("unknown", "taux=1 us", "taux"),
    set_case("no-equals", "tau", "tau"),
    set_case("empty-value", "tau=", "tau"),
    set_case("empty-name", "=1 us", "1 us"),
    set_case("call", "tau=__import__('os')", "tau"),
    set_case("full-scale-1e308", "full_scale_rabi=1e308 Hz", "full_scale_rabi"),
    set_case("full-scale-zero", "full_scale_rabi=0 Hz", "full_scale_rabi"),
    set_case("full-scale-time", "full_scale_rabi=2 us", "full_scale_rabi"),
    set_case("full-scale-too-low", "full_scale_rabi=10 kHz", "full_scale_rabi"),
    set_case("show-tau-1e308", "tau=1e308 s", "tau", args=("show", "p.yaml")),
    set_case(
        "show-full-scale-zero", "full_scale_rabi=0 Hz", "full_scale_rabi", args=("show", "p.yaml")
    ),
]

OPTION_CASES = [
    option_case("packets-zero", ("--packets", "0"), "--packets"),
    option_case("packets-negative", ("--packets", "-5"), "--packets"),
    option_case("packets-1e9", ("--packets", "1000000000"), "--packets", isolated=True),
    option_case("packets-text", ("--packets", "many"), "--packets"),
    option_case("seed-negative", ("--seed", "-1"), "--seed"),
    option_case("seed-text", ("--seed", "x"), "--seed"),
    option_case("frame-unknown", ("--frame", "inertial"), "--frame"),
    Case(
        "option-protocol-unknown",
        ("simulate", "nosuch", "--sample", "bare", "-o", "out.nc"),
        {},
        ("nosuch",),
    ),
]

CASES = PROTOCOL_CASES + SAMPLE_CASES + SET_CASES + OPTION_CASES


def test_table_is_large_and_ids_unique():
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, tmp_path):
    check_case(case, tmp_path)
