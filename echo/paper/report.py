"""Reproduce Prokof'ev & Stamp (1995): every figure and formula, simulated, in one report.

:func:`reproduce_paper` runs each part of the reproduction and :func:`write_report` writes
``report.md`` (for each result: the paper's formula, the simulated value, their difference,
the error bars and the figure) and ``metrics.json`` (the same numbers, machine-readable) into
the output directory, next to the PNG figures and the sample files the simulations used.

The parts (all from the simulator's packet ensembles of the paper's spin bath):

1. P(t) for ``lambda << 1`` against the Bessel series (:mod:`spin_echo.echo.paper.spectra`);
2. chi''(omega) against Eq. (7) and its edge at ``4 Delta_o``;
3. Fig. 1: chi'' for ``lambda = 1e-3`` and ``lambda - lambda' = 10`` (sum over M, y average);
4. Eq. (8): loss of coherence under nuclear spin diffusion against ``T_2^-1`` and N
   (:mod:`spin_echo.echo.paper.dynamics`);
5. the spin-echo proposal: Hahn echo and hole burning on a wide ``Delta_o`` distribution, with
   and without topological decoherence (:mod:`spin_echo.echo.paper.dynamics`; topological
   decoherence
   as the dynamic nuclear bath, the channel redrawn at every flip, with the static bath's
   refocused echo listed for comparison).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from spin_echo.echo.output import OutputFolder
from spin_echo.echo.paper.dynamics import echo_result, spin_diffusion_result
from spin_echo.echo.paper.result import ABSENT_FRACTION, CONFIDENCE, PaperResult
from spin_echo.echo.paper.spectra import ferritin_results, fig1_result

__all__ = ["DEFAULT_PACKETS", "PaperReport", "reproduce_paper", "write_report"]

#: Packets of the full-size reproduction (the spectra; the pulse simulations use a fraction).
DEFAULT_PACKETS = 2_000_000

_PAPER = (
    "N. V. Prokof'ev and P. C. E. Stamp, *Quantum coherence in magnetic grains*, "
    "cond-mat/9511015 (1995)"
)


@dataclass(frozen=True)
class PaperReport:
    """The reproduction: its results, where they were written and how long it took."""

    results: tuple[PaperResult, ...]
    outdir: Path
    packets: int
    seed: int
    elapsed_s: float

    @property
    def report_path(self) -> Path:
        """The markdown report."""
        return self.outdir / "report.md"


def reproduce_paper(
    outdir: str | Path,
    *,
    packets: int = DEFAULT_PACKETS,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> PaperReport:
    """Run every part of the reproduction and write the report.

    Parameters
    ----------
    outdir
        Output directory (created if missing; its parent must exist): figures, ``report.md``,
        ``metrics.json``, ``samples/``. A folder that holds anything is refused unless
        ``overwrite``. Every file is written into ``OUTDIR.partial-PID`` beside it and moved in
        only when the whole reproduction has succeeded (:class:`.output.OutputFolder`); a failed
        or interrupted run leaves ``outdir`` as it was.
    packets
        Packets of the spectral parts (P(t), Eq. 7, Fig. 1 per panel); the echo simulations use
        ``packets // 40`` per point and the 56 spin-diffusion echoes ``packets // 160`` (at
        least 2000 each).
    seed
        Seed of the first replica of every ensemble.
    progress
        Called with the name of each part before it runs.
    overwrite
        Replace the files of an earlier reproduction in ``outdir`` (other files stay).
    """
    folder = OutputFolder(outdir, overwrite=overwrite)
    with folder:
        report = _reproduce(folder.partial, packets=packets, seed=seed, progress=progress)
    return dataclasses.replace(report, outdir=folder.path)


def _reproduce(
    out: Path, *, packets: int, seed: int, progress: Callable[[str], None] | None
) -> PaperReport:
    start = time.perf_counter()
    pulse_packets = max(2000, packets // 40)
    diffusion_packets = max(2000, packets // 160)
    steps: tuple[tuple[str, Callable[[], tuple[PaperResult, ...]]], ...] = (
        ("P(t) and Eq. (7)", lambda: ferritin_results(out, packets=packets, seed=seed)),
        ("Fig. 1", lambda: (fig1_result(out, packets=packets, seed=seed),)),
        ("Eq. (8)", lambda: (spin_diffusion_result(out, packets=diffusion_packets, seed=seed),)),
        ("spin echo", lambda: (echo_result(out, packets=pulse_packets, seed=seed),)),
    )
    results: list[PaperResult] = []
    for name, step in steps:
        if progress is not None:
            progress(name)
        results.extend(step())
    report = PaperReport(tuple(results), out, packets, seed, time.perf_counter() - start)
    write_report(report)
    return report


def _table(rows: tuple[tuple[str, str, str, str], ...]) -> list[str]:
    lines = ["| quantity | paper | simulated | difference |", "|---|---|---|---|"]
    escaped = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    lines += ["| " + " | ".join(row) + " |" for row in escaped]
    return lines


def write_report(report: PaperReport) -> Path:
    """Write ``report.md`` and ``metrics.json`` for ``report``; return the report path."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Prokof'ev & Stamp (1995), reproduced by spin-echo",
        "",
        f"Paper: {_PAPER}. Written {stamp} by `spin-echo paper --packets {report.packets} "
        f"--seed {report.seed}` in {report.elapsed_s:.0f} s.",
        "",
        "Every simulated number comes from packet ensembles of the paper's spin bath "
        "(`simulator`), never from the closed forms it is compared with "
        "(`simulator.budget.closed_forms`). Differences are simulated minus paper; `s.e.` is the "
        "standard error of the mean over independent replicas, and `|z|` a difference in "
        "units of it. A verdict is a one-sided bound at "
        f"{100 * CONFIDENCE:.0f}% confidence (Student t over the replicas): a claim that "
        "something is there is reproduced when its lower bound is above zero, a claim that "
        "it is absent when its upper bound is below the stated level (by default "
        f"{ABSENT_FRACTION:.0%} of the λ = 0 value); where the bounds straddle the level the "
        "verdict is 'undecided'. The sample files used are in `samples/`.",
        "",
    ]
    for result in report.results:
        lines += [
            f"## {result.title}",
            "",
            f"Paper: `{result.formula}`",
            "",
            result.convention,
            "",
            *_table(result.rows),
            "",
            result.statistics,
            "",
            f"![{result.key}]({result.figure})",
            "",
        ]
    path = report.report_path
    path.write_text("\n".join(lines), encoding="utf-8")
    metrics = {
        "packets": report.packets,
        "seed": report.seed,
        "elapsed_s": report.elapsed_s,
        "results": {r.key: dict(r.metrics) for r in report.results},
    }
    (report.outdir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return path
