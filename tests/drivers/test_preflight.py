"""What a protocol asks of a bench, refused before connecting (drivers/preflight.py).

Each class at its boundary: drive frequencies against the AWG's Nyquist frequency (carrier,
pulse offset, half a sweep), pulses against half a DAC step, the receiver's bandwidth against
the carrier and the detector's Nyquist frequency, and the virtual detector's trace length;
every built-in protocol passes on the built-in bench and a lab bench; the command line exits 2
and writes nothing.
"""

from __future__ import annotations

import textwrap

import pytest

from spin_echo.drivers.bench import check_protocol_fits, load_bench
from spin_echo.drivers.interface import BenchError
from spin_echo.drivers.preflight import MAX_TRACE_SAMPLES, drive_frequency_hz
from spin_echo.echo.cli.main import main
from spin_echo.sequences import Protocol
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol_files import LIBRARY_DIR, load_protocol

RATE = 250e6  # the virtual bench's AWG, Sa/s


def protocol_text(carrier="4 MHz", pulse="{angle: pi/2, duration: 500 ns}", rabi="1 MHz"):
    return textwrap.dedent(f"""\
        name: t
        parameters: {{carrier: {carrier}}}
        sequence:
          - pulse: {pulse}
          - delay: 1 us
          - detect: {{duration: 2 us, points: 16}}
        full_scale_rabi: {rabi}
        """)


def protocol(**values):
    return Protocol.from_yaml(protocol_text(**values))


@pytest.fixture(scope="module")
def virtual():
    return load_bench("virtual")


@pytest.mark.parametrize(
    ("carrier_hz", "pulse", "top_hz"),
    [
        (4e6, "{angle: pi/2, duration: 500 ns, frequency: 121 MHz}", 125e6),
        (130e6, "{angle: pi/2, duration: 500 ns, frequency: -5 MHz}", 125e6),
        (4e6, "{angle: pi/2, duration: 500 ns, frequency: -129 MHz}", 125e6),
        (5e6, "{angle: pi/2, duration: 2 us, shape: {type: chirp, bandwidth: 240 MHz}}", 125e6),
        (4e6, "{angle: pi/2, duration: 500 ns, frequency: 1e15 Hz}", 1e15 + 4e6),
    ],
)
def test_a_drive_at_or_above_the_awgs_nyquist_frequency_is_refused(
    virtual, carrier_hz, pulse, top_hz
):
    p = protocol(carrier=f"{carrier_hz} Hz", pulse=pulse)
    seq = p.sequence(dict(next(iter(p.iter_points()))[1]), 0)
    assert drive_frequency_hz(seq.carrier_hz, seq.elements[0]) == pytest.approx(top_hz, rel=1e-12)
    with pytest.raises(
        InputError,
        match=r"drives at up to .* at or above the AWG's Nyquist frequency 1\.25e\+08 .*"
        r"\(bench virtual: awg virtual-awg, 64000000 samples of memory, 2\.5e\+08 Sa/s\)",
    ) as info:
        check_protocol_fits(virtual, p)
    assert (info.value.line, info.value.key) == (4, "sequence[0]")  # at the pulse


def test_just_below_the_nyquist_frequency_is_played(virtual):
    check_protocol_fits(
        virtual, protocol(pulse="{angle: pi/2, duration: 500 ns, frequency: 120.9 MHz}")
    )
    chirp = "{angle: pi/2, duration: 2 us, shape: {type: chirp, bandwidth: 241.9 MHz}}"
    check_protocol_fits(virtual, protocol(carrier="4 MHz", pulse=chirp))


def test_a_pulse_below_half_a_dac_step_is_refused(virtual):
    # a pi/2 pulse of 500 ns needs a Rabi frequency of 0.5 MHz: amplitude 0.5 MHz / full scale
    steps = 2**15 - 1
    limit_hz = 0.5e6 * steps / 0.5  # amplitude x steps = 1/2 at this full scale
    with pytest.raises(
        InputError, match=r"below half a DAC step \(1/32767 at 16 bits\): the AWG would"
    ) as info:
        check_protocol_fits(virtual, protocol(rabi=f"{limit_hz * 1.01} Hz"))
    assert (info.value.line, info.value.key) == (4, "sequence[0]")
    check_protocol_fits(virtual, protocol(rabi=f"{limit_hz * 0.99} Hz"))


def test_a_receiver_bandwidth_at_or_above_the_carrier_is_refused(tmp_path):
    text = load_bench("virtual").text + "receiver: {bandwidth: 4 MHz}\n"
    path = tmp_path / "wide.yaml"
    path.write_text(text)
    with pytest.raises(BenchError, match=r"bandwidth 4e\+06 Hz must lie below the carrier") as info:
        check_protocol_fits(load_bench(path), protocol())
    assert info.value.key == "receiver.bandwidth" and info.value.file == str(path)
    path.write_text(text.replace("4 MHz}", "3.9 MHz}"))
    check_protocol_fits(load_bench(path), protocol())


def test_a_carrier_plus_bandwidth_above_the_detectors_nyquist_frequency_is_refused(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(load_bench("virtual").text + "receiver: {bandwidth: 40 MHz}\n")
    # 90 MHz drive < 125 MHz Nyquist, but 90 + 40 MHz of receiver band is not
    with pytest.raises(BenchError, match="must lie below the detector's Nyquist frequency"):
        check_protocol_fits(load_bench(path), protocol(carrier="90 MHz"))
    check_protocol_fits(load_bench(path), protocol(carrier="80 MHz"))


def test_a_trace_longer_than_the_limit_is_refused_before_any_allocation(virtual):
    # default bandwidth carrier/2: the trace spans the 2 us window + 2 x 8/carrier
    carrier_hz = 2 * 8.0 * RATE / MAX_TRACE_SAMPLES  # guards alone fill the limit
    with pytest.raises(
        BenchError, match=r"a shot's trace needs 200\d{5} samples .*; at most 20000000"
    ) as info:
        check_protocol_fits(virtual, protocol(carrier=f"{carrier_hz} Hz"))
    assert info.value.key == "detector"
    check_protocol_fits(virtual, protocol(carrier=f"{carrier_hz * 1.01} Hz"))


@pytest.mark.parametrize("name", sorted(path.stem for path in LIBRARY_DIR.glob("*.yaml")))
def test_every_built_in_protocol_passes_on_the_virtual_bench(virtual, name):
    check_protocol_fits(virtual, load_protocol(name))


def test_the_command_line_exits_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "low.yaml"
    path.write_text(protocol_text(carrier="1 Hz"))
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--bench", "virtual", "--sample", "bare", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot be detected on this bench: a shot's trace needs 40000004" in err


def test_the_command_line_names_the_pulse_line_and_the_bench(tmp_path, capsys):
    path = tmp_path / "alias.yaml"
    path.write_text(protocol_text(pulse="{angle: pi/2, duration: 500 ns, frequency: 1e15 Hz}"))
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--bench", "virtual", "--sample", "bare", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"spin-echo: error: {path}:4: sequence[0]: drives at up to 1e+15 Hz")
    assert err.rstrip().endswith("(bench virtual: awg virtual-awg, 64000000 samples of memory, "
                                 "2.5e+08 Sa/s)")  # fmt: skip
    assert list(tmp_path.iterdir()) == [path]
    assert list(tmp_path.iterdir()) == [path]
