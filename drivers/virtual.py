r"""The virtual bench: the simulator behind a virtual AWG and a virtual detector.

The :class:`VirtualAwg` receives the compiled :class:`~sequences.timeline.Waveform` through the
same interface, and the same checks, as a real AWG; when triggered, it plays the DAC codes it
holds. The :class:`VirtualDetector` is the pickup coil and digitizer: it propagates the sample
through the played samples, exactly, one segment per sample
(:func:`simulator.propagate_sampled`), and records

.. math::  V(t) = \mathrm{LP}_B\big[V_\mathrm{pickup}\, M_z(t)\big] + n(t),

the lab-frame magnetisation scaled by the pickup calibration (volts for :math:`M_z = 1`),
through a first-order (RC) front end of bandwidth :math:`B`, plus white Gaussian noise of the
given rms, seeded, a new realisation per shot, keyed by the seed, the sweep point, the phase
step and the shot (:class:`FrontEnd`). The propagation is computed once per uploaded
waveform; shots differ by their noise only.

Drive calibration: with ``coil.field_per_volt`` the drive of a sample is physical,
:math:`b(t) = g\mu_B S\, k_\mathrm{coil} V(t)/h` (``DESIGN.md``: the drive adds
:math:`g\mu_B S h(t)\cos\theta\,\tau_z`), so a miscalibrated amplitude shows as in the lab;
without it the coil is ideally calibrated: full scale gives the protocol's full-scale Rabi
frequency. The sample's physics is that of ``spin-echo simulate --frame lab``, from the same
prepared :class:`simulator.simulation.Simulation` (seed rule, ensemble, relaxation with the
electron and phonon rates): every environment is propagated through the played samples,
spin diffusion and the dynamic nuclear bath included
(:meth:`~simulator.simulation.Simulation.run_waveform`).

:class:`SampleResponse` (the propagation, cached) and :class:`FrontEnd` (bandwidth, noise) are
shared with the emulated lab of ``spin-echo serve-virtual-lab``.

Both instruments identify as ``spin-echo,<driver>,virtual,<spin-echo version>`` and read back
the bench-file settings they hold (:func:`virtual_identity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from spin_echo.drivers.awg_model import AwgModel, check_waveform
from spin_echo.drivers.config import BenchSpec, InstrumentConfig, Option
from spin_echo.drivers.iir import sosfilt, sosfilt_zi
from spin_echo.drivers.interface import (
    Bench,
    BenchError,
    ConfiguredAwg,
    Detector,
    Identity,
    InstrumentError,
    SettingReadBack,
    Trace,
)
from spin_echo.drivers.settings import Range, Setting, declare
from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = [
    "FrontEnd",
    "SampleResponse",
    "VirtualAwg",
    "VirtualDetector",
    "open_virtual",
    "virtual_identity",
]

#: Bohr magneton over Planck's constant, Hz per tesla: ``scipy.constants``' CODATA value
#: (``physical_constants["Bohr magneton in Hz/T"]``, checked by the tests), written out so
#: that the bench does not import ``scipy.constants`` (0.07 s).
BOHR_HZ_PER_T = 13996244917.1


def virtual_identity(driver: str) -> Identity:
    """Return what a virtual instrument says it is: spin-echo, its driver, its version.

    Parameters
    ----------
    driver
        The driver name (``"virtual-awg"``).
    """
    return Identity("spin-echo", driver, "virtual", metadata.version("spin-echo"))


def _read_back(
    settings: dict[str, Setting], values: dict[str, float]
) -> tuple[SettingReadBack, ...]:
    """Return the held values as read back (a virtual instrument holds what it was given)."""
    return tuple(
        SettingReadBack(name, settings[name].unit, value, value) for name, value in values.items()
    )


class SampleResponse:
    r"""A sample's lab-frame magnetisation under a sampled drive, cached per drive.

    Parameters
    ----------
    sample
        The :class:`simulator.Sample`.
    seed, packets
        Ensemble draw and stochastic environments (the sample's own when None).
    """

    def __init__(self, sample: Any, *, seed: int | None = None, packets: int | None = None):
        from spin_echo.simulator.simulation import Simulation

        self.sample = sample
        self.simulation = Simulation(sample, seed=seed, packets=packets, frame="rotating")
        self._cache: dict[tuple, np.ndarray] = {}

    def work(self, samples: np.ndarray) -> float:
        """Return the packet-steps of one waveform's magnetisation, every map built.

        (:func:`simulator.lab.sampled.sampled_work`, for the run's kernel backend.)
        """
        from spin_echo.simulator.bloch import Relaxation
        from spin_echo.simulator.lab.sampled import sampled_work

        relax = Relaxation.from_times(*self.simulation.relaxation_times_s)
        return sampled_work(samples, self.simulation.packets, relax)

    def rabi_hz_per_tesla(self) -> float:
        r"""Return :math:`g\mu_B S/h`, the drive in Hz per tesla of coil field.

        Raises
        ------
        BenchError
            If the sample does not give its spin ``S`` and ``g``.
        """
        if self.sample.spin is None or self.sample.g is None:
            raise BenchError(
                "coil.field_per_volt needs the sample's spin and g to convert a field into a "
                "drive; the sample gives none",
                key="coil.field_per_volt",
                value=self.sample.name,
            )
        return float(self.sample.g) * BOHR_HZ_PER_T * float(self.sample.spin)

    def magnetisation(
        self,
        samples: np.ndarray,
        sample_rate_hz: float,
        rabi_hz_per_unit: float,
        count: int,
        first: int = 0,
    ) -> np.ndarray:
        r"""Return :math:`M_z(k/f_s)` for ``k < count`` (zero drive after the samples end).

        Parameters
        ----------
        samples
            Drive samples; sample value ``x`` drives at ``x * rabi_hz_per_unit`` Hz.
        sample_rate_hz
            Sample rate, Hz.
        rabi_hz_per_unit
            Nominal Rabi frequency of a sample value of 1, Hz.
        count
            Number of sample times wanted (the drive is padded with zeros).
        first
            First sample time wanted: the entries before it may be left zero (a sample without
            a stochastic environment is then propagated through the pulses before it as
            whole-pulse maps, :meth:`simulator.Simulation.run_waveform`).
        """
        drive = np.zeros(max(count, len(samples)))
        drive[: len(samples)] = samples
        key = (drive.tobytes(), sample_rate_hz, rabi_hz_per_unit, first)
        if key not in self._cache:
            waveform = Waveform(
                sample_rate_hz,
                drive,
                16,
                np.zeros((0, len(drive)), dtype=bool),
                0.0,
                rabi_hz_per_unit,
                (),
            )
            self._cache = {key: self.simulation.run_waveform(waveform, first)}
        return self._cache[key][:count]


@dataclass
class FrontEnd:
    """The detector front end: pickup calibration, RC bandwidth, seeded additive noise.

    Attributes
    ----------
    pickup_v
        Volts for a normalised magnetisation of 1.
    bandwidth_hz
        -3 dB bandwidth of the first-order low-pass.
    noise_v
        Rms of the additive white noise per recorded sample, volts.
    seed
        Noise seed. Unkeyed, shot ``n`` uses the stream ``(seed, n)``; keyed (:meth:`key_noise`,
        the virtual bench), shot ``n`` after the key uses
        ``SeedSequence(seed, spawn_key=(*key, n))``, so that a shot's noise depends only on the
        seed, the sweep point, the phase step and the shot, not on which points ran before in
        this process (a resumed record is bit-identical). The emulated lab, which does not know
        the sweep point, gives each shot its own key (:meth:`record` ``key=``: the played
        burst's digest and the triggers since the AWG was armed).
    """

    pickup_v: float
    bandwidth_hz: float
    noise_v: float
    seed: int
    shots: int = 0
    key: tuple[int, ...] | None = None

    def key_noise(self, key: tuple[int, ...]) -> None:
        """Draw the next shots' noise from the streams of ``key`` (sweep index, phase step)."""
        self.key = tuple(int(k) for k in key)
        self.shots = 0

    def record(
        self, mz: np.ndarray, sample_rate_hz: float, *, key: tuple[int, ...] | None = None
    ) -> np.ndarray:
        """Return the recorded volts for ``mz`` sampled at ``sample_rate_hz`` (one shot).

        With ``key`` (non-negative integers), the shot's noise is drawn from
        ``SeedSequence(seed, spawn_key=key)`` and the shot counter is left alone.
        """
        a = np.exp(-2.0 * np.pi * self.bandwidth_hz / sample_rate_hz)
        clean = self.pickup_v * np.asarray(mz, dtype=float)
        section = np.array([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]])  # y = (1 - a) x + a y[-1]
        filtered = sosfilt(section, clean, sosfilt_zi(section) * clean[0])
        if key is not None:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
        elif self.key is None:
            rng = np.random.default_rng([self.seed, self.shots])
        else:
            stream = np.random.SeedSequence(self.seed, spawn_key=(*self.key, self.shots))
            rng = np.random.default_rng(stream)
        if key is None:
            self.shots += 1
        return filtered + self.noise_v * rng.standard_normal(len(filtered))


class VirtualAwg(ConfiguredAwg):
    """An AWG with the sample behind it: holds the uploaded waveform and plays it when triggered."""

    DRIVER = "virtual-awg"
    ROLE = "awg"
    VIRTUAL = True
    MODEL = AwgModel(1e3, 10e9, 64_000_000, 1, 1, 16, 2)
    SETTINGS = declare(
        Setting("sample_rate_hz", "", "Sa/s", Range(1e3, 10e9)),
        Setting("amplitude_vpp", "", "Vpp", Range(1e-3, 20.0)),
    )
    OPTIONS: ClassVar[dict[str, Option]] = {
        "sample_rate": Option("frequency", "sample rate", 250e6, "sample_rate_hz"),
        "amplitude": Option("voltage", "Vpp of a full-scale waveform", 1.0, "amplitude_vpp"),
    }

    def __init__(self, config: InstrumentConfig) -> None:
        self.config = config
        self.label = config.label
        self.waveform: Waveform | None = None
        self.armed = False
        self.played: Waveform | None = None

    def identity(self) -> Identity:
        """Return :func:`virtual_identity`."""
        return virtual_identity(self.DRIVER)

    def read_back(self) -> tuple[SettingReadBack, ...]:
        """Return the sample rate and full-scale amplitude it plays with."""
        held = {"sample_rate_hz": self.sample_rate_hz, "amplitude_vpp": self.amplitude_vpp}
        return _read_back(self.SETTINGS, held)

    def constraints(self) -> AwgConstraints:
        """Return the virtual model's capabilities with the bench's sample-rate limit."""
        return self.MODEL.constraints(self.config.limits.get("sample_rate_hz"))

    def upload(self, waveform: Waveform) -> None:
        """Check ``waveform`` as a real AWG driver would, then hold it."""
        why = check_waveform(waveform, self.constraints(), self.sample_rate_hz)
        if why is None:
            why = self.SETTINGS["amplitude_vpp"].violation(self.amplitude_vpp, self.config.limits)
        if why is not None:
            raise InstrumentError(self.label, "upload", f"refused: {why}")
        self.waveform = waveform
        self.armed = False

    def arm(self) -> None:
        """Enable the output."""
        if self.waveform is None:
            raise InstrumentError(self.label, "arm", "no waveform uploaded")
        self.armed = True

    def trigger(self) -> None:
        """Play the waveform once."""
        if not self.armed:
            raise InstrumentError(self.label, "trigger", "not armed")
        self.played = self.waveform


class VirtualDetector(Detector):
    """Pickup coil and digitizer at the AWG's sample rate (see the module docstring)."""

    DRIVER = "virtual-detector"
    ROLE = "detector"
    VIRTUAL = True
    SETTINGS = declare(
        Setting("bandwidth_hz", "", "Hz", Range(1e3, 1e11)),
        Setting("noise_v", "", "V", Range(0.0, 10.0)),
        Setting("seed", "", "", Range(0, 2**63 - 1)),
    )
    OPTIONS: ClassVar[dict[str, Option]] = {
        "bandwidth": Option("frequency", "front-end (RC) bandwidth", 500e6, "bandwidth_hz"),
        "noise": Option("voltage", "rms noise per recorded sample", 0.0, "noise_v"),
        "seed": Option("integer", "noise seed", 1, "seed"),
    }

    def __init__(
        self,
        config: InstrumentConfig,
        awg: VirtualAwg,
        response: SampleResponse,
        front_end: FrontEnd,
        rabi_hz_per_volt: float | None,
    ) -> None:
        self.config = config
        self.label = config.label
        self.awg = awg
        self.response = response
        self.front_end = front_end
        self.rabi_hz_per_volt = rabi_hz_per_volt
        self._window: tuple[float, float] | None = None

    @property
    def seed(self) -> int:
        """Noise seed of this detector (stored in records)."""
        return self.front_end.seed

    def identity(self) -> Identity:
        """Return :func:`virtual_identity`."""
        return virtual_identity(self.DRIVER)

    def read_back(self) -> tuple[SettingReadBack, ...]:
        """Return the front end's bandwidth, noise and seed (the seed ``--seed`` chose)."""
        end = self.front_end
        held = {"bandwidth_hz": end.bandwidth_hz, "noise_v": end.noise_v, "seed": end.seed}
        return _read_back(self.SETTINGS, held)

    def key_noise(self, index: tuple[int, ...], step: int) -> None:
        """Key the noise of the next shots on sweep point ``index`` and phase step ``step``.

        Called by the acquisition loop before each phase step's shots
        (:func:`spin_echo.echo.runs.lab_run.run_protocol`): see :class:`FrontEnd`.
        """
        self.front_end.key_noise((*index, step))

    def arm(self, start_s: float, duration_s: float) -> None:
        """Record ``[start_s, start_s + duration_s]`` at the next trigger."""
        if duration_s <= 0:
            raise InstrumentError(self.label, "arm", f"window duration {duration_s:g} s <= 0")
        self._window = (start_s, duration_s)
        self.awg.played = None

    def acquire(self) -> Trace:
        """Return the recorded trace of the last trigger, volts."""
        played, window = self.awg.played, self._window
        if window is None or played is None:
            raise InstrumentError(self.label, "acquire", "no trigger since the detector was armed")
        self._window = None
        rate = played.sample_rate_hz
        first = int(np.floor(window[0] * rate))
        last = int(np.ceil((window[0] + window[1]) * rate))
        per_unit = played.full_scale_rabi_hz
        if self.rabi_hz_per_volt is not None:
            per_unit = self.rabi_hz_per_volt * self.awg.amplitude_vpp / 2.0
        samples = played.codes / played.full_scale_code
        before = max(0, -first)
        mz = self.response.magnetisation(samples, rate, per_unit, last + 1, max(first, 0))
        mz = np.concatenate([np.full(before, mz[0]), mz[max(first, 0) :]])
        volts = self.front_end.record(mz, rate)
        return Trace(np.arange(first, last + 1) / rate, volts, "V")


def open_virtual(spec: BenchSpec, *, sample: Any, seed: int | None = None) -> Bench:
    """Build the virtual bench of ``spec`` around ``sample``.

    Raises
    ------
    BenchError
        Without a sample, or with ``coil.field_per_volt`` for a sample lacking spin and g.
    """
    if sample is None:
        raise BenchError(
            "the virtual bench needs a sample to simulate (give --sample)", value=spec.name
        )
    awg = VirtualAwg(spec.awg)
    response = SampleResponse(sample)
    options = spec.detector.options
    front_end = FrontEnd(
        pickup_v=1.0 if spec.coil.pickup_v is None else spec.coil.pickup_v,
        bandwidth_hz=float(options["bandwidth"]),
        noise_v=float(options["noise"]),
        seed=int(options["seed"]) if seed is None else seed,
    )
    per_volt = None
    if spec.coil.field_per_volt_t is not None:
        per_volt = response.rabi_hz_per_tesla() * spec.coil.field_per_volt_t
    detector = VirtualDetector(spec.detector, awg, response, front_end, per_volt)
    return Bench(spec, awg, detector)
