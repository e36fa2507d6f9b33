import matplotlib.image
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.sequences import compile_timeline, load_protocol
from tests.images import assert_plot_image

LIBRARY = (
    "fid",
    "nutation",
    "hahn-echo",
    "cpmg",
    "stimulated-echo",
    "inversion-recovery",
    "hole-burning",
)


@pytest.mark.parametrize("name", LIBRARY, ids=LIBRARY)
def test_show_prints_the_timeline_and_plots_the_waveform(name, tmp_path, capsys):
    png = tmp_path / f"{name}.png"
    assert main(["show", name, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    timeline = compile_timeline(load_protocol(name).sequence())
    lines = out.splitlines()
    header = lines.index(next(x for x in lines if x.startswith("segment")))
    assert lines[header].split() == [
        "segment",
        "element",
        "start",
        "duration",
        "Rabi",
        "phase",
        "offset",
    ]
    rows = lines[header + 1 : lines.index("detection windows:") - 1]
    assert len(rows) == len(timeline.start_s)
    windows = lines[lines.index("detection windows:") + 1 :]
    assert sum(x.strip().startswith(str(j)) for j, x in enumerate(windows)) == len(timeline.detect)
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert f"plot: {png}" in out


def test_show_table_values_carry_units(capsys):
    assert main(["show", "hahn-echo", "--set", "tau=3 us"]) == 0
    rows = [x.split() for x in capsys.readouterr().out.splitlines()]
    assert ["0", "pulse", "0", "0", "s", "500", "ns", "500", "kHz", "0", "deg", "0", "Hz"] in rows
    assert ["1", "delay", "500", "ns", "3", "µs", "0", "Hz", "0", "deg", "0", "Hz"] in rows
    assert ["2", "pulse", "1", "3.5", "µs", "1", "µs", "500", "kHz", "90", "deg", "0", "Hz"] in rows


def test_show_subdivides_shaped_pulses(tmp_path, capsys):
    path = tmp_path / "shaped.yaml"
    path.write_text(
        "name: shaped\nparameters: {carrier: 4 MHz}\nsequence:\n"
        "  - pulse: {angle: pi, duration: 2 us, shape: gaussian}\n"
        "  - detect: {duration: 1 us, points: 8}\n",
        encoding="utf-8",
    )
    assert (
        main(["show", str(path), "--sample-rate", "250 MHz", "--plot", str(tmp_path / "s.png")])
        == 0
    )
    out = capsys.readouterr().out
    # one table row per sub-segment of the compiled pulse (the subdivision rule of
    # sequences/compile.py; tested against the continuous pulse in tests/sequences)
    timeline = compile_timeline(load_protocol(path).sequence({}, 0))
    segments = int(np.count_nonzero(timeline.pulse_index == 0))
    assert segments > 64
    assert sum(" pulse 0 " in x for x in out.splitlines()) == segments
    assert_plot_image(tmp_path / "s.png")


YAML_BOMB = """\
name: bomb
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""

BASE = {
    "head": "name: bad\nparameters:\n  carrier: 4 MHz\n  tau: 5 us\n",
    "seq": "sequence:\n  - pulse: {angle: pi/2, duration: 500 ns}\n  - delay: tau\n"
    "  - detect: {duration: 2 us, points: 16}\n",
}


def _doc(head=BASE["head"], seq=BASE["seq"], tail=""):
    return head + seq + tail


MALFORMED = [
    (
        "negative-duration",
        _doc(seq="sequence:\n  - pulse: {angle: pi/2, duration: -5 ns}\n"),
        "sequence[0].pulse.duration = '-5 ns': must be a positive time",
    ),
    (
        "duration-is-a-frequency",
        _doc(seq="sequence:\n  - pulse: {angle: pi/2, duration: 5 MHz}\n"),
        "sequence[0].pulse.duration = '5 MHz': must be a time",
    ),
    ("unknown-top-key", _doc(tail="shot: 4\n"), "shot: unknown key 'shot'"),
    (
        "unknown-pulse-key",
        _doc(seq="sequence:\n  - pulse: {angel: pi/2, duration: 5 ns}\n"),
        "sequence[0].pulse.angel: unknown key 'angel'",
    ),
    (
        "overlapping-detection-windows",
        _doc(tail="  - detect: {duration: 2 us, points: 16, offset: -1 us}\n"),
        "sequence[3]: detection window opens at 6.5e-06 s and overlaps the previous",
    ),
    (
        "window-inside-pulse",
        _doc(
            seq="sequence:\n  - pulse: {angle: pi/2, duration: 500 ns}\n"
            "  - detect: {duration: 2 us, points: 16, offset: -100 ns}\n"
        ),
        "sequence[1]: detection window opens at 4e-07 s, inside pulse 0",
    ),
    (
        "undefined-parameter",
        _doc(seq="sequence:\n  - delay: tua\n"),
        "sequence[0].delay = 'tua': unknown name 'tua'",
    ),
    (
        "call-outside-whitelist",
        _doc(seq="sequence:\n  - delay: __import__('os').system('true')\n"),
        "sequence[0].delay",
    ),
    (
        "open-call",
        _doc(seq="sequence:\n  - delay: open('x')\n"),
        "sequence[0].delay = \"open('x')\": call of 'open' is not allowed",
    ),
    ("yaml-bomb", YAML_BOMB, "anchors and aliases are not allowed"),
    (
        "huge-document",
        _doc(tail="description: '" + "x" * 1_100_000 + "'\n"),
        "larger than 1000000 bytes",
    ),
    (
        "negative-delay",
        _doc(seq="sequence:\n  - delay: tau - 10 us\n"),
        "sequence[0].delay = 'tau - 10 us': must be a non-negative time (at the defaults)",
    ),
    (
        "negative-delay-in-sweep",
        _doc(
            seq="sequence:\n  - delay: tau - 3 us\n",
            tail="sweep:\n  tau: {start: 1 us, stop: 5 us, points: 3}\n",
        ),
        "sequence[0].delay = 'tau - 3 us': must be a non-negative time "
        "(at sweep point tau = 1 us)",
    ),
    (
        "sweep-unknown-parameter",
        _doc(tail="sweep:\n  tua: {start: 1 us, stop: 5 us, points: 3}\n"),
        "sweep.tua: sweeps an unknown parameter; known parameters are carrier, tau",
    ),
    (
        "sweep-wrong-dimension",
        _doc(tail="sweep:\n  tau: {values: [1 us, 2 MHz]}\n"),
        "sweep.tau.values[1] = '2 MHz': must be a time",
    ),
    (
        "log-sweep-from-zero",
        _doc(tail="sweep:\n  tau: {start: 0 us, stop: 5 us, points: 3, scale: log}\n"),
        "sweep.tau: a log sweep needs positive start and stop",
    ),
    (
        "phase-cycle-length",
        _doc(tail="phase_cycle:\n  - {pulses: [0 deg, 0 deg], receiver: +1}\n"),
        "phase_cycle[0].pulses: lists 2 phases; the sequence has 1 pulses",
    ),
    (
        "bad-receiver",
        _doc(tail="phase_cycle:\n  - {pulses: [0 deg], receiver: 2}\n"),
        "phase_cycle[0].receiver = 2: must be +1, -1 or an angle",
    ),
    (
        "angle-beyond-full-scale",
        _doc(seq="sequence:\n  - pulse: {angle: pi, duration: 100 ns}\n"),
        "sequence[0].pulse: angle 3.14159 rad over 1e-07 s as rect needs amplitude 5",
    ),
    (
        "amplitude-above-one",
        _doc(seq="sequence:\n  - pulse: {amplitude: 1.5, duration: 100 ns}\n"),
        "sequence[0].pulse.amplitude = 1.5: must be a fraction of full scale in [0, 1]",
    ),
    (
        "angle-and-amplitude",
        _doc(seq="sequence:\n  - pulse: {angle: pi, amplitude: 0.5, duration: 1 us}\n"),
        "sequence[0].pulse: a pulse needs exactly one of 'angle' or 'amplitude'",
    ),
    (
        "missing-carrier",
        "name: bad\nparameters: {tau: 5 us}\n" + BASE["seq"],
        "parameters: the parameters must include 'carrier'",
    ),
    (
        "unknown-shape",
        _doc(seq="sequence:\n  - pulse: {angle: pi, duration: 1 us, shape: triangle}\n"),
        "sequence[0].pulse.shape = 'triangle': unknown shape",
    ),
    (
        "chirp-without-bandwidth",
        _doc(seq="sequence:\n  - pulse: {angle: pi, duration: 1 us, shape: {type: chirp}}\n"),
        "sequence[0].pulse.shape.bandwidth: missing required key 'bandwidth'",
    ),
    (
        "zero-detect-points",
        _doc(seq="sequence:\n  - detect: {duration: 1 us, points: 0}\n"),
        "sequence[0].detect.points = 0: must be a whole number from 1",
    ),
    (
        "repetition-too-short",
        _doc(tail="repetition_time: 1 us\n"),
        "repetition_time = '1 us': the sequence lasts 7.5e-06 s, longer than the repetition",
    ),
    (
        "two-element-entry",
        _doc(seq="sequence:\n  - {delay: 1 us, detect: {duration: 1 us, points: 4}}\n"),
        "sequence[0]: each sequence entry must be a mapping with exactly one key",
    ),
    (
        "duplicate-key",
        _doc(tail="name: again\n"),
        "name: duplicate key",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_protocols_exit_2_with_a_located_one_line_message(
    text, expected, tmp_path, capsys
):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["show", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"spin-echo: error: {path}")
    assert expected in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set", "tua=1 us"], "--set: tua = '1 us': unknown parameter; known parameters are"),
        (["--set", "tau"], "--set: 'tau': expected NAME=VALUE"),
        (["--set", "tau=2 MHz"], "--set: tau = '2 MHz': must be a time"),
        (["--set", "tau=1 us"], "--set: tau = '1 us': makes the protocol invalid"),
        (["--set", "t_pi2=10 ns"], "needs amplitude 25"),
        (["--sample-rate", "fast", "--plot", "x.png"], "--sample-rate: 'fast'"),
        (
            ["--sample-rate", "5 GHz", "--plot", "x.png"],
            "sample_rate = 5000000000.0: must be between",
        ),
        (["--sample-rate", "1 kHz", "--plot", "x.png"], "shorter than one sample"),
    ],
    ids=[
        "unknown",
        "no-equals",
        "dimension",
        "negative-delay",
        "full-scale",
        "rate-text",
        "rate-range",
        "short-pulse",
    ],
)
def test_bad_options_exit_2(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["show", "hahn-echo", *argv]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert expected in line
    assert not (tmp_path / "x.png").exists()


def test_unknown_protocol_name_exits_2(capsys):
    assert main(["show", "no-such-protocol"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "'no-such-protocol': is neither a built-in protocol nor a file" in line
    assert "hahn-echo" in line
