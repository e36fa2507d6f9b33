"""The virtual bench: AWG checks, the sample behind the detector, front end, calibration."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import yaml
from scipy import constants

from spin_echo.drivers import BenchError, InstrumentError, load_bench, open_bench
from spin_echo.drivers.virtual import BOHR_HZ_PER_T, FrontEnd
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.lab_run import acquire_step, run_protocol
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import (
    combine_phase_cycle,
    compile_timeline,
    compile_waveform,
    load_protocol,
)
from spin_echo.simulator import list_samples, load_sample, propagate
from tests.drivers.conftest import SHORT_ECHO, small_sample

RATE = 4e9


def bench_file(tmp_path, *, rate="4 GHz", noise="0 V", coil="{pickup: 1 V}", extra=""):
    path = tmp_path / "virtual-test.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: virtual-test
            awg: {{driver: virtual-awg, sample_rate: {rate}, amplitude: 1 V}}
            detector: {{driver: virtual-detector, bandwidth: 20 GHz, noise: {noise}, seed: 3}}
            coil: {coil}
            """
        )
        + extra
    )
    return load_bench(path)


@pytest.fixture
def protocol(tmp_path):
    path = tmp_path / "short-echo.yaml"
    path.write_text(SHORT_ECHO)
    return load_protocol(path)


def measure(bench, protocol, values, bandwidth_hz=2e6):
    signals = []
    for step in range(len(protocol.phase_cycle)):
        waveform = compile_waveform(
            protocol.sequence(values, step), bench.awg.constraints(), bench.awg.sample_rate_hz
        )
        signals.append(
            acquire_step(
                bench,
                waveform,
                shots=1,
                bandwidth_hz=bandwidth_hz,
                repetition_time_s=0.0,
                realtime=False,
            )
        )
    return combine_phase_cycle(signals, protocol.phase_cycle)


def test_echo_matches_the_lab_frame_propagator(tmp_path, protocol):
    """Independent reference: B's lab-frame Magnus propagator on the continuous timeline.

    The compiler samples the drive at the middle of each held sample, so the zero-order hold
    of the AWG adds no delay: the two agree up to the hold's (sin x)/x and the receiver.
    """
    sample = small_sample()
    ensemble = sample.ensemble()
    with open_bench(bench_file(tmp_path), sample=sample) as bench:
        for _, values in protocol.iter_points():
            got = measure(bench, protocol, values)
            steps = [
                propagate(
                    compile_timeline(protocol.sequence(values, k)), ensemble, frame="lab"
                ).signal
                for k in range(len(protocol.phase_cycle))
            ]
            reference = combine_phase_cycle(steps, protocol.phase_cycle)
            peak = np.abs(reference).max()
            assert peak > 0.5
            np.testing.assert_allclose(got, reference, rtol=0, atol=2e-3 * peak)


def test_noise_is_seeded_per_shot_with_the_declared_rms():
    front = FrontEnd(pickup_v=1.0, bandwidth_hz=1e12, noise_v=0.01, seed=5)
    flat = np.zeros(20000)
    a, b = front.record(flat, 1e9), front.record(flat, 1e9)
    again = FrontEnd(pickup_v=1.0, bandwidth_hz=1e12, noise_v=0.01, seed=5).record(flat, 1e9)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b)
    assert np.std(a) == pytest.approx(0.01, rel=0.03)  # 20000 samples: 0.5 % standard error


def test_front_end_is_a_first_order_low_pass():
    """A step through the RC front end rises as 1 - exp(-2 pi B t) (discrete, exact)."""
    front = FrontEnd(pickup_v=2.0, bandwidth_hz=10e6, noise_v=0.0, seed=1)
    step = np.concatenate([np.zeros(10), np.ones(200)])
    out = front.record(step, 1e9)
    k = np.arange(200)
    expected = 2.0 * (1.0 - np.exp(-2 * np.pi * 10e6 * (k + 1) / 1e9))
    np.testing.assert_allclose(out[10:], expected, rtol=1e-12)


