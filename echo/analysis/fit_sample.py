r"""Fit sample parameters to a measured record by re-running the simulator.

The record carries its protocol (YAML text); every evaluation simulates each written sweep point
and phase step of that protocol on the sample with the trial parameters, combines the phase
cycle, and compares with the measured signal:

.. math::
    r(\theta) = \frac{m - c(\theta)\, s(\theta)}{\sigma}, \qquad
    c(\theta) = \frac{\sum \bar{s} m}{\sum |s|^2}

The complex scale ``c`` (instrument gain and receiver phase) is profiled out at every
evaluation (variable projection; ``fit_scale=False`` fixes ``c = 1`` when both records are in
the simulator's normalised units). ``sigma`` is the measured record's noise per quadrature
(:func:`spin_echo.echo.analysis.noise.record_noise`: the shot-to-shot standard error where the
record stores it)
unless given. ``frame="lab"`` simulates without the rotating-wave approximation, as the
virtual bench plays the sample (exact lab-frame propagation); the default rotating frame is
faster but differs from it by a few per cent where the Rabi frequency is not small against the
carrier, which biases a fit to a lab-frame measurement.

Common random numbers: every evaluation uses the same seed and packet count, so the ensemble
(and any stochastic bias trajectory) is the same draw, and the objective is a smooth function of
the parameters that finite differences can differentiate.

Bounds from physics (:mod:`spin_echo.echo.analysis.fit_parameters`): positive quantities are
fitted as ``log(theta/theta_0)``, bias offsets linearly, ``orientation.theta`` in [0, pi],
every key within its physical range and the sample's relations (``T2 <= 2 T1``, ...), so every
trial is a sample the simulator accepts; integer keys and the spin cannot be fitted. Standard
errors come from the Gauss-Newton
covariance of the normalised residuals at the optimum, corrected for the noise correlation
``R`` along time that the receiver introduces
(:func:`spin_echo.echo.analysis.noise.correlation_matrix`): the
sandwich ``A^-1 (J^T R J) A^-1`` with ``A = J^T J`` per trace (least squares that ignores the
correlation is unbiased, but ``A^-1`` alone would understate the errors by about the square
root of the number of samples per correlation time). They assume the noise estimate; when
the reduced chi-square is well above 1 the model does not describe the data and the errors are
too small by about ``sqrt(chi2)``. The fit stops when an iteration lowers the
chi-square by less than 1e-5 of itself (for a good fit, a step well below one standard error).

Every fit checks itself before its numbers are shown (:attr:`SampleFit.health`, the checks of
:mod:`spin_echo.echo.analysis.health`): a value at a bound or still at its start, an error
larger than a positive value or below what noisy data can determine, a reduced chi-square
outside its 99.99 % band — at the effective number of independent values of the correlated
noise, not the number of samples —, a chi-square that is not quadratic within a parameter's
error (:func:`~spin_echo.echo.analysis.health.check_quadratic`, two more evaluations per
parameter) and a fit stopped before it converged make it ``UNRELIABLE: <reasons>``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from spin_echo.echo.analysis.extraction import record_signal, sweep_dims
from spin_echo.echo.analysis.fit_parameters import FitError, FreeParameter, free_parameter
from spin_echo.echo.analysis.fit_yaml import annotate_sample_yaml, unit_of_key
from spin_echo.echo.analysis.health import FitHealth, check_fit, check_quadratic
from spin_echo.echo.analysis.mz import held_mz
from spin_echo.echo.analysis.noise import (
    correlate,
    correlation_sum,
    receiver_bandwidth_hz,
    record_noise,
)
from spin_echo.echo.record_info import record_info
from spin_echo.echo.runs.simulation import MapFunction, StepsJob, simulate_steps
from spin_echo.sequences.errors import InputError
from spin_echo.simulator import Sample
from spin_echo.simulator.simulation import compile_point

__all__ = ["FitError", "FreeParameter", "RecordModel", "SampleFit", "fit_sample", "free_parameter"]

#: Largest ratio of the record's largest value to the noise: beyond it chi-square overflows.
_MAX_SIGNAL_TO_NOISE = 1e100


class RecordModel:
    """Simulate a record's protocol on a sample: one complex signal per written sweep point.

    Parameters
    ----------
    dataset
        The measured record (its ``protocol`` attribute and grid are used).
    seed, packets
        Fixed for every evaluation (common random numbers).
    frame
        ``"rotating"`` or ``"lab"`` (:func:`simulator.simulate`).
    map_function
        An ordered ``map`` over the sweep points (the builtin, or an executor's ``map`` to
        evaluate them in parallel); the result does not depend on it.
    """

    def __init__(
        self,
        dataset: xr.Dataset,
        *,
        seed: int | None,
        packets: int | None,
        frame: str = "rotating",
        map_function: MapFunction = map,
    ) -> None:
        self.map_function = map_function
        info = record_info(dataset)
        if info.protocol_text is None:
            raise FitError("the record has no protocol attribute to re-run", key="protocol")
        if held_mz(dataset):  # the model below is the demodulated signal, not m_z
            raise FitError("a teslameter's record holds m_z, which fit does not model yet; "
                           "compare it with a simulation's mz (spin-echo compare)",
                           file=info.file, key="signal_kind", value="held_mz")  # fmt: skip
        protocol = info.protocol
        dims = sweep_dims(dataset)
        names = tuple(axis.name for axis in protocol.sweep_axes)
        if names != dims:
            raise FitError(
                f"the record's sweep axes {list(dims)} are not its protocol's {list(names)}",
                key="sweep",
            )
        for axis in protocol.sweep_axes:
            if not np.allclose(axis.values, dataset[axis.name].values, rtol=1e-9, atol=0):
                raise FitError("record coordinates differ from the protocol's sweep", key=axis.name)
        signal = record_signal(dataset)
        self.written = np.isfinite(signal.values).all(axis=-1)
        self.measured = signal.values[self.written]
        self.seed = seed
        self.packets = packets
        self.frame = frame
        self.phase_cycle = protocol.phase_cycle
        self.timelines = []
        for index, values in protocol.iter_points():
            if not self.written[index]:
                continue
            steps = compile_point(protocol, values)
            if steps[0].detect_times_s.size != signal.sizes["time"]:
                raise FitError(
                    f"the protocol detects {steps[0].detect_times_s.size} points per sweep "
                    f"point, the record holds {signal.sizes['time']}",
                    key="time",
                )
            self.timelines.append(steps)

    def __call__(self, sample: Sample) -> np.ndarray:
        """Return the simulated signal at every written point, shape ``(points, time)``.

        Every point goes through :func:`spin_echo.echo.runs.simulation.simulate_steps` (the
        one sweep-point path) with ``map_function``; the worker's packets are prepared once and
        shared between trials that draw the same ensemble
        (:meth:`simulator.simulation.Simulation.with_sample`).
        """
        jobs = [
            StepsJob(sample, self.seed, self.packets, self.frame, steps, self.phase_cycle)
            for steps in self.timelines
        ]
        return np.array([point.signal for point in self.map_function(simulate_steps, jobs)])


@dataclass(frozen=True)
class SampleFit:
    """Result of :func:`fit_sample`.

    Attributes
    ----------
    sample
        The sample at the fitted values.
    parameters
        The free parameters (keys, starts, bounds).
    values, errors
        Fitted values and standard errors in SI.
    correlation
        Correlation matrix of the fitted values.
    scale
        Complex factor applied to the simulation (1 when not fitted).
    chi2_reduced, dof
        Reduced chi-square and degrees of freedom (2 N - 2 - p with the scale fitted).
    noise_sigma
        Noise per quadrature used to normalise the residuals.
    noise_source
        How ``noise_sigma`` was obtained.
    evaluations
        Number of simulations of the whole record.
    converged
        False when the fit stopped at ``max_evaluations``.
    health
        The fit's self-checks (:func:`spin_echo.echo.analysis.health.check_fit`, the chi-square
        band at the effective degrees of freedom of the correlated noise, and convergence):
        ``health.line()`` is ``"UNRELIABLE: ..."`` when a check failed.
    """

    sample: Sample
    parameters: tuple[FreeParameter, ...]
    values: np.ndarray
    errors: np.ndarray
    correlation: np.ndarray
    scale: complex
    chi2_reduced: float
    dof: int
    noise_sigma: float
    noise_source: str
    evaluations: int
    converged: bool
    health: FitHealth = field(default_factory=FitHealth)

    def to_yaml(self, *, record: str = "the measured record") -> str:
        """Return the fitted sample YAML, with the uncertainties as comments."""
        return annotate_sample_yaml(
            self.sample.to_yaml(),
            keys=[p.key for p in self.parameters],
            values=self.values,
            errors=self.errors,
            correlation=self.correlation,
            header=[
                f"fitted by spin-echo fit against {record}",
                f"complex scale |c| = {abs(self.scale):.6g}, "
                f"arg c = {np.degrees(np.angle(self.scale)):.3f} deg",
                f"reduced chi-square = {self.chi2_reduced:.4g} ({self.dof} dof), "
                f"noise sigma = {self.noise_sigma:.4g} per quadrature ({self.noise_source}), "
                f"{self.evaluations} evaluations"
                + ("" if self.converged else " (stopped before converging)"),
                *self.health.lines(),
            ],
        )


def fit_sample(
    dataset: xr.Dataset,
    sample: Sample,
    free: Sequence[str],
    *,
    seed: int | None = None,
    packets: int | None = None,
    noise_sigma: float | None = None,
    fit_scale: bool = True,
    frame: str = "rotating",
    max_evaluations: int = 200,
    progress: TextIO | None = None,
    map_function: MapFunction = map,
) -> SampleFit:
    """Adjust the ``free`` sample keys by least squares against a measured record.

    Parameters
    ----------
    dataset
        The measured record.
    sample
        The sample; its values of the free keys are the starting point.
    free
        Dotted sample keys to fit, e.g. ``["relaxation.T2", "bias.width"]``.
    seed, packets
        Seed and packet count of every simulation (the sample's when None).
    noise_sigma
        Noise per quadrature of the measured signal; estimated from it when None.
    fit_scale
        Profile out a complex scale factor (gain and phase); else ``c = 1``.
    frame
        Simulation frame, ``"rotating"`` (RWA) or ``"lab"`` (exact, as the virtual bench).
    max_evaluations
        Largest number of record simulations.
    progress
        Stream for one line per evaluation (default ``sys.stderr``, only if a terminal).
    map_function
        Ordered ``map`` over the sweep points of an evaluation (an executor's ``map`` runs
        them in parallel; :class:`RecordModel`).

    Returns
    -------
    SampleFit
        Fitted sample, values, standard errors, correlations and goodness of fit.
    """
    if not free:
        raise FitError("name at least one sample key to fit", key="--free")
    if len(set(free)) != len(free):
        raise FitError("names a key twice", key="--free", value=",".join(free))
    parameters = tuple(free_parameter(sample, key) for key in free)
    if frame not in ("rotating", "lab"):
        raise FitError("must be 'rotating' or 'lab'", key="--frame", value=frame)
    model = RecordModel(
        dataset,
        seed=sample.seed if seed is None else seed,
        packets=packets,
        frame=frame,
        map_function=map_function,
    )
    measured = model.measured
    if noise_sigma is None:
        estimate = record_noise(dataset)
        sigma, source = estimate.sigma, estimate.source
    elif not (np.isfinite(noise_sigma) and noise_sigma > 0):
        raise FitError("must be a positive number", key="noise", value=noise_sigma)
    else:
        sigma, source = float(noise_sigma), "given"
    if sigma <= 0:
        raise FitError("the measured record is noise-free: give the noise (--noise)", key="noise")
    stream = sys.stderr if progress is None else progress
    show = bool(getattr(stream, "isatty", lambda: False)())
    state = {"evaluations": 0, "scale": 1.0 + 0j}

    largest = float(np.max(np.abs(measured), initial=0.0))
    if largest / sigma > _MAX_SIGNAL_TO_NOISE:
        raise FitError(
            f"is {sigma:.3g}, below {1 / _MAX_SIGNAL_TO_NOISE:.0e} of the record's largest value "
            f"{largest:.3g}: the chi-square would overflow",
            key="noise",
            value=sigma,
        )

    def trial(q: np.ndarray) -> Sample:
        values = {p.key: p.to_value(x) for p, x in zip(parameters, q, strict=True)}
        shown = ", ".join(f"{key} = {value:.6g}" for key, value in values.items())
        if not all(np.isfinite(list(values.values()))):
            raise FitError(f"the search diverged ({shown})", key="--free", value=",".join(free))
        try:
            return sample.with_overrides(values)
        except InputError as err:  # a relation the bounds do not hold: say so, not "--set"
            raise FitError(
                f"the search reached {shown}, which the sample refuses: {err.message}",
                key="--free",
                value=",".join(free),
            ) from None

    def residuals(q: np.ndarray) -> np.ndarray:
        simulated = model(trial(q))
        scale = 1.0 + 0j
        if fit_scale:
            norm = float(np.sum(np.abs(simulated) ** 2))
            scale = complex(np.sum(np.conj(simulated) * measured) / norm) if norm else 0j
        r = ((measured - scale * simulated) / sigma).ravel()
        if not np.all(np.isfinite(r)):
            raise FitError(
                "the normalised residuals are not finite (the simulated signal or the record "
                "holds values beyond double precision)",
                key="noise",
                value=sigma,
            )
        state["evaluations"] += 1
        state["scale"] = scale
        if show:
            shown = ", ".join(
                f"{p.key} = {p.to_value(x):.6g} {unit_of_key(p.key)}"
                for p, x in zip(parameters, q, strict=True)
            )
            chi2 = float(np.sum(np.abs(r) ** 2)) / max(2 * r.size - 2 - len(q), 1)
            stream.write(
                f"fit: evaluation {state['evaluations']}: {shown}, chi2/dof = {chi2:.4g}\n"
            )
            stream.flush()
        return np.concatenate([r.real, r.imag])

    lower, upper = zip(*(p.internal_bounds() for p in parameters), strict=True)
    solution = least_squares(
        residuals,
        np.zeros(len(parameters)),
        bounds=(lower, upper),
        diff_step=1e-5,
        ftol=1e-5,
        xtol=1e-8,
        max_nfev=max_evaluations,
    )
    q = solution.x
    final = residuals(q)
    dof = final.size - len(q) - (2 if fit_scale else 0)
    curvature = solution.jac.T @ solution.jac
    if np.linalg.matrix_rank(curvature) < len(q):
        raise FitError(
            "the record does not constrain these parameters (singular Jacobian); "
            "free fewer or other keys",
            key="--free",
            value=",".join(free),
        )
    inverse = np.linalg.inv(curvature)
    window = dataset["window"].values if "window" in dataset else None
    time_s, bandwidth = dataset["time"].values, receiver_bandwidth_hz(dataset)
    blocks = solution.jac.reshape(-1, len(time_s), len(q))  # (trace, time, parameter)
    along_time = np.moveaxis(blocks, 1, 0)
    smoothed = correlate(along_time.reshape(len(time_s), -1), time_s, bandwidth, window=window)
    middle = np.einsum("tbp,tbk->pk", along_time, smoothed.reshape(along_time.shape))
    covariance_q = inverse @ middle @ inverse
    derivative = np.array([p.derivative(x) for p, x in zip(parameters, q, strict=True)])
    covariance = covariance_q * np.outer(derivative, derivative)
    errors = np.sqrt(np.diag(covariance))
    values = np.array([p.to_value(x) for p, x in zip(parameters, q, strict=True)])
    chi2_reduced = float(np.sum(final**2)) / dof
    # the chi-square band at the effective number of independent values: the receiver
    # correlates the noise along time (N^2 / sum rho^2 per trace, noise.NoiseEstimate)
    squares = correlation_sum(time_s, bandwidth, window=window, squared=True)
    independent = len(blocks) * len(time_s) ** 2 / squares
    keys = [p.key for p in parameters]
    health = check_fit(
        names=keys,
        units=[unit_of_key(p.key) for p in parameters],
        values=values,
        errors=errors,
        start=np.array([p.start for p in parameters]),
        lower=np.array([p.lower for p in parameters]),
        upper=np.array([p.upper for p in parameters]),
        points=max(round(independent) - (2 if fit_scale else 0), 1),
        chi2_reduced=chi2_reduced,
        magnitudes=[p.log for p in parameters],
    )
    scale = state["scale"]
    probes = check_quadratic(residuals, q, curvature, keys, lower, upper, at_optimum=final)
    health = health.with_reasons(*probes)
    state["scale"] = scale  # the optimum's, not the last probe's
    converged = bool(solution.status > 0)
    if not converged:
        health = health.with_reasons(
            f"stopped at the evaluation limit before converging ({state['evaluations']} "
            "simulations)"
        )
    return SampleFit(
        sample=trial(q),
        parameters=parameters,
        values=values,
        errors=errors,
        correlation=covariance / np.outer(errors, errors),
        scale=state["scale"],
        chi2_reduced=chi2_reduced,
        dof=dof,
        noise_sigma=sigma,
        noise_source=source,
        evaluations=state["evaluations"],
        converged=converged,
        health=health,
    )
