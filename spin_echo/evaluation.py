"""Evaluate records and samples from Python: analyse, compare, fit, and the decoherence budget.

Thin functions over the analysis of the command line, returning the data classes of
:mod:`spin_echo.results`: :func:`analyse` is ``spin-echo plot``'s choice of fit
(:func:`spin_echo.echo.analysis.record_analysis.analyse_record`), :func:`compare` is
``spin-echo compare`` (:func:`spin_echo.echo.analysis.compare.compare_records`), :func:`fit` is
``spin-echo fit`` (:func:`spin_echo.echo.analysis.fit_sample.fit_sample`) and :func:`budget` is
``spin-echo budget`` (:mod:`spin_echo.simulator.budget.table`). A record is an
:class:`xarray.Dataset` (from :func:`spin_echo.simulate` or :func:`spin_echo.run`) or the path
of a record file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spin_echo.loading import check_seed_packets, load_sample
from spin_echo.results import AnalysisResult, Budget, ComparisonResult, FitResult

if TYPE_CHECKING:
    import xarray as xr

    from spin_echo.simulator.sample import Sample

__all__ = ["analyse", "budget", "compare", "fit", "read"]


def read(record: xr.Dataset | str | Path) -> xr.Dataset:
    """Return a record: a dataset as it is, or the file at a path read into memory.

    Parameters
    ----------
    record
        A record (returned as it is) or the path of a record file (``.nc``).

    Returns
    -------
    xarray.Dataset
        The record, loaded into memory (the file is closed).

    Raises
    ------
    RecordError
        The file is missing, unreadable, or not a spin-echo record (naming file and variable).

    Examples
    --------
    >>> import os, tempfile
    >>> import spin_echo as se
    >>> path = os.path.join(tempfile.mkdtemp(), "fid.nc")
    >>> se.read(se.save(se.simulate("fid", "bare", packets=100), path)).attrs["source"]
    'simulate'
    """
    import xarray as xr

    from spin_echo.echo.record import read_record

    return record if isinstance(record, xr.Dataset) else read_record(record)


def _name(record: xr.Dataset | str | Path, default: str) -> str:
    return default if not isinstance(record, (str, Path)) else str(record)


def analyse(record: xr.Dataset | str | Path, kind: str = "auto") -> AnalysisResult:
    r"""Fit what the record's protocol calls for, as ``spin-echo plot`` does; return the result.

    The analysis follows the protocol's structure, whatever its name: Hahn echo, stretched
    decay :math:`A e^{-(2\tau/T_M)^x}`; stimulated echo, decay in the mixing time; inversion
    recovery, :math:`T_1`; CPMG, the train decay; nutation, the Rabi frequency; hole burning,
    the hole's depth, width and position; FID, no fit (its spectrum). A fit that fails its
    self-checks is kept and marked ``reliable = False`` with the reasons.

    Parameters
    ----------
    record
        A record or the path of a record file.
    kind
        ``"auto"`` or an analysis by name (``"exponential"``, ``"stretched"``,
        ``"stimulated"``, ``"cpmg"``, ``"inversion-recovery"``, ``"nutation"``, ``"hole"``,
        ``"spectrum"``).

    Returns
    -------
    AnalysisResult
        Values, errors, reduced chi-square, reliability and reasons; ``.plot()`` draws it.
        With ``"auto"``, a record no analysis fits (or whose fit cannot be made) gives a result
        without a fit whose ``reasons`` say why.

    Raises
    ------
    AnalysisError
        A named analysis that cannot be made on this record.

    Examples
    --------
    >>> import spin_echo as se
    >>> result = se.analyse(se.simulate("hahn-echo", "bare-t2", packets=400))
    >>> result.kind, result.family, sorted(result.values)
    ('stretched', 'hahn-echo', ['A', 'T_M', 'x'])
    >>> abs(result.values["T_M"] - 20e-6) < 5 * result.errors["T_M"] + 1e-6
    True
    """
    from spin_echo.echo.analysis.extraction import AnalysisError
    from spin_echo.echo.analysis.record_analysis import analyse_record, classify_record

    dataset = read(record)
    family = classify_record(dataset)
    try:
        analysis = analyse_record(dataset, kind)
    except AnalysisError as err:
        if kind != "auto":
            raise
        analysis, why = None, f"no fit: {err}"
    else:
        why = "" if analysis is not None else f"no analysis: {family.reason}"
    fit = None if analysis is None else analysis.fit
    if fit is None:
        reasons = (why,) if why else (f"no fit: the {analysis.kind} analysis has none",)
        return AnalysisResult(
            kind="" if analysis is None else analysis.kind,
            family=family.name,
            model="",
            formula="",
            values={},
            errors={},
            units={},
            chi2_reduced=float("nan"),
            dof=0,
            sigma_known=False,
            reliable=False,
            reasons=reasons,
            derived={},
            notes=() if analysis is None else analysis.notes,
            record=dataset,
            analysis=analysis,
        )
    return AnalysisResult(
        kind=analysis.kind,
        family=family.name,
        model=fit.model,
        formula=fit.formula,
        values={n: float(v) for n, v in zip(fit.names, fit.values, strict=True)},
        errors={n: float(e) for n, e in zip(fit.names, fit.errors, strict=True)},
        units=dict(zip(fit.names, fit.units, strict=True)),
        chi2_reduced=float(fit.chi2_reduced),
        dof=int(fit.dof),
        sigma_known=bool(fit.sigma_known),
        reliable=fit.reliable,
        reasons=tuple(fit.health.reasons),
        derived={d.name: d for d in analysis.derived},
        notes=analysis.notes,
        record=dataset,
        analysis=analysis,
    )


def compare(
    measured: xr.Dataset | str | Path,
    simulated: xr.Dataset | str | Path,
    *,
    noise_sigma: float | None = None,
) -> ComparisonResult:
    """Compare a measured record with a simulated one, as ``spin-echo compare`` does.

    Both are aligned on their common time and sweep grid (the simulation interpolated onto the
    measurement), one complex factor (gain and receiver phase) is fitted, and the residual is
    weighed against the measured record's noise.

    Parameters
    ----------
    measured, simulated
        Records or paths of record files; their protocols must have the same structure.
    noise_sigma
        Noise per quadrature of the measured signal; estimated from it when None (its
        shot-to-shot standard error where stored).

    Returns
    -------
    ComparisonResult
        Scale, residuals, reduced chi-square; ``.plot()`` overlays the two records.

    Raises
    ------
    CompareError
        Records that cannot be compared (different protocols, no common grid).

    Examples
    --------
    >>> import spin_echo as se
    >>> sample = se.load_sample("bare-t2").with_values(packets=400)
    >>> measured = se.run("hahn-echo", "virtual", sample=sample, values={"tau": "4 us"})
    >>> simulated = se.simulate("hahn-echo", sample, values={"tau": "4 us"}, frame="lab")
    >>> result = se.compare(measured, simulated)
    >>> 0.98 < abs(result.scale) < 1.02, result.relative_residual < 0.05
    (True, True)
    """
    from spin_echo.echo.analysis.compare import compare_records

    names = (_name(measured, "measured"), _name(simulated, "simulated"))
    comparison = compare_records(
        read(measured), read(simulated), noise_sigma=noise_sigma, names=names
    )
    return ComparisonResult(
        scale=complex(comparison.scale),
        scale_error=float(comparison.scale_error),
        chi2_reduced=float(comparison.chi2_reduced),
        dof=int(comparison.dof),
        independent=float(comparison.independent),
        rms_residual=float(comparison.rms_residual),
        relative_residual=float(comparison.relative_residual),
        noise_sigma=float(comparison.noise_sigma),
        noise_source=comparison.noise_source,
        names=names,
        reliable=comparison.health.reliable,
        reasons=tuple(comparison.health.reasons),
        comparison=comparison,
    )


class _Lines:
    """A text stream onto ``sys.stderr`` that says it is a terminal (the fit's progress lines)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return True


def fit(
    measured: xr.Dataset | str | Path,
    sample: Sample | str | Path,
    free: Sequence[str],
    *,
    values: Mapping[str, str | float] | None = None,
    seed: int | None = None,
    packets: int | None = None,
    noise_sigma: float | None = None,
    frame: str = "rotating",
    fit_scale: bool = True,
    max_evaluations: int = 200,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> FitResult:
    """Fit sample parameters to a measured record through the simulator (``spin-echo fit``).

    The record's own protocol is simulated on the sample at every evaluation, with the same
    seed (common random numbers, so the objective is smooth); the ``free`` keys are adjusted by
    least squares (positive quantities on a log scale) with one complex gain profiled out.

    Parameters
    ----------
    measured
        The measured record (or its path).
    sample
        The model sample; its values of the free keys are the starting point.
    free
        Dotted sample keys to fit, e.g. ``["relaxation.T2", "bias.width"]``.
    values
        Sample keys to set first (start values), ``{"relaxation.T2": "26 us"}``.
    seed, packets
        Seed and packet count of every simulation (the sample's when None).
    noise_sigma
        Noise per quadrature of the measured signal; estimated from it when None.
    frame
        ``"rotating"`` or ``"lab"`` (use it for records of the virtual bench or the lab).
    fit_scale
        Profile out a complex gain and phase; False compares in absolute units.
    max_evaluations
        Largest number of simulations of the record.
    workers, scheduler
        Evaluate the sweep points in local processes or on a dask cluster.
    progress
        Write one line per evaluation to ``sys.stderr``.

    Returns
    -------
    FitResult
        Values, errors, covariance and the fitted sample.

    Raises
    ------
    FitError
        No or repeated free keys, an unknown key, a noise-free record without ``noise_sigma``,
        or a record that does not constrain the keys.

    Examples
    --------
    A simulated record stands for the measurement here (no noise: give ``noise_sigma``); the
    fit starts 25 % off and finds the sample's T2 = 20 us again:

    >>> import spin_echo as se
    >>> truth = se.load_sample("bare-t2").with_values(packets=300)
    >>> measured = se.simulate("hahn-echo", truth)
    >>> result = se.fit(measured, truth, ["relaxation.T2"], values={"relaxation.T2": "25 us"},
    ...                 noise_sigma=1e-3)
    >>> print(f"{result.values['relaxation.T2'] * 1e6:.4f} us")
    20.0000 us
    """
    from spin_echo.echo.analysis.fit_sample import fit_sample
    from spin_echo.echo.analysis.fit_yaml import unit_of_key
    from spin_echo.echo.runs.executor import make_executor
    from spin_echo.sequences.errors import InputError

    if isinstance(free, str):
        free = [name.strip() for name in free.split(",") if name.strip()]
    check_seed_packets(seed, packets)
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int):
        raise InputError("must be a positive whole number", key="max_evaluations",
                         value=max_evaluations)  # fmt: skip
    if max_evaluations < 1:
        raise InputError("must be a positive whole number", key="max_evaluations",
                         value=max_evaluations)  # fmt: skip
    model = load_sample(sample)
    if values:
        model = model.with_overrides(dict(values))
    dataset = read(measured)
    with make_executor(workers=workers, scheduler=scheduler) as executor:
        result = fit_sample(
            dataset,
            model,
            list(free),
            seed=seed,
            packets=packets,
            noise_sigma=noise_sigma,
            fit_scale=fit_scale,
            frame=frame,
            max_evaluations=max_evaluations,
            progress=_Lines() if progress else None,
            map_function=executor.map,
        )
    keys = [parameter.key for parameter in result.parameters]
    errors = result.errors
    return FitResult(
        sample=result.sample,
        values={k: float(v) for k, v in zip(keys, result.values, strict=True)},
        errors={k: float(e) for k, e in zip(keys, errors, strict=True)},
        units={k: unit_of_key(k) for k in keys},
        covariance=result.correlation * errors[:, None] * errors[None, :],
        correlation=result.correlation,
        chi2_reduced=float(result.chi2_reduced),
        dof=int(result.dof),
        scale=complex(result.scale),
        noise_sigma=float(result.noise_sigma),
        noise_source=result.noise_source,
        evaluations=int(result.evaluations),
        converged=bool(result.converged),
        reliable=result.health.reliable,
        reasons=tuple(result.health.reasons),
        fit=result,
    )


def budget(sample: Sample | str | Path) -> Budget:
    r"""Return the paper's decoherence budget of a sample (``spin-echo budget``).

    One row per mechanism of Prokof'ev & Stamp (1995) -- degeneracy blocking (Eq. 1, 5-7),
    nuclear co-flipping :math:`\lambda, \lambda'` (Eqs. 2-6), nuclear spin diffusion
    (Eq. 8), conduction electrons (Eqs. 9-11), phonons (Eq. 12) -- with its value, the
    criterion for coherence (:math:`x \ll y` met when :math:`x < y/10`) and a verdict.

    Parameters
    ----------
    sample
        A sample, built-in name, path or YAML text.

    Returns
    -------
    Budget
        ``rows`` as data, ``conclusion``, ``table()`` as the command line prints it.

    Examples
    --------
    >>> import spin_echo as se
    >>> se.budget("tb-grain").conclusion
    'coherence blocked by topological decoherence (nuclear co-flipping; orthogonality blocking)'
    >>> [row.equation for row in se.budget("ferritin").rows][:2]
    ['text, Eq. (1)', 'text, Eq. (1)']
    """
    from spin_echo.simulator.budget.table import budget_inputs, decoherence_budget

    result = decoherence_budget(budget_inputs(load_sample(sample)))
    return Budget(result.sample, tuple(result.rows), result.conclusion)
