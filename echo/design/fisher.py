r"""Predicted standard error of a sample parameter: Fisher information of the recorded signal.

``spin-echo fit`` adjusts sample keys by least squares against the *full complex trace* of a
record (every written sweep point, every detection time, both quadratures), with one complex
scale ``c`` (gain and receiver phase) profiled out (:mod:`spin_echo.echo.analysis.fit_sample`).
The prediction here is for that estimator and that data. With the model signal
:math:`s_{kt}(\theta)` (point ``k``, time ``t``, phase cycle combined, simulated as ``fit``
simulates it), the columns of the design matrix are, in the real representation
:math:`v \mapsto (\mathrm{Re}\, v, \mathrm{Im}\, v)`,

.. math::
    X = \Big[\frac{\partial s}{\partial\theta_1}, \dots, \frac{\partial s}{\partial\theta_p},
    \; s, \; i s\Big],

the last two being the derivatives with respect to :math:`\mathrm{Re}\,c` and
:math:`\mathrm{Im}\,c` at :math:`c = 1` (omitted with ``fit_scale=False``). With the noise
per quadrature :math:`\sigma` of one recorded value, white noise has the Fisher information
:math:`F = X^T X / \sigma^2` and the Cramér–Rao bound :math:`\sqrt{(F^{-1})_{ii}}`, which least
squares attains. The receiver correlates the noise along time (correlation :math:`\rho`,
:func:`spin_echo.echo.analysis.noise.correlation_matrix`; windows and quadratures
independent; its products by :func:`~spin_echo.echo.analysis.noise.correlate`, never the
N x N matrix), and ``fit`` does not whiten it, so the standard error of its estimate is the
sandwich

.. math:: C = F^{-1}\, \frac{X^T R X}{\sigma^2}\, F^{-1},

``R`` block-diagonal with :math:`\rho` for each trace: the same formula ``fit`` reports its
errors with, evaluated at the truth instead of at a noisy optimum. It reduces to the
Cramér–Rao bound when the noise is white; it is the prediction ``design`` gives (the
:class:`ErrorPrediction` keeps both). The scale parameters are nuisances: the block of the
sample keys is taken from the full inverse, so their uncertainty widens the result as it
widens a fit's.

Derivatives are central differences in ``fit``'s own coordinates
(:func:`spin_echo.echo.analysis.fit_sample.free_parameter`: ``log(theta/theta_0)`` for
positive quantities, steps of :math:`|\theta_0|` for bias offsets) with the *same packets* at
every evaluation (common random numbers: the same seed and packet count), so the simulated
signal is a smooth deterministic function of the parameter and the difference quotient
converges as :math:`h^2` until rounding (about :math:`10^{-16}/h`). The default step
:math:`h = 10^{-3}` sits between the two; :attr:`Derivative.convergence` compares it with
the quotient at :math:`2h` (their difference is three times the truncation error of the
first) so that every prediction states how well its derivative is converged.

The noise is per recorded value, for the protocol's shots; averaging ``n`` times as many
shots divides it by :math:`\sqrt n`, and the predicted error with it
(:meth:`ErrorPrediction.scaled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from spin_echo.echo.analysis.fit_sample import FreeParameter, free_parameter
from spin_echo.echo.analysis.noise import correlate
from spin_echo.echo.record import record_time_axis
from spin_echo.echo.runs.simulation import MapFunction, StepsJob, simulate_steps
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol
from spin_echo.simulator import Sample
from spin_echo.simulator.simulation import compile_point

__all__ = [
    "DEFAULT_STEP",
    "Derivative",
    "ErrorPrediction",
    "ProtocolSignal",
    "predict_errors",
    "signal_derivative",
    "target_parameter",
]

#: Central-difference step in ``fit``'s internal coordinate (relative for positive keys).
DEFAULT_STEP = 1e-3


def target_parameter(sample: Sample, key: str, *, option: str = "--target") -> FreeParameter:
    """Return ``fit``'s description of a sample key, or an input error naming ``option``.

    The key is checked exactly as ``spin-echo fit --free`` checks it
    (:func:`spin_echo.echo.analysis.fit_sample.free_parameter`: a numeric sample key that
    the sample sets, not a whole number, positive where it is a positive quantity).

    Parameters
    ----------
    sample
        The sample (its value is the point where the derivative is taken).
    key
        Dotted sample key, e.g. ``"relaxation.T2"``.
    option
        The option that named the key, for the message.

    Raises
    ------
    InputError
        With ``key=option`` and ``value=key``: not a numeric sample key (the message lists
        the known ones), absent from the sample, a whole number, or not positive.
    """
    try:
        return free_parameter(sample, key)
    except InputError as err:
        raise InputError(
            err.message,
            file=err.file if err.file != "--set" else None,
            key=option,
            value=key,
        ) from None


class ProtocolSignal:
    """The signal ``fit`` compares with a record of ``protocol``, simulated on a sample.

    Every sweep point of the protocol (all of them are written in a complete record) is
    compiled once; a call simulates them through
    :func:`spin_echo.echo.runs.simulation.simulate_steps`, the path of ``simulate`` and
    ``fit``, with a fixed seed and packet count.

    Parameters
    ----------
    protocol
        The protocol as it would be recorded.
    seed, packets
        The ensemble draw of every evaluation (common random numbers).
    frame
        ``"rotating"`` or ``"lab"`` (use ``"lab"`` for benches, as ``fit --frame lab``).
    map_function
        Ordered ``map`` over the sweep points.

    Attributes
    ----------
    time_s, window
        The record's time axis and window index (:func:`spin_echo.echo.record.record_time_axis`).
    """

    def __init__(
        self,
        protocol: Protocol,
        *,
        seed: int | None,
        packets: int | None,
        frame: str = "lab",
        map_function: MapFunction = map,
    ) -> None:
        self.protocol = protocol
        self.seed = seed
        self.packets = packets
        self.frame = frame
        self.map_function = map_function
        self.timelines = [compile_point(protocol, values) for _, values in protocol.iter_points()]
        self.time_s, self.window = record_time_axis(self.timelines[0][0].detect)

    def __call__(self, sample: Sample) -> np.ndarray:
        """Return the complex signal at every sweep point, shape ``(points, time)``."""
        jobs = [
            StepsJob(sample, self.seed, self.packets, self.frame, steps, self.protocol.phase_cycle)
            for steps in self.timelines
        ]
        return np.array([point.signal for point in self.map_function(simulate_steps, jobs)])


@dataclass(frozen=True)
class Derivative:
    r"""The derivative of the recorded signal with respect to one sample key.

    Attributes
    ----------
    key
        The sample key.
    value
        Its value where the derivative is taken (SI).
    signal
        :math:`\partial s/\partial\theta`, complex, shape ``(points, time)``, per SI unit.
    step
        Central-difference step in the internal coordinate.
    convergence
        :math:`\|D_{2h} - D_h\| / (3 \|D_h\|)`, the estimated relative truncation error of
        ``signal`` (NaN when not checked).
    """

    key: str
    value: float
    signal: np.ndarray
    step: float
    convergence: float


def signal_derivative(
    model: ProtocolSignal,
    sample: Sample,
    parameter: FreeParameter,
    *,
    step: float = DEFAULT_STEP,
    check: bool = True,
) -> Derivative:
    """Differentiate the simulated signal with respect to a sample key (central differences).

    Parameters
    ----------
    model
        The protocol's signal (fixed seed and packets: the same packets at every evaluation).
    sample
        The sample at the point of interest.
    parameter
        The key and its coordinate (:func:`target_parameter`), started at the sample's value.
    step
        Step ``h`` in the internal coordinate (relative for positive quantities).
    check
        Also difference at ``2h`` and report the convergence (two more simulations).

    Returns
    -------
    Derivative
        The derivative per SI unit of the key and its convergence estimate.
    """
    if not (np.isfinite(step) and 0 < step < 0.5):
        raise InputError("must be a number between 0 and 0.5", key="step", value=step)

    def quotient(h: float) -> np.ndarray:
        upper = model(sample.with_overrides({parameter.key: parameter.to_value(h)}))
        lower = model(sample.with_overrides({parameter.key: parameter.to_value(-h)}))
        return (upper - lower) / (2.0 * h * parameter.derivative(0.0))

    first = quotient(step)
    convergence = float("nan")
    if check:
        second = quotient(2.0 * step)
        norm = float(np.linalg.norm(first))
        convergence = float(np.linalg.norm(second - first)) / (3.0 * norm) if norm else np.inf
    return Derivative(parameter.key, parameter.start, first, step, convergence)


@dataclass(frozen=True)
class ErrorPrediction:
    r"""Predicted standard errors of sample keys fitted to a record of a protocol.

    Attributes
    ----------
    keys, values
        The sample keys and their values (SI).
    errors
        Predicted standard errors of ``fit`` (the sandwich with the receiver's correlation).
    bound
        Cramér–Rao bound for white noise of the same size, :math:`\sqrt{(F^{-1})_{ii}}`.
    information
        Fisher information :math:`F = X^T X/\sigma^2` of the sample keys and (with the scale
        fitted) :math:`\mathrm{Re}\,c`, :math:`\mathrm{Im}\,c`, white noise.
    noise_sigma
        Noise per quadrature of one recorded value used.
    shots
        The shots that noise is for.
    convergence
        Relative truncation error of each derivative (:class:`Derivative`).
    """

    keys: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    bound: np.ndarray
    information: np.ndarray
    noise_sigma: float
    shots: int
    convergence: np.ndarray

    def scaled(self, shots: int) -> ErrorPrediction:
        r"""Return the prediction for ``shots`` shots: errors scale as :math:`1/\sqrt{shots}`."""
        if shots < 1:
            raise InputError("must be at least 1", key="shots", value=shots)
        factor = float(np.sqrt(self.shots / shots))
        return replace(
            self,
            errors=self.errors * factor,
            bound=self.bound * factor,
            information=self.information / factor**2,
            noise_sigma=self.noise_sigma * factor,
            shots=int(shots),
        )


def predict_errors(
    protocol: Protocol,
    sample: Sample,
    keys: Sequence[str],
    *,
    noise_sigma: float,
    bandwidth_hz: float | None,
    seed: int | None = None,
    packets: int | None = None,
    frame: str = "lab",
    fit_scale: bool = True,
    step: float = DEFAULT_STEP,
    check: bool = True,
    map_function: MapFunction = map,
) -> ErrorPrediction:
    """Predict the standard errors ``fit`` will give for ``keys`` on a record of ``protocol``.

    Parameters
    ----------
    protocol
        The protocol as it will be recorded (its shots are those of ``noise_sigma``).
    sample
        The sample (true values of the keys).
    keys
        Dotted sample keys, as ``fit --free`` names them.
    noise_sigma
        Noise per quadrature of one recorded value (same units as the simulated signal, i.e.
        normalised magnetisation), for ``protocol.shots`` shots.
    bandwidth_hz
        Receiver bandwidth that correlates the noise along time; None for white noise.
    seed, packets
        Ensemble of every simulation (the sample's when None).
    frame
        Simulation frame (``"lab"`` as for a bench record).
    fit_scale
        The fit profiles out a complex scale (as ``fit`` does unless ``--fixed-scale``).
    step
        Central-difference step (:func:`signal_derivative`).
    check
        Check each derivative's convergence (two more simulations per key).
    map_function
        Ordered ``map`` over the sweep points.

    Returns
    -------
    ErrorPrediction
        Errors, white-noise bound, Fisher information and derivative convergence.

    Raises
    ------
    InputError
        A key that ``fit`` could not free, a non-positive noise, or a protocol whose signal
        does not depend on the keys (singular information).
    """
    if not (np.isfinite(noise_sigma) and noise_sigma > 0):
        raise InputError("must be a positive number", key="noise", value=noise_sigma)
    if not keys:
        raise InputError("name at least one sample key", key="--target")
    parameters = [target_parameter(sample, key) for key in keys]
    model = ProtocolSignal(
        protocol,
        seed=sample.seed if seed is None else seed,
        packets=packets,
        frame=frame,
        map_function=map_function,
    )
    signal = model(sample)
    derivatives = [signal_derivative(model, sample, p, step=step, check=check) for p in parameters]
    # columns per unit of the internal coordinate (relative steps: comparable sizes)
    units = np.array([p.derivative(0.0) for p in parameters] + ([1.0, 1.0] if fit_scale else []))
    columns = [d.signal * p.derivative(0.0) for d, p in zip(derivatives, parameters, strict=True)]
    if fit_scale:
        columns += [signal, 1j * signal]
    # real representation: (re, im) x points x time, one column per parameter
    design = np.stack([np.stack([c.real, c.imag]) for c in columns], axis=-1) / noise_sigma
    flat = design.reshape(-1, len(columns))
    information = flat.T @ flat
    if np.linalg.matrix_rank(information) < len(columns):
        raise InputError(
            "the protocol's signal does not depend on these keys (singular Fisher information)",
            key="--target",
            value=",".join(keys),
        )
    inverse = np.linalg.inv(information)
    # X^T R X trace by trace: rho (Toeplitz per window) times the columns, O(N log N)
    times = design.reshape(-1, len(model.time_s), len(columns)).transpose(1, 0, 2)
    correlated = correlate(times, model.time_s, bandwidth_hz, window=model.window)
    middle = np.einsum("ibp,ibk->pk", times, correlated)
    covariance = inverse @ middle @ inverse
    count = len(parameters)
    return ErrorPrediction(
        keys=tuple(keys),
        values=np.array([p.start for p in parameters]),
        errors=np.sqrt(np.diag(covariance)[:count]) * units[:count],
        bound=np.sqrt(np.diag(inverse)[:count]) * units[:count],
        information=information / np.outer(units, units),
        noise_sigma=float(noise_sigma),
        shots=int(protocol.shots),
        convergence=np.array([d.convergence for d in derivatives]),
    )
