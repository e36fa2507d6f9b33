"""A virtual lab on 127.0.0.1: emulated AWG and scope servers with the simulator between them.

:class:`VirtualLab` starts an emulated AWG (a Keysight Trueform or a Tektronix AWG) and an
emulated scope (InfiniiVision or Tektronix MSO) on ephemeral ports of 127.0.0.1, wired through
a simulated sample: when the AWG is triggered, the scope records the pickup voltage of the
sample's lab-frame magnetisation under the played burst (:class:`~drivers.virtual.SampleResponse`
through a :class:`~drivers.virtual.FrontEnd`), as if a coil and a pickup were connected.

Only bytes travel over the sockets, so the drive is calibrated in the lab, not taken from the
protocol: a full-scale burst at ``amplitude_vpp`` nutates a resonant, fully coupled packet at
``full_scale_rabi_hz``. :meth:`VirtualLab.bench_yaml` writes the bench file that points the real
drivers at the servers with that amplitude, so ``spin-echo run PROTOCOL --bench that.yaml``
rehearses the VISA path end to end against the simulated sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spin_echo.drivers.emulated.keysight import EmulatedInfiniiVision, EmulatedTrueform
from spin_echo.drivers.emulated.lakeshore import RANGES_T, EmulatedTeslameter
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.tektronix import EmulatedTekAwg, EmulatedTekScope
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab
from spin_echo.drivers.virtual import FrontEnd, SampleResponse
from spin_echo.sequences.errors import InputError

__all__ = [
    "AWG_MODELS",
    "MAGNETOMETER_MODELS",
    "SCOPE_MODELS",
    "VirtualLab",
    "quasi_static_response",
    "sample_response",
]

#: Emulated AWGs by driver name, with the amplitude the bench file uses by default (Vpp).
AWG_MODELS: dict[str, tuple[Any, float]] = {
    "keysight-33600a": (lambda lab: EmulatedTrueform(lab, "33600A"), 1.0),
    "keysight-33500b": (lambda lab: EmulatedTrueform(lab, "33500B"), 1.0),
    "tektronix-awg5200": (lambda lab: EmulatedTekAwg(lab, "AWG5200"), 0.5),
    "tektronix-awg70000": (lambda lab: EmulatedTekAwg(lab, "AWG70000"), 0.5),
}
#: Emulated scopes by driver name.
SCOPE_MODELS: dict[str, Any] = {
    "keysight-infiniivision": EmulatedInfiniiVision,
    "tektronix-mso": EmulatedTekScope,
}
#: Emulated magnetometers (detectors in place of a scope) by driver name: the model.
MAGNETOMETER_MODELS: dict[str, str] = {"lakeshore-f71": "F71", "lakeshore-f41": "F41"}
#: How long after a burst the emulated magnetometer's sample is followed, seconds: the
#: magnetisation it holds is the Hann-weighted mean of M_z over this time, in which the
#: precession at the carrier averages out (to ~1e-6 of its amplitude at 4 MHz).
HOLD_S = 20e-6


def sample_response(response: SampleResponse, front_end: FrontEnd, rabi_hz_per_volt: float):
    """Return the scope-input voltage of a played burst at given times (the emulated cables).

    The burst's voltage drives the sample at ``rabi_hz_per_volt`` Hz per volt; the
    magnetisation, on the AWG's sample grid (equilibrium before the burst, free evolution after
    it), is interpolated at the scope's times and recorded through ``front_end``, whose noise
    for this shot is keyed by the burst's digest and its trigger count since the AWG was armed
    (:class:`~drivers.emulated.wiring.AwgOutput`): a function of what the lab can know, not of
    what it played before, so a resumed run records the same bits as an uninterrupted one.
    """

    def respond(output: AwgOutput, times_s: np.ndarray) -> np.ndarray:
        rate = output.sample_rate_hz
        count = max(1, int(np.ceil(float(np.max(times_s)) * rate)) + 2)
        mz = response.magnetisation(output.volts, rate, rabi_hz_per_volt, count)
        grid = np.arange(count) / rate
        at = np.interp(times_s, grid, mz)
        spacing = float(times_s[1] - times_s[0]) if len(times_s) > 1 else 1.0 / rate
        return front_end.record(at, 1.0 / spacing, key=(*output.digest, output.shot))

    return respond


def quasi_static_response(response: SampleResponse, rabi_hz_per_volt: float, hold_s: float):
    """Return the magnetisation a played burst leaves behind (what a slow magnetometer reads).

    The sample is followed for ``hold_s`` after the burst on the AWG's sample grid; the
    precession at the carrier averages out of the Hann-weighted mean of :math:`M_z` over that
    time, which is the quasi-static :math:`m_z` after the sequence.
    """

    def magnetisation(output: AwgOutput) -> float:
        rate = output.sample_rate_hz
        hold = max(16, int(np.ceil(hold_s * rate)))
        count = len(output.samples) + hold
        mz = response.magnetisation(output.volts, rate, rabi_hz_per_volt, count)[-hold:]
        weight = np.hanning(hold + 2)[1:-1]
        return float(np.dot(weight, mz) / weight.sum())

    return magnetisation


class VirtualLab:
    """Emulated AWG and scope servers backed by the simulator (a context manager).

    Parameters
    ----------
    sample
        The :class:`simulator.Sample` between the instruments.
    awg, scope
        Driver names of the emulated models (keys of :data:`AWG_MODELS`, :data:`SCOPE_MODELS`).
    full_scale_rabi_hz
        Rabi frequency of a full-scale burst at the bench amplitude.
    amplitude_vpp
        Bench amplitude of a full-scale waveform (default: the model's, see :data:`AWG_MODELS`).
    front_end
        Pickup, bandwidth, noise and seed of the scope input.
    tesla_per_unit_t
        With a magnetometer for ``scope`` (a key of :data:`MAGNETOMETER_MODELS`): the field at
        its probe per unit normalised magnetisation, tesla.
    """

    def __init__(
        self,
        sample: Any,
        *,
        awg: str = "keysight-33600a",
        scope: str = "keysight-infiniivision",
        full_scale_rabi_hz: float = 1e6,
        amplitude_vpp: float | None = None,
        front_end: FrontEnd | None = None,
        tesla_per_unit_t: float = 1e-3,
    ) -> None:
        make_awg, default_amplitude = AWG_MODELS[awg]
        self.awg_driver, self.scope_driver = awg, scope
        self.amplitude_vpp = default_amplitude if amplitude_vpp is None else amplitude_vpp
        for key, value in (
            ("full_scale_rabi", full_scale_rabi_hz),
            ("amplitude", self.amplitude_vpp),
        ):
            if not (math.isfinite(value) and value > 0):
                raise InputError("must be a positive finite number", key=key, value=value)
        self.front_end = front_end or FrontEnd(
            pickup_v=1.0, bandwidth_hz=200e6, noise_v=0.0, seed=1
        )
        rabi_per_volt = full_scale_rabi_hz / (self.amplitude_vpp / 2.0)
        response = SampleResponse(sample)
        self.lab = EmulatedLab(sample_response(response, self.front_end, rabi_per_volt))
        self.awg = make_awg(self.lab)
        self.tesla_per_unit_t = tesla_per_unit_t
        if scope in MAGNETOMETER_MODELS:
            self.scope = EmulatedTeslameter(
                self.lab,
                MAGNETOMETER_MODELS[scope],
                magnetisation=quasi_static_response(response, rabi_per_volt, HOLD_S),
                equilibrium=float(response.magnetisation(np.zeros(1), 1e9, rabi_per_volt, 1)[0]),
                tesla_per_unit_t=tesla_per_unit_t,
            )
        else:
            self.scope = SCOPE_MODELS[scope](self.lab)
        self.servers = [ScpiServer(self.awg), ScpiServer(self.scope)]

    @property
    def resources(self) -> tuple[str, str]:
        """VISA resource strings of the AWG and the scope."""
        return self.servers[0].resource, self.servers[1].resource

    def bench_yaml(
        self,
        *,
        sample_rate_hz: float = 250e6,
        points: int = 4000,
        range_v: float = 4.0,
        timeout_s: float = 60.0,
    ) -> str:
        """Return a bench file pointing the real drivers at this lab's servers.

        The timeout is long by default: behind the scope, a large sample may take seconds of
        simulation per acquisition.
        """
        awg, scope = self.resources
        pickup = self.front_end.pickup_v
        if self.scope_driver in MAGNETOMETER_MODELS:
            field_range = next((r for r in RANGES_T if r >= 2 * self.tesla_per_unit_t), 35.0)
            detector = (
                f'detector: {{driver: {self.scope_driver}, resource: "{scope}", '
                f"range: {field_range!r} T, averaging: 1, readings: 2, timeout: {timeout_s!r} s}}\n"
                f"magnetometer: {{tesla_per_unit: {self.tesla_per_unit_t!r} T, per: normalised}}\n"
            )
        else:
            detector = (
                f'detector: {{driver: {self.scope_driver}, resource: "{scope}", points: {points}, '
                f"range: {range_v!r} V, timeout: {timeout_s!r} s}}\n"
                f"coil: {{pickup: {pickup!r} V}}\n"
            )
        return (
            "name: virtual-lab\n"
            "description: Emulated instruments on 127.0.0.1 around a simulated sample "
            "(spin-echo serve-virtual-lab).\n"
            f'awg: {{driver: {self.awg_driver}, resource: "{awg}", sample_rate: '
            f"{sample_rate_hz!r} Hz, amplitude: {self.amplitude_vpp!r} V, "
            f"timeout: {timeout_s!r} s}}\n" + detector
        )

    def start(self) -> VirtualLab:
        """Start both servers; return self."""
        for server in self.servers:
            server.start()
        return self

    def stop(self) -> None:
        """Stop both servers."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> VirtualLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
