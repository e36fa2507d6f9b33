"""Wiring of the emulated instruments: what an AWG plays, the cables to the scopes.

An :class:`EmulatedLab` connects the emulated AWG's output and trigger to the emulated scopes:
when the AWG is triggered it passes an :class:`AwgOutput` to every armed scope
(:class:`EmulatedScope`), which records ``response(output, times)`` volts - by default a
loopback cable (:func:`loopback`, the AWG voltage itself, zero-order hold); behind
``spin-echo serve-virtual-lab``, a simulated sample (:mod:`spin_echo.drivers.emulated.lab`).

Each played burst carries what the lab can know of it, not of the run's history: its
:attr:`AwgOutput.digest` (of the samples and their scaling) and :attr:`AwgOutput.shot`, the
number of triggers since the AWG was last armed (its output switched on or its sequencer
started: :meth:`EmulatedLab.arm`). The lab's noise is keyed by them, so that a shot's noise
does not depend on what was played before the AWG was armed (a resumed record is
bit-identical).

The instrument models are in :mod:`spin_echo.drivers.emulated.keysight` and
:mod:`spin_echo.drivers.emulated.tektronix`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from spin_echo.drivers.emulated.server import EmulatedInstrument

__all__ = ["AwgOutput", "EmulatedLab", "EmulatedScope", "Response", "loopback"]


@dataclass(frozen=True, eq=False)
class AwgOutput:
    """One played burst: the samples (fraction of full scale) and their scaling to volts.

    ``shot`` counts the triggers since the AWG was armed (0 for the first burst after it).
    """

    sample_rate_hz: float
    samples: np.ndarray
    amplitude_vpp: float
    offset_v: float
    shot: int = 0

    @property
    def digest(self) -> tuple[int, ...]:
        """Digest of the burst (samples, sample rate, amplitude, offset): four 32-bit words."""
        scaling = np.array([self.sample_rate_hz, self.amplitude_vpp, self.offset_v], dtype="<f8")
        hashed = hashlib.blake2b(scaling.tobytes(), digest_size=16)
        hashed.update(np.ascontiguousarray(self.samples, dtype="<f8").tobytes())
        return tuple(int(word) for word in np.frombuffer(hashed.digest(), dtype="<u4"))

    @property
    def volts(self) -> np.ndarray:
        """Output voltage of each sample."""
        return self.samples * (self.amplitude_vpp / 2.0) + self.offset_v


Response = Callable[[AwgOutput, np.ndarray], np.ndarray]


def loopback(output: AwgOutput, times_s: np.ndarray) -> np.ndarray:
    """Model a cable from the AWG to the scope: the AWG voltage at ``times_s`` (zero-order hold).

    A time within 1e-6 of a sample period before a sample edge counts as the later sample, so
    that rounding in ``x0 + i * dx`` does not pick the neighbour.
    """
    index = np.floor(times_s * output.sample_rate_hz + 1e-6).astype(np.int64)
    inside = (index >= 0) & (index < len(output.samples))
    values = np.full(len(times_s), output.offset_v)
    values[inside] = output.volts[index[inside]]
    return values


class EmulatedLab:
    """Cables between emulated instruments: AWG output and trigger to the scopes.

    Parameters
    ----------
    response
        Scope input voltage for a played burst at the given times after the trigger.
    """

    def __init__(self, response: Response = loopback) -> None:
        self.response = response
        self.scopes: list[Any] = []
        self.played: list[AwgOutput] = []
        self.triggers = 0

    def arm(self) -> None:
        """Count the triggers from 0 again: the AWG was armed (output on, sequencer started)."""
        self.triggers = 0

    def play(self, output: AwgOutput) -> None:
        """Deliver a burst (and its trigger) to every connected scope, numbered since the arm."""
        output = replace(output, shot=self.triggers)
        self.triggers += 1
        self.played.append(output)
        for scope in self.scopes:
            scope.trigger_in(output, self.response)


class EmulatedScope(EmulatedInstrument):
    """Trigger handling shared by the emulated scopes.

    A trigger computes the record in a background thread - behind a simulated sample this may
    take seconds - and the scope keeps reporting an acquisition in progress until the record
    is stored, as a real scope does until its acquisition completes. A failure of the
    computation goes to the error queue (-200).
    """

    def __init__(self, lab: EmulatedLab) -> None:
        super().__init__()
        lab.scopes.append(self)
        self.armed = False
        self.triggered = False
        self.record: np.ndarray | None = None
        self.record_x0 = 0.0

    def trigger_in(self, output: AwgOutput, response: Response) -> None:
        """Start recording the armed acquisition from a burst (the trigger input fired)."""
        with self.lock:
            if not self.armed or self.triggered or not self._trigger_matches():
                return
            self.triggered = True
            times = self._record_times()
        worker = threading.Thread(target=self._capture, args=(output, response, times), daemon=True)
        worker.start()

    def _capture(self, output: AwgOutput, response: Response, times: np.ndarray) -> None:
        try:
            volts = response(output, times)
        except Exception as err:  # reported to the client through the error queue
            with self.lock:
                self.push_error(-200, f"Execution error; the input could not be computed: {err}")
                self.armed = self.triggered = False
            return
        with self.lock:
            self.record = self._codes(volts)
            self.armed = self.triggered = False

    def _trigger_matches(self) -> bool:
        raise NotImplementedError

    def _record_times(self) -> np.ndarray:
        raise NotImplementedError

    def _codes(self, volts: np.ndarray) -> np.ndarray:
        raise NotImplementedError
