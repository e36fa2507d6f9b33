"""Design an experiment from Python: :func:`design`, as ``spin-echo design``.

:func:`design` goes through the code of the command
(:func:`spin_echo.echo.design.report.design_experiment`) and returns a :class:`DesignResult`
holding the same data as ``spin-echo design --json`` (:attr:`DesignResult.data`), a text
``repr`` (the command's table) and an HTML table in Jupyter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spin_echo.loading import check_seed_packets, load_bench, load_protocol, load_sample
from spin_echo.sequences.errors import InputError
from spin_echo.tables import html_table

if TYPE_CHECKING:
    import xarray as xr

    from spin_echo.drivers.config import BenchSpec
    from spin_echo.echo.design.report import Design
    from spin_echo.sequences.protocol import Protocol
    from spin_echo.simulator.sample import Sample

__all__ = ["DesignResult", "design"]


@dataclass(frozen=True, repr=False)
class DesignResult:
    """What a protocol will show on a bench (:func:`spin_echo.design`).

    Attributes
    ----------
    data
        The data of ``spin-echo design --json``: ``points`` (each with ``values``,
        ``signal``, ``signal_sem``, ``noise``, ``snr``), ``time_s``, ``verdict``
        (``"detectable"`` or ``"not detectable"``), ``shots_needed``, ``time_needed_s``,
        ``criterion``, ``budget``, and ``hole`` for hole burning.
    design
        The full answer (:class:`spin_echo.echo.design.report.Design`): the prediction with
        the simulated record, the noise, the verdict.
    """

    data: dict[str, Any]
    design: Design = field(compare=False)

    @property
    def verdict(self) -> str:
        """``"detectable"`` or ``"not detectable"``."""
        return str(self.data["verdict"])

    @property
    def detectable(self) -> bool:
        """True when the SNR is at least 3 at the best point."""
        return self.verdict == "detectable"

    @property
    def shots_needed(self) -> int:
        """Shots per phase step for SNR 3 at the best point."""
        return int(self.data["shots_needed"])

    def report(self) -> str:
        """Return the text ``spin-echo design`` prints."""
        return self.design.report()

    def to_dict(self) -> dict[str, Any]:
        """Return the data of ``spin-echo design --json``."""
        return dict(self.data)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        points = self.data["points"]
        names = list(points[0]["values"]) if points else []
        header = [*names, "signal", "± MC", "noise", "SNR"]
        rows = [
            [
                *(f"{point['values'][n]:.4g}" for n in names),
                f"{point['signal']:.3g}",
                f"{point['signal_sem']:.2g}",
                f"{point['noise']:.3g}",
                "inf" if point["snr"] is None else f"{point['snr']:.3g}",
            ]
            for point in points
        ]
        data = self.data
        caption = f"design {data['protocol']} on sample {data['sample']}, bench {data['bench']}"
        footer = [
            f"verdict: {data['verdict']} ({data['criterion']})",
            f"shots needed: {data['shots_needed']:,}; time {data['time_s']:.3g} s as written",
            f"decoherence budget: {data['budget']}",
        ]
        return html_table(header, rows, caption=caption, footer=footer)


def design(
    protocol: Protocol | str | Path,
    sample: Sample | str | Path,
    bench: BenchSpec | str | Path = "virtual",
    *,
    values: Mapping[str, str] | None = None,
    noise_from: xr.Dataset | str | Path | None = None,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    vary: str | None = None,
    target: str | None = None,
    budget: str | None = None,
) -> DesignResult:
    """Predict a protocol's signal-to-noise on a bench and judge it (``spin-echo design``).

    For every sweep point: the integrated echo the sample gives (simulated, with its
    Monte-Carlo error), the bench's noise of that integrated echo for the protocol's shots and
    phase cycle, their ratio; the measuring time; the verdict (detectable when the SNR is at
    least 3 at the best point) with the shots and time needed.

    Parameters
    ----------
    protocol, sample, bench
        Objects, built-in names, paths or YAML text (:func:`spin_echo.load_protocol`, ...).
    values
        Protocol parameters to set, ``{"tau": "3 us"}`` (as ``--set``).
    noise_from
        A measured record (or its path) whose shot-to-shot scatter gives the noise.
    frame, packets, seed
        How the signal is simulated (as :func:`spin_echo.simulate`).
    vary, target, budget
        As ``--vary``, ``--target``, ``--budget``: optimise the protocol, predict ``fit``'s
        error of a sample key, spend a measuring time (``data["optimisation"]``,
        ``data["predicted_error"]``, ``data["chosen_protocol"]``, the chosen protocol's YAML).

    Returns
    -------
    DesignResult
        ``data`` as ``--json``; ``verdict``, ``detectable``, ``shots_needed``; a table as
        ``repr`` and in Jupyter.

    Raises
    ------
    InputError
        Bad input, before anything is simulated.

    Examples
    --------
    >>> import spin_echo as se
    >>> result = se.design("hahn-echo", "bare-t2", "virtual", packets=400)
    >>> result.verdict, result.data["points"][0]["snr"] > 100
    ('detectable', True)
    """
    from spin_echo.drivers.bench import check_protocol_fits
    from spin_echo.echo.design.noise import bench_noise
    from spin_echo.echo.design.plan import extend_design, plan_design
    from spin_echo.echo.design.report import design_experiment
    from spin_echo.echo.record import read_record
    from spin_echo.simulator.environment import FRAMES

    protocol = load_protocol(protocol)
    if values:
        protocol = protocol.with_overrides(values)
    sample = load_sample(sample)
    spec = load_bench(bench)
    check_protocol_fits(spec, protocol)
    if frame not in FRAMES:
        raise InputError(f"must be one of {', '.join(FRAMES)}", key="frame", value=frame)
    check_seed_packets(seed, packets)
    record, name = None, "record"
    if noise_from is not None:
        if isinstance(noise_from, (str, Path)):
            record, name = read_record(noise_from), str(noise_from)
        else:
            record = noise_from
    bench_noise(protocol, spec, record=record, record_name=name)  # refused before simulating
    plan = plan_design(protocol, sample, spec, vary=vary, target=target, budget=budget)
    answer = design_experiment(
        protocol,
        sample,
        spec,
        frame=frame,
        packets=packets,
        seed=seed,
        noise_record=record,
        noise_record_name=name,
    )
    answer = extend_design(
        plan, answer, frame=frame, packets=packets, seed=seed, noise_record=record
    )
    return DesignResult(answer.to_dict(), answer)
