"""``spin-echo design``'s answer: the prediction, the verdict, and the same as text and data.

:func:`design_experiment` predicts every sweep point
(:func:`spin_echo.echo.design.predict.predict`), adds the hole depth for hole burning
(:mod:`spin_echo.echo.design.hole`) and the verdict (:mod:`spin_echo.echo.design.verdict`),
and the sample's decoherence budget (:mod:`spin_echo.simulator.budget.table`, the closed forms
of ``spin-echo budget``) beside the simulated answer. :class:`Design` renders as a table
(:meth:`Design.report`) and as the data of ``--json`` (:meth:`Design.to_dict`): ``points``
(each with ``values``, ``signal``, ``signal_sem``, ``noise``, ``snr``), ``time_s``,
``verdict``, ``shots_needed``, and, where an optimisation or a target adds them,
``predicted_error`` and ``optimisation`` (:attr:`Design.extra`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import xarray as xr

from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.design.hole import hole_depth
from spin_echo.echo.design.predict import MapFunction, Prediction, predict
from spin_echo.echo.design.scatter import REALISATIONS, plot_scatter
from spin_echo.echo.design.verdict import SNR_DETECTABLE, HoleDepth, Verdict, verdict
from spin_echo.echo.record import unit_of_kind
from spin_echo.echo.units_format import format_quantity
from spin_echo.sequences import Protocol
from spin_echo.simulator.budget.table import budget_inputs, decoherence_budget
from spin_echo.simulator.sample import Sample

__all__ = ["Design", "design_experiment", "format_duration"]


def format_duration(seconds: float) -> str:
    """Return a time in the largest fitting unit: ``"384 ms"``, ``"2.5 h"``, ``"3.1e+04 years"``."""
    if not math.isfinite(seconds):
        return "forever"
    for unit, size in (("years", 3.15576e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{value:.2g} {unit}"
    return format_quantity(seconds, "s", digits=3)


def _plain(value: float) -> float | None:
    """Return a JSON-safe float (None for NaN or infinite)."""
    return float(value) if math.isfinite(value) else None


def _table(rows: list[list[str]]) -> list[str]:
    """Return the lines of a right-aligned table whose first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return lines