def test_physical_coil_calibration(tmp_path, protocol):
    """field_per_volt x g muB S / h x Vpp/2 = the protocol's 2 MHz gives the ideal result."""
    sample = small_sample(100)
    per_tesla = sample.g * constants.value("Bohr magneton") / constants.h * sample.spin
    assert per_tesla == pytest.approx(sample.g * BOHR_HZ_PER_T * sample.spin, rel=1e-10)
    exact = 2e6 / per_tesla / 0.5
    values = next(protocol.iter_points())[1]
    with open_bench(bench_file(tmp_path, rate="1 GHz"), sample=sample) as bench:
        ideal = measure(bench, protocol, values)
    calibrated = bench_file(
        tmp_path, rate="1 GHz", coil=f"{{pickup: 1 V, field_per_volt: {exact!r} T/V}}"
    )
    with open_bench(calibrated, sample=sample) as bench:
        physical = measure(bench, protocol, values)
    halved = bench_file(
        tmp_path, rate="1 GHz", coil=f"{{pickup: 1 V, field_per_volt: {exact / 2!r} T/V}}"
    )
    with open_bench(halved, sample=sample) as bench:
        weak = measure(bench, protocol, values)
    np.testing.assert_allclose(physical, ideal, rtol=0, atol=1e-9)
    assert np.abs(weak).max() < 0.8 * np.abs(ideal).max()


def test_awg_checks_like_a_driver(tmp_path, protocol):
    with open_bench(bench_file(tmp_path), sample=small_sample(10)) as bench:
        waveform = compile_waveform(protocol.sequence(None, 0), bench.awg.constraints(), 2e9)
        with pytest.raises(InstrumentError, match="differs from the bench's"):
            bench.awg.upload(waveform)
        with pytest.raises(InstrumentError, match="no waveform uploaded"):
            bench.awg.arm()
        with pytest.raises(InstrumentError, match="no trigger"):
            bench.detector.acquire()


def test_virtual_bench_needs_a_sample(tmp_path):
    with pytest.raises(BenchError, match="needs a sample"):
        open_bench(bench_file(tmp_path))


def test_field_calibration_needs_spin_and_g(tmp_path):
    sample = small_sample(10).with_overrides({})
    object.__setattr__(sample, "spin", None)
    spec = bench_file(tmp_path, coil="{pickup: 1 V, field_per_volt: 1e-9 T/V}")
    with pytest.raises(BenchError, match="needs the sample's spin and g"):
        open_bench(spec, sample=sample)


def test_builtin_virtual_bench_loads():
    spec = load_bench("virtual")
    assert spec.is_virtual
    assert spec.awg.options["sample_rate"] == 250e6
    assert spec.coil.field_per_volt_t is None


@pytest.mark.parametrize("name", [n for n, _ in list_samples()])
def test_the_bench_measures_what_simulate_computes_on_every_builtin_sample(name, tmp_path):
    """``run --bench virtual`` against ``simulate --frame lab`` on the same packets.

    The built-in bench (150 mV noise, 16 shots): the difference must be the bench's noise
    (its recorded standard error), plus, for a stochastic environment (ferritin's spin
    diffusion: another noise realisation on the bench), the simulation's Monte-Carlo error
    twice. Ferritin is simulated in the rotating frame: the lab frame does not carry spin
    diffusion (an input error); the rotating-wave error is far below the bench noise there.
    """
    sample = load_sample(name).with_overrides({"packets": 400})
    doc = yaml.safe_load(load_protocol("hahn-echo").to_yaml())
    doc["sweep"]["tau"]["values"] = doc["sweep"]["tau"]["values"][:2]
    (tmp_path / "hahn.yaml").write_text(yaml.safe_dump(doc))
    protocol = load_protocol(tmp_path / "hahn.yaml")
    with open_bench(load_bench("virtual"), sample=sample) as bench:
        run_protocol(protocol, bench, tmp_path / "run.nc", sample=sample)
    frame = "rotating" if sample.diffusion is not None else "lab"
    simulate_protocol(protocol, sample, tmp_path / "sim.nc", frame=frame)
    run, sim = read_record(tmp_path / "run.nc"), read_record(tmp_path / "sim.nc")
    stochastic = 2.0 if sample.diffusion is not None else 0.0
    for part in ("re", "im"):
        error = np.hypot(run[f"signal_sem_{part}"], np.sqrt(stochastic) * sim[f"signal_sem_{part}"])
        z = ((run[f"signal_{part}"] - sim[f"signal_{part}"]) / error).values
        assert np.sqrt(np.mean(z**2)) < 1.5, (name, part)
        assert np.max(np.abs(z)) < 5.0, (name, part)
