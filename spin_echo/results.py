"""Results of the Python API as data: an analysis, a comparison, a sample fit, a budget.

Each result is a frozen dataclass holding plain values (dictionaries of SI floats keyed by
parameter name, the reduced chi-square, whether the numbers are to be believed and why not),
the object of :mod:`spin_echo.echo` it was made from, a readable ``repr`` (the text the command
line prints) and ``_repr_html_`` (a small table in Jupyter). Results that have a figure draw it
with ``plot()``, returning the :class:`matplotlib.figure.Figure` (Jupyter shows it) and writing
it to ``path`` when one is given, with the command line's rules for output files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spin_echo.tables import html_table, text_table

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr
    from matplotlib.figure import Figure

    from spin_echo.echo.analysis.compare import Comparison
    from spin_echo.echo.analysis.fit_sample import SampleFit
    from spin_echo.echo.analysis.record_analysis import Derived, RecordAnalysis
    from spin_echo.simulator.budget.table import BudgetRow
    from spin_echo.simulator.sample import Sample

__all__ = ["AnalysisResult", "Budget", "ComparisonResult", "FitResult", "draw"]


def draw(render: Callable[[Path], Figure], path: str | Path | None, overwrite: bool) -> Figure:
    """Return the figure ``render(file)`` draws, written to ``path`` if one is given.

    ``path`` is checked first (an image format matplotlib writes, an existing folder, an
    existing file only with ``overwrite``) and replaced only once the image is complete;
    without a path the image goes to a temporary file that is removed.
    """
    from spin_echo.echo.output import OutputFile, image_formats

    if path is None:
        with tempfile.TemporaryDirectory(prefix="spin-echo-") as folder:
            return render(Path(folder) / "figure.png")
    with OutputFile(path, overwrite=overwrite, option="path", formats=image_formats()) as out:
        return render(out.partial)


def _with_error(value: float, error: float, units: str) -> str:
    from spin_echo.echo.units_format import format_with_error

    return format_with_error(value, error, units)


@dataclass(frozen=True, repr=False)
class AnalysisResult:
    """The analysis ``spin-echo plot`` chooses for a record, as data (:func:`spin_echo.analyse`).

    Attributes
    ----------
    kind
        The analysis (``"stretched"``, ``"hole"``, ``"nutation"``, ...; ``""`` when none fits).
    family
        The protocol family recognised from its structure (``"hahn-echo"``, ...).
    model, formula
        The fitted model and its formula (``""`` without a fit).
    values, errors, units
        Fitted parameters: value and standard error (SI) and unit, by name.
    chi2_reduced, dof
        Reduced chi-square and degrees of freedom (1 by construction when the noise was
        estimated from the residuals, ``sigma_known`` False).
    sigma_known
        True when the fit was weighted with the record's own noise.
    reliable
        False when the fit failed one of its self-checks, or there is no fit.
    reasons
        Why it is not reliable, one phrase each.
    derived
        Quantities computed from the fit (e.g. the calibrated ``full_scale_rabi``).
    notes
        Sign conventions, labels and what the analysis did.
    record
        The record analysed.
    analysis
        The :class:`~spin_echo.echo.analysis.record_analysis.RecordAnalysis` (None: no fit).
    """

    kind: str
    family: str
    model: str
    formula: str
    values: Mapping[str, float]
    errors: Mapping[str, float]
    units: Mapping[str, str]
    chi2_reduced: float
    dof: int
    sigma_known: bool
    reliable: bool
    reasons: tuple[str, ...]
    derived: Mapping[str, Derived]
    notes: tuple[str, ...]
    record: xr.Dataset = field(compare=False)
    analysis: RecordAnalysis | None = field(compare=False)

    def report(self) -> str:
        """Return what ``spin-echo plot`` prints for this analysis."""
        if self.analysis is not None and self.analysis.fit is not None:
            return self.analysis.report()
        lines = [f"no fit ({self.kind or self.family or 'no protocol family recognised'})"]
        return "\n".join(lines + [f"  note: {note}" for note in (*self.reasons, *self.notes)])

    def __repr__(self) -> str:
        return f"AnalysisResult({self.kind or self.family or 'none'})\n{self.report()}"

    def _repr_html_(self) -> str:
        rows = [
            [name, _with_error(self.values[name], self.errors[name], self.units[name])]
            for name in self.values
        ]
        rows += [[name, d.line().split(" = ", 1)[1]] for name, d in self.derived.items()]
        footer = [] if self.reliable else ["UNRELIABLE: " + "; ".join(self.reasons)]
        if self.model:
            footer.append(
                f"reduced chi-square = {self.chi2_reduced:.4g} ({self.dof} dof)"
                if self.sigma_known
                else f"noise estimated from the residuals ({self.dof} dof)"
            )
        caption = f"{self.model}: {self.formula}" if self.model else self.report().split("\n")[0]
        return html_table(
            ["parameter", "value"], rows, caption=caption, footer=[*footer, *self.notes]
        )

    def plot(self, path: str | Path | None = None, *, overwrite: bool = False) -> Figure:
        """Draw the record with its fit, as ``spin-echo plot`` does; return the figure.

        Parameters
        ----------
        path
            Also write the image there (format from the suffix: ``.png``, ``.pdf``, ``.svg``).
        overwrite
            Replace an existing ``path``.
        """
        from spin_echo.echo.plots import (
            plot_decay_fit,
            plot_hole_spectrum,
            plot_record,
            plot_spectrum,
        )
        from spin_echo.echo.plots_mz import plot_mz

        analysis = self.analysis

        def render(image: Path) -> Figure:
            if analysis is not None and analysis.y_name == "m_z":  # a teslameter's held m_z
                return plot_mz(self.record, analysis, image)
            if analysis is None or analysis.fit is None:
                if analysis is not None and analysis.kind == "spectrum":
                    return plot_spectrum(self.record, image)
                return plot_record(self.record, image)
            if analysis.kind == "hole":
                return plot_hole_spectrum(analysis.fit, image, y_units=analysis.y_units,
                                          x_name=analysis.x_name, notes=analysis.notes)  # fmt: skip
            return plot_decay_fit(analysis.fit, image, x_name=analysis.x_name,
                                  x_units=analysis.x_units, y_units=analysis.y_units,
                                  notes=analysis.notes,
                                  derived=[d.line() for d in analysis.derived])  # fmt: skip

        return draw(render, path, overwrite)


@dataclass(frozen=True, repr=False)
class ComparisonResult:
    """A measured record against a simulated one (:func:`spin_echo.compare`).

    Attributes
    ----------
    scale, scale_error
        The complex factor applied to the simulation (gain and receiver phase) and the
        standard error of its real and imaginary parts.
    chi2_reduced, dof, independent
        Reduced chi-square, its degrees of freedom, and the number of independent values the
        correlated noise amounts to (a good model gives ``1 +- sqrt(2 / independent)``).
    rms_residual, relative_residual
        ``sqrt(mean |m - c s|^2)`` (units of the measurement) and ``||m - c s|| / ||m||``.
    noise_sigma, noise_source
        Noise per quadrature of the measured signal and where it came from.
    names
        The names of the two records in the report.
    reliable, reasons
        Whether the reduced chi-square lies in the band the noise allows, and why not (the
        report's ``UNRELIABLE`` line; :attr:`~spin_echo.echo.analysis.compare.Comparison.health`).
    comparison
        The :class:`~spin_echo.echo.analysis.compare.Comparison` (aligned signals, residual,
        the mismatch at every sweep point).
    """

    scale: complex
    scale_error: float
    chi2_reduced: float
    dof: int
    independent: float
    rms_residual: float
    relative_residual: float
    noise_sigma: float
    noise_source: str
    names: tuple[str, str]
    reliable: bool
    reasons: tuple[str, ...]
    comparison: Comparison = field(compare=False)

    def report(self) -> str:
        """Return what ``spin-echo compare`` prints."""
        from spin_echo.echo.cli.compare import report

        return report(self.comparison, self.names)

    def __repr__(self) -> str:
        return f"ComparisonResult\n{self.report()}"

    def _repr_html_(self) -> str:
        import numpy as np

        rows = [
            ["scale |c|", f"{abs(self.scale):.6g} ± {self.scale_error:.2g}"],
            ["scale arg c", f"{np.degrees(np.angle(self.scale)):.3f} deg"],
            ["rms residual", f"{self.rms_residual:.4g}"],
            ["relative residual", f"{100 * self.relative_residual:.3g} %"],
            ["noise sigma", f"{self.noise_sigma:.4g} ({self.noise_source})"],
            [
                "reduced chi-square",
                f"{self.chi2_reduced:.4g} (1 ± {np.sqrt(2.0 / self.independent):.2g} expected)",
            ],
        ]
        caption = f"{self.names[0]} (measured) against {self.names[1]} (simulated)"
        footer = [] if self.reliable else ["UNRELIABLE: " + "; ".join(self.reasons)]
        return html_table(["quantity", "value"], rows, caption=caption, footer=footer)

    def plot(self, path: str | Path | None = None, *, overwrite: bool = False) -> Figure:
        """Overlay both records, residuals below (``spin-echo compare --plot``); return it.

        Parameters
        ----------
        path
            Also write the image there (format from the suffix).
        overwrite
            Replace an existing ``path``.
        """
        from spin_echo.echo.plots import plot_compare
        from spin_echo.echo.plots_mz import plot_mz_compare

        render = plot_mz_compare if self.comparison.quantity == "mz" else plot_compare
        return draw(lambda image: render(self.comparison, image), path, overwrite)


@dataclass(frozen=True, repr=False)
class FitResult:
    """Sample parameters fitted to a measured record (:func:`spin_echo.fit`).

    Attributes
    ----------
    sample
        The sample at the fitted values (save it with :func:`spin_echo.save`).
    values, errors, units
        Fitted value and standard error (SI; energies in Hz) and unit, by dotted sample key.
    covariance, correlation
        Covariance and correlation matrices of the values, in the order of ``values``.
    chi2_reduced, dof
        Reduced chi-square and degrees of freedom.
    scale
        The complex factor applied to the simulation (1 when not fitted).
    noise_sigma, noise_source
        Noise per quadrature that normalised the residuals, and where it came from.
    evaluations, converged
        Simulations of the whole record, and False when the fit stopped at the limit.
    reliable, reasons
        Whether the fit passed its self-checks, and why not (``spin-echo fit`` prints them as
        ``UNRELIABLE: ...``; :mod:`spin_echo.echo.analysis.health`).
    fit
        The :class:`~spin_echo.echo.analysis.fit_sample.SampleFit`.
    """

    sample: Sample
    values: Mapping[str, float]
    errors: Mapping[str, float]
    units: Mapping[str, str]
    covariance: np.ndarray = field(compare=False)
    correlation: np.ndarray = field(compare=False)
    chi2_reduced: float
    dof: int
    scale: complex
    noise_sigma: float
    noise_source: str
    evaluations: int
    converged: bool
    reliable: bool
    reasons: tuple[str, ...]
    fit: SampleFit = field(compare=False)

    def to_yaml(self, *, record: str = "the measured record") -> str:
        """Return the fitted sample's YAML with the errors and correlations as comments.

        Parameters
        ----------
        record
            How the header comment names the measured record.
        """
        return self.fit.to_yaml(record=record)

    def report(self) -> str:
        """Return what ``spin-echo fit`` prints."""
        lines = [f"fit of sample {self.sample.name}: {self.evaluations} evaluations"]
        if not self.converged:
            lines.append("  not converged within the evaluation limit (max_evaluations)")
        lines += [
            f"  {key} = {_with_error(value, self.errors[key], self.units[key])}"
            for key, value in self.values.items()
        ]
        lines.append(f"  reduced chi-square = {self.chi2_reduced:.4g} ({self.dof} dof)")
        lines.append(f"  noise sigma = {self.noise_sigma:.4g} per quadrature ({self.noise_source})")
        if not self.reliable:
            lines.append("  UNRELIABLE: " + "; ".join(self.reasons))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"FitResult\n{self.report()}"

    def _repr_html_(self) -> str:
        rows = [
            [key, _with_error(value, self.errors[key], self.units[key])]
            for key, value in self.values.items()
        ]
        footer = [
            f"reduced chi-square = {self.chi2_reduced:.4g} ({self.dof} dof); "
            f"{self.evaluations} evaluations" + ("" if self.converged else ", not converged")
        ]
        if not self.reliable:
            footer.append("UNRELIABLE: " + "; ".join(self.reasons))
        caption = f"fit of sample {self.sample.name}"
        return html_table(["sample key", "fitted value"], rows, caption=caption, footer=footer)


@dataclass(frozen=True, repr=False)
class Budget:
    """The paper's decoherence budget of a sample (:func:`spin_echo.budget`).

    Attributes
    ----------
    sample
        The sample's name.
    rows
        One :class:`~spin_echo.simulator.budget.table.BudgetRow` per quantity: ``quantity``,
        ``equation`` (where the paper has it), ``value`` (SI), ``unit``, ``criterion``,
        ``verdict``.
    conclusion
        The overall verdict: what blocks coherence, else what is marginal, else visible.
    """

    sample: str
    rows: tuple[BudgetRow, ...]
    conclusion: str

    def table(self) -> str:
        """Return the table ``spin-echo budget`` prints."""
        from spin_echo.simulator.budget.table import Budget as Rows
        from spin_echo.simulator.budget.table import format_budget

        return format_budget(Rows(self.sample, self.rows))

    def to_dict(self) -> dict[str, Any]:
        """Return the budget as JSON-ready data (``spin-echo budget --json``)."""
        return {
            "sample": self.sample,
            "rows": [row.to_dict() for row in self.rows],
            "conclusion": self.conclusion,
        }

    def __repr__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        header = ["quantity", "paper", "value", "criterion", "verdict"]
        rows = [
            [
                row.quantity,
                row.equation,
                "-" if row.value != row.value else f"{row.value:.3g} {row.unit}".strip(),
                row.criterion,
                row.verdict,
            ]
            for row in self.rows
        ]
        caption = f"decoherence budget of sample '{self.sample}' (Prokof'ev & Stamp 1995)"
        return html_table(header, rows, caption=caption, footer=[f"conclusion: {self.conclusion}"])

    def summary(self) -> str:
        """Return the rows with a verdict and the conclusion, as a short text table."""
        chosen = [r for r in self.rows if r.verdict != "-"]
        rows = [[r.quantity, f"{r.value:.3g} {r.unit}".strip(), r.verdict] for r in chosen]
        table = text_table(["quantity", "value", "verdict"], rows)
        return f"{table}\nconclusion: {self.conclusion}"