@dataclass(frozen=True)
class Design:
    """The answer of ``spin-echo design`` for one protocol, sample and bench.

    Attributes
    ----------
    prediction
        Signal, noise and SNR per sweep point.
    verdict
        Detectable or not, and what it takes.
    hole
        The hole depth against the pump-off reference (hole burning only).
    budget
        The sample's decoherence budget conclusion (``spin-echo budget``).
    plot_signal, plot_noise
        Mean and standard deviation per point of the integrated echo as ``spin-echo plot``
        extracts it from a noisy record, its window found on that record
        (:func:`spin_echo.echo.design.scatter.plot_scatter`); empty when not drawn.
    extra
        Further entries of :meth:`to_dict` and lines of :meth:`report` (an optimisation,
        ``predicted_error`` for a target): name -> (data, text lines).
    """

    prediction: Prediction
    verdict: Verdict
    hole: HoleDepth | None
    budget: str
    plot_signal: tuple[float, ...] = ()
    plot_noise: tuple[float, ...] = ()
    extra: Mapping[str, tuple[Any, tuple[str, ...]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the data of ``--json``."""
        p, v = self.prediction, self.verdict
        data: dict[str, Any] = {
            "protocol": p.protocol.name,
            "sample": p.sample.name,
            "bench": p.bench.name,
            "frame": p.frame,
            "packets": p.packets,
            "quantity": f"integrated echo ({p.mode}) over the echo window",
            "window_s": [p.window.start_s, p.window.stop_s],
            "noise_source": p.noise.bench.source,
            "noise_per_value": p.noise.quadrature,
            "shots": p.protocol.shots,
            "phase_steps": len(p.protocol.phase_cycle),
            "points": [
                {
                    "values": point.values,
                    "signal": point.signal,
                    "signal_sem": point.signal_sem,
                    "noise": point.noise,
                    "snr": _plain(point.snr),
                    **self._plot_entry(k),
                }
                for k, point in enumerate(p.points)
            ],
            "time_s": p.time_s,
            "time_model": "repetition_time x shots x phase steps x sweep points (no overheads)",
            "verdict": v.word,
            "criterion": v.criterion,
            "best_snr": _plain(v.snr),
            "best_point": p.points[v.best].values if self.hole is None else None,
            "shots_needed": v.shots_needed,
            "shots_needed_is_lower_bound": v.shots_needed_is_lower_bound,
            "time_needed_s": _plain(v.time_needed_s),
            "budget": self.budget,
        }
        if self.hole is not None:
            data["hole"] = {
                "depth": [float(x) for x in self.hole.depth],
                "depth_sem": [float(x) for x in self.hole.depth_sem],
                "noise": self.hole.noise,
                "snr": [_plain(float(x)) for x in self.hole.snr],
                "reference": self.hole.reference,
                "time_s": self.hole.time_s,
            }
        for name, (value, _) in self.extra.items():
            data[name] = value
        return data

    def _plot_entry(self, k: int) -> dict[str, float | None]:
        """Return ``plot_signal``, ``plot_noise``, ``plot_snr`` of point ``k`` (if drawn)."""
        if not self.plot_noise:
            return {}
        mean, std = self.plot_signal[k], self.plot_noise[k]
        return {
            "plot_signal": mean,
            "plot_noise": std,
            "plot_snr": _plain(abs(mean) / std) if std > 0 else None,
        }

    def report(self) -> str:
        """Return the table and verdict that ``spin-echo design`` prints."""
        p, v = self.prediction, self.verdict
        protocol = p.protocol
        names = [axis.name for axis in protocol.sweep_axes]
        units = {axis.name: unit_of_kind(axis.kind) for axis in protocol.sweep_axes}
        lines = [
            f"design {protocol.name} on sample {p.sample.name}, bench {p.bench.name}: "
            f"{p.frame}-frame simulation, {p.packets} packets",
            f"  noise: {p.noise.bench.source}",
            f"  per recorded value {p.noise.quadrature:.3g} per quadrature "
            f"({protocol.shots} shots x {len(protocol.phase_cycle)} phase steps); "
            f"integrated echo ({p.mode}, {p.noise.samples} samples of the window "
            f"{format_quantity(p.window.start_s, 's', digits=3)} - "
            f"{format_quantity(p.window.stop_s, 's', digits=3)}): {p.noise.integrated:.3g}",
            "",
        ]
        header = [*names, "signal", "+- MC", "noise", "SNR"]
        if self.plot_noise:
            header += ["plot SNR"]
        rows = [header]
        for point in p.points:
            cells = [
                format_quantity(point.values[n], "" if units[n] == "1" else units[n], digits=4)
                for n in names
            ]
            cells += [
                f"{point.signal:.3g}",
                f"{point.signal_sem:.2g}",
                f"{point.noise:.3g}",
                f"{point.snr:.3g}",
            ]
            if self.plot_noise:
                entry = self._plot_entry(len(rows) - 1)["plot_snr"]
                cells.append("-" if entry is None else f"{entry:.3g}")
            rows.append(cells)
        lines += _table(rows)
        if self.hole is not None:
            lines += ["", f"hole depth |s_off| - |s_on| against {self.hole.reference}:"]
            depth_rows = [["depth", "+- MC", "noise", "SNR"]]
            depth_rows += [
                [f"{d:.3g}", f"{e:.2g}", f"{self.hole.noise:.3g}", f"{r:.3g}"]
                for d, e, r in zip(self.hole.depth, self.hole.depth_sem, self.hole.snr, strict=True)
            ]
            lines += _table(depth_rows)
        lines += ["", f"measuring time: {format_duration(p.time_s)} (repetition time "
                  f"{format_quantity(protocol.repetition_time_s, 's', digits=3)} x "
                  f"{protocol.shots} shots x {len(protocol.phase_cycle)} phase steps x "
                  f"{len(p.points)} points; uploads and transfers not included)"]  # fmt: skip
        bound = "at least " if v.shots_needed_is_lower_bound else ""
        lines += [
            f"verdict: {v.word.upper()} - best SNR {v.snr:.3g} of the {v.quantity} "
            f"(criterion: SNR >= {SNR_DETECTABLE:g} at the best sweep point)",
            f"  shots needed for SNR {SNR_DETECTABLE:g}: {bound}{v.shots_needed:,} per phase step"
            f" (protocol: {protocol.shots}), time {bound}{format_duration(v.time_needed_s)}",
        ]
        if self.plot_noise:
            lines.append(
                "  plot SNR: what spin-echo plot measures, its window found on each noisy record "
                f"(Monte Carlo, {REALISATIONS} records); SNR: over the expected echo's window"
            )
        if v.shots_needed_is_lower_bound:
            lines.append(
                "  the simulation does not resolve the echo (below twice its Monte-Carlo "
                "error): the shots needed come from its upper bound; more --packets tighten it"
            )
        for _, (_, text) in self.extra.items():
            lines += ["", *text] if text else []
        lines += [
            "",
            f"decoherence budget (spin-echo budget {p.sample.name}): {self.budget}",
        ]
        return "\n".join(lines)


def design_experiment(
    protocol: Protocol,
    sample: Sample,
    bench: BenchSpec,
    *,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    noise_record: xr.Dataset | None = None,
    noise_record_name: str = "record",
    map_function: MapFunction = map,
    realisations: int = REALISATIONS,
) -> Design:
    """Predict ``protocol`` on ``sample`` and ``bench``; give the verdict.

    Parameters
    ----------
    protocol, sample, bench
        The experiment.
    frame, packets, seed
        How to simulate the signal (``spin-echo simulate``'s options).
    noise_record, noise_record_name
        A measured record giving the noise (``--noise-from``).
    map_function
        An ordered ``map`` over the sweep points.
    realisations
        Noisy records drawn for ``plot``'s scatter (:func:`plot_scatter`); 0: none.

    Returns
    -------
    Design
        Prediction, hole depth (hole burning), verdict and the budget's conclusion.
    """
    prediction = predict(
        protocol,
        sample,
        bench,
        frame=frame,
        packets=packets,
        seed=seed,
        noise_record=noise_record,
        noise_record_name=noise_record_name,
        map_function=map_function,
    )
    hole = hole_depth(prediction, map_function=map_function, seed=seed)
    budget = decoherence_budget(budget_inputs(sample)).conclusion
    mean, std = plot_scatter(prediction, realisations=realisations) if realisations else ((), ())
    return Design(
        prediction,
        verdict(prediction, hole),
        hole,
        budget,
        tuple(float(x) for x in mean),
        tuple(float(x) for x in std),
    )
