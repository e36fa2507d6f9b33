r"""An emulated Lake Shore F41/F71 teslameter for the SCPI server: a field that a burst changes.

The probe sits in the stray field of the sample,
:math:`B(t) = B_0 + k_B\,m(t)` on the probe's axis (``background_t`` :math:`B_0`,
``tesla_per_unit_t`` :math:`k_B`): before any burst :math:`m` is the equilibrium
magnetisation, and from the instant a burst is triggered it is the magnetisation that burst
leaves (``magnetisation(output)``, given by the lab: behind ``serve-virtual-lab`` the
simulated sample's quasi-static :math:`m_z` after the played waveform; a constant otherwise).
The instrument averages :math:`B` over consecutive windows of ``averaging`` x 10 ms on its own
clock (windows that straddle a burst get the time-weighted mix) and appends one reading per
window to its buffer, as the real one does in DC mode.

Commands (those the driver uses, :mod:`drivers.visa.lakeshore_teslameter`): ``SENSe:MODE``,
``UNIT:FIELD``, ``SENSe:RANGe:AUTO``, ``SENSe:RANGe`` (the lowest of :data:`RANGES_T` that
holds the value; beyond the model's declared limits -222), ``SENSe:AVERage:COUNt`` (within
the declared limits), each with its query; ``FETCh:BUFFer:DC?`` (the readings since the last
query, ``<ISO time>,<magnitude>,<x>,<y>,<z>,<input state>;``), ``FETCh:DC? [axis]``,
``SYSTem:ERRor:ALL?`` and ``SYSTem:ERRor:CLEar`` besides the common commands. A reading
beyond the range overloads (-222 in the queue, the reading clipped to the range).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from spin_echo.drivers.emulated.server import EmulatedInstrument, parse_keyword, parse_number
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab, Response
from spin_echo.drivers.visa.lakeshore_teslameter import (
    SAMPLE_PERIOD_S,
    LakeShoreF41,
    LakeShoreF71,
)

__all__ = ["RANGES_T", "EmulatedTeslameter"]

#: Field ranges of the emulated probe, tesla (``SENSe:RANGe`` selects the lowest that holds).
RANGES_T = (0.035, 0.35, 3.5, 35.0)
#: Most readings the buffer holds (older ones are dropped).
BUFFER_READINGS = 10_000
_MODELS = {"F71": LakeShoreF71, "F41": LakeShoreF41}
_AXES = {"X": 0, "Y": 1, "Z": 2}


class EmulatedTeslameter(EmulatedInstrument):
    """A Lake Shore F41 or F71 with its probe in the sample's stray field.

    Parameters
    ----------
    lab
        Where the AWG's bursts come from (the teslameter joins its detectors).
    model
        ``"F71"`` or ``"F41"`` (``*IDN?`` and the declared limits).
    magnetisation
        The magnetisation a burst leaves behind, in the chain's units.
    equilibrium
        The magnetisation before any burst.
    tesla_per_unit_t, background_t
        Field on the probe axis per unit magnetisation, and without the sample, tesla.
    axis
        Probe axis the sample's field lies along (``"X"``, ``"Y"``, ``"Z"``).
    clock
        Seconds on the instrument's clock (monotonic).
    """

    COMMANDS = (
        ("SENSe:MODE", "_mode"),
        ("SENSe:MODE?", "_mode_q"),
        ("UNIT:FIELD", "_unit"),
        ("UNIT:FIELD?", "_unit_q"),
        ("SENSe:RANGe:AUTO", "_auto"),
        ("SENSe:RANGe:AUTO?", "_auto_q"),
        ("SENSe:RANGe", "_range"),
        ("SENSe:RANGe?", "_range_q"),
        ("SENSe:AVERage:COUNt", "_count"),
        ("SENSe:AVERage:COUNt?", "_count_q"),
        ("FETCh:BUFFer:DC?", "_buffer"),
        ("FETCh:DC?", "_fetch"),
        ("SYSTem:ERRor:ALL?", "_all_errors"),
        ("SYSTem:ERRor:CLEar", "_cls"),
    )

    def __init__(
        self,
        lab: EmulatedLab,
        model: str = "F71",
        *,
        magnetisation: Callable[[AwgOutput], float] | None = None,
        equilibrium: float = 0.0,
        tesla_per_unit_t: float = 1e-3,
        background_t: float = 0.0,
        axis: str = "X",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        driver = _MODELS[model]
        self.IDN = f"LSCI,{model},LSA12345,1.6.2019092002"
        self.settings = driver.SETTINGS
        self.magnetisation = magnetisation or (lambda output: equilibrium)
        self.tesla_per_unit_t, self.background_t = tesla_per_unit_t, background_t
        self.axis = _AXES[axis] if model == "F71" else 0
        self.clock = clock
        super().__init__()
        lab.scopes.append(self)
        self.origin = clock()
        #: (start time, magnetisation) steps of the field history, oldest first.
        self.steps: list[tuple[float, float]] = [(-np.inf, equilibrium)]
        self.reset()

    def reset(self) -> None:
        """Power-on state: DC mode, tesla, auto range, 20 samples averaged, empty buffer."""
        self.mode, self.unit, self.auto_range = "DC", "TESLA", 1
        self.range_t, self.averaging = RANGES_T[-1], 20
        self._restart()

    def _restart(self) -> None:
        """Start the windows afresh now (the averaging changed): the buffer empties."""
        self.window_start = self.clock()
        self.buffer: list[str] = []
        self.latest: tuple[float, float, float] = (0.0, 0.0, 0.0)

    # -- the field -------------------------------------------------------------------------

    def trigger_in(self, output: AwgOutput, response: Response) -> None:
        """Take a played burst: from now on the sample holds the magnetisation it leaves."""
        when = self.clock()
        value = float(self.magnetisation(output))
        with self.lock:
            self.steps.append((when, value))

    def _mean_field(self, start: float, stop: float) -> float:
        """Time-averaged field on the probe axis over ``[start, stop]``, tesla."""
        edges = [t for t, _ in self.steps[1:]] + [np.inf]
        total = 0.0
        for (begin, m), end in zip(self.steps, edges, strict=True):
            overlap = min(stop, end) - max(start, begin)
            if overlap > 0:
                total += overlap * m
        return self.background_t + self.tesla_per_unit_t * total / (stop - start)

    def _advance(self) -> None:
        """Append a reading for every averaging window completed by now."""
        period = self.averaging * SAMPLE_PERIOD_S
        now = self.clock()
        while self.window_start + period <= now:
            start, self.window_start = self.window_start, self.window_start + period
            field = self._mean_field(start, self.window_start)
            if abs(field) > self.range_t:
                self.push_error(-222, "Data out of range; field overload")
                field = float(np.clip(field, -self.range_t, self.range_t))
            xyz = [0.0, 0.0, 0.0]
            xyz[self.axis] = field
            self.latest = tuple(xyz)
            stamp = dt.datetime.fromtimestamp(
                time.time() - (now - self.window_start), tz=dt.timezone.utc
            )
            self.buffer.append(
                f"{stamp.isoformat()},{abs(field):.9E},{xyz[0]:.9E},{xyz[1]:.9E},{xyz[2]:.9E},0"
            )
            del self.buffer[:-BUFFER_READINGS]
        older = [i for i, (t, _) in enumerate(self.steps) if t < self.window_start]
        del self.steps[: max(0, len(older) - 1)]

    # -- commands --------------------------------------------------------------------------

    def _mode(self, value: str) -> None:
        self.mode = parse_keyword(value, {"DC": "DC", "AC": "AC", "HIFR": "HIFR"})

    def _mode_q(self) -> str:
        return self.mode

    def _unit(self, value: str) -> None:
        self.unit = parse_keyword(value, {"TESLA": "TESLA", "GAUSS": "GAUSS"})

    def _unit_q(self) -> str:
        return self.unit

    def _auto(self, value: str) -> None:
        self.auto_range = int(parse_number(value))

    def _auto_q(self) -> str:
        return str(self.auto_range)

    def _range(self, value: str) -> None:
        field = parse_number(value)
        if not self.settings["range_t"].accepts_written(field):
            self.push_error(-222, "Data out of range; range")
            return
        self.range_t = next(r for r in RANGES_T if r >= field)

    def _range_q(self) -> str:
        return f"{self.range_t:.6E}"

    def _count(self, value: str) -> None:
        count = parse_number(value)
        if not float(count).is_integer() or not self.settings["averaging"].accepts_written(count):
            self.push_error(-222, "Data out of range; averaging count")
            return
        self._advance()
        self.averaging = int(count)
        self._restart()

    def _count_q(self) -> str:
        return str(self.averaging)

    def _buffer(self) -> str:
        if self.mode != "DC" or self.unit != "TESLA":
            self.push_error(-221, f"Settings conflict; buffer read in {self.mode} {self.unit}")
        self._advance()
        readings, self.buffer = self.buffer, []
        return '"' + "".join(f"{r};" for r in readings) + '"'

    def _fetch(self, *axis: str) -> str:
        self._advance()
        if axis and axis[0].strip().upper() == "ALL":
            return ",".join(f"{v:.9E}" for v in self.latest)
        index = _AXES.get(axis[0].strip().upper(), 0) if axis else self.axis
        return f"{self.latest[index]:.9E}"

    def _all_errors(self) -> str:
        if not self.errors:
            return '0,"No error"'
        text = ",".join(f'{code:d},"{message}"' for code, message in self.errors)
        self.errors.clear()
        return text
