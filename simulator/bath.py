r"""The nuclear spin bath of Prokof'ev & Stamp as a generator of two-level packets.

Paper Eq. (4)-(6) write the correlator as an average over biased two-level systems,

.. math::

    P(t) = 1 - \sum_M \int d\epsilon\, \frac{W(\epsilon) e^{-\epsilon/T}}{Z(T)}
           \Big\langle P^{(0)}_M(t, \epsilon - M\omega_o/2) \Big\rangle_{y,\varphi},
    \qquad
    \Delta_M(\varphi, y) = 2\Delta_o\,|\cos\varphi\, J_M(2\sqrt{(\lambda-\lambda')y})| ,

so the bath is sampled as packets:

* **Bias** :math:`W(\epsilon)`: the polarisation :math:`\Delta N = N_\uparrow - N_\downarrow =
  2k - N` of N spin-1/2 nuclei, :math:`k \sim \mathrm{Binomial}(N, 1/2)` (so the envelope is a
  Gaussian of width :math:`N^{1/2}\omega_o`), and inside each group a Gaussian of width
  :math:`\mu\omega_o = N^{1/2}\delta\omega` about :math:`\omega_o\Delta N`. For
  :math:`\mu \ll 1` the groups are separate, for :math:`\mu \gg 1` they overlap; the same
  mixture describes both. The thermal factor :math:`e^{-\epsilon/T_n}` (:math:`T_n` the
  nuclear spin temperature as a frequency, :math:`k_B T_n/h`) multiplies the weight when the
  sample gives ``environment.nuclear.temperature``; without it the nuclear spins are
  unpolarised (the paper's :math:`k_B T \gg \omega_o` limit; nuclear spins rarely reach the
  lattice temperature on the time scale of an experiment).
* **Orthogonality blocking**: :math:`y \sim \mathrm{Exp}(1)`.
* **Topological phase**: the winding sum :math:`\sum_\nu e^{-4\lambda'\nu^2}
  e^{2i\nu(\Phi-\varphi)}` is a wrapped Gaussian, i.e. :math:`\varphi = \Phi +
  \mathcal{N}(0, 2\lambda')` with :math:`\Phi = \pi S`; for :math:`\lambda' = 0` it is
  :math:`\varphi = \Phi`.
* **Channels M**: Eq. (4) *sums* over M (each channel carries the full weight of the grain). A
  packet draws its channel with probability :math:`p_M = \langle J_M^2\rangle_y =
  e^{-2\kappa} I_M(2\kappa)`, :math:`\kappa = \lambda - \lambda'`, and carries the weight
  :math:`1/p_M` in its transition weight (:attr:`Ensemble.channel_weight`); ensemble sums are
  normalised by the weight of the *grains*, and the equilibrium magnetisation counts each
  grain once (through its drawn channel), so m_z stays in [-1, 1].
* **Static or dynamic** (``environment.nuclear.dynamic``): by default the channel, y and
  :math:`\varphi` are drawn once per packet, so topological decoherence is a *static*
  inhomogeneous broadening, which a pi pulse refocuses. In the paper the nuclear spins co-flip
  *when the giant spin flips*: every flip leaves the nuclear bath in a new state. With
  ``dynamic: true`` the ensemble's draw is the channel of the packet's first flip (it carries
  the channel weight :math:`1/p_M` of the sum over M) and every later pulse redraws
  :math:`(M, y, \varphi)` with the same law (:func:`redraw_channels`): the later channel is a
  random outcome of the flip, drawn with probability :math:`p_M`, and changes neither the
  packet's weight nor its nuclear bias, only :math:`\delta` and the shift
  :math:`-M\omega_o/2`. A phase accumulated with :math:`E_M` before a pi pulse is then undone
  with another :math:`E_{M'}` after it; only the packets whose channel is unchanged
  (probability :math:`p_M`) can refocus, so a Hahn echo keeps at most the fraction
  :math:`\sum_M p_M g_M / \sum_M g_M` of its static value (:math:`g_M` the static echo of
  channel M), :math:`\sum_M p_M^2 = e^{-4\kappa} I_0(4\kappa)` when all channels echo
  alike (:func:`same_channel_probability`). The redrawn y and :math:`\varphi` change
  :math:`\Delta_M` and :math:`E_M` even within one channel, so the echo falls below that
  level (measured: about 2% of the static echo at :math:`\kappa = 1` and 10).

Mapping onto the project's Hamiltonian :math:`H/h = 2\delta\tau_x + \epsilon\tau_z`: the
paper's :math:`\Delta_M` is the full off-diagonal coefficient (:math:`E_M^2 = \epsilon^2 +
\Delta_M^2`), so a packet has :math:`\delta = \Delta_M/2 = \Delta_o|\cos\varphi J_M|` and
bias :math:`\epsilon - M\omega_o/2`; then :math:`E = \sqrt{\epsilon^2 + 4\delta^2} = E_M`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_GROUP_TERMS",
    "NuclearBath",
    "bath_log_density",
    "channel_probabilities",
    "cos_pi_spin",
    "draw_bath_bias",
    "draw_splitting",
    "redraw_channels",
    "same_channel_probability",
]

#: Most polarisation groups summed per bias value in :func:`bath_log_density`.
MAX_GROUP_TERMS = 4096
#: Elements of one chunk of that sum (x values times groups): 8 MB per array.
_CHUNK_ELEMENTS = 1 << 20
_TAIL = 1e-14


@dataclass(frozen=True)
class NuclearBath:
    """The nuclear spin bath (paper Eqs. 2-6), energies in Hz.

    ``dynamic``: redraw each packet's channel (M, y, phi) at every flip (:func:`redraw_channels`).
    """

    n_spins: int
    omega0_hz: float
    delta_omega_hz: float = 0.0
    lam: float = 0.0
    lam_prime: float = 0.0
    temperature_k: float | None = None
    dynamic: bool = False

    @property
    def mu(self) -> float:
        r""":math:`\mu = N^{1/2}\delta\omega/\omega_o` (groups overlap when mu >> 1)."""
        return math.sqrt(self.n_spins) * self.delta_omega_hz / self.omega0_hz

    @property
    def group_width_hz(self) -> float:
        r"""Width :math:`\mu\omega_o = N^{1/2}\delta\omega` of one polarisation group, Hz."""
        return math.sqrt(self.n_spins) * self.delta_omega_hz


def channel_probabilities(kappa: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Return channels M and :math:`p_M = e^{-2\kappa} I_M(2\kappa)` (they sum to 1).

    :math:`p_M = \int_0^\infty dy\, e^{-y} J_M(2\sqrt{\kappa y})^2`; channels whose
    probability is below 1e-14 of the total are dropped and the rest renormalised.
    """
    from scipy import special

    if kappa <= 0:
        return np.zeros(1, dtype=int), np.ones(1)
    top = int(2 * kappa + 12 * math.sqrt(2 * kappa + 1) + 12)
    m = np.arange(-top, top + 1)
    p = special.ive(m, 2.0 * kappa)
    keep = p > _TAIL * p.max()
    m, p = m[keep], p[keep]
    return m, p / p.sum()


def draw_splitting(
    rng: np.random.Generator, delta0_hz: np.ndarray, bath: NuclearBath, spin: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Draw the channel, y and phase of each packet; return (delta_hz, M, log p_M).

    .. math:: \delta = \Delta_o\,|\cos\varphi\, J_M(2\sqrt{(\lambda-\lambda') y})|

    Parameters
    ----------
    rng
        Random generator.
    delta0_hz
        Bare tunnelling amplitude :math:`\Delta_o` of each packet, Hz.
    bath
        The nuclear bath (lambda, lambda').
    spin
        Giant spin S (:math:`\Phi = \pi S`); None means :math:`\Phi = 0`.
    """
    from scipy import special

    n = len(delta0_hz)
    channels, probs = channel_probabilities(bath.lam - bath.lam_prime)
    index = rng.choice(len(channels), size=n, p=probs)
    m = channels[index]
    y = rng.exponential(1.0, n)
    if bath.lam_prime > 0:
        phase = math.pi * ((spin or 0.0) % 2.0)
        cos_phi = np.cos(phase + math.sqrt(2.0 * bath.lam_prime) * rng.standard_normal(n))
    else:
        cos_phi = np.full(n, cos_pi_spin(spin))
    j = special.jv(m, 2.0 * np.sqrt((bath.lam - bath.lam_prime) * y))
    return delta0_hz * np.abs(cos_phi * j), m, np.log(probs[index])


def same_channel_probability(kappa: float) -> float:
    r"""Return :math:`\sum_M p_M^2 = e^{-4\kappa} I_0(4\kappa)`: two independent draws agree.

    (From :math:`\sum_M I_M(x)^2 = I_0(2x)`.) Computed from :func:`channel_probabilities`, so
    it is the value for the bath's own (truncated) channel list.
    """
    _, probs = channel_probabilities(kappa)
    return float(np.sum(probs * probs))


def redraw_channels(
    rng: np.random.Generator,
    delta0_hz: np.ndarray,
    base_bias_hz: np.ndarray,
    bath: NuclearBath,
    spin: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw a new :math:`(M, y, \varphi)` per packet; return its (delta_hz, epsilon_hz).

    The law is that of :func:`draw_splitting`; the bias is ``base_bias_hz`` minus
    :math:`M\omega_o/2`. ``delta0_hz`` and ``base_bias_hz`` are what the ensemble drew and
    stored (:attr:`simulator.ensemble.Ensemble.bare_delta_hz` and
    :attr:`~simulator.ensemble.Ensemble.base_bias_hz`).
    """
    delta, channel, _ = draw_splitting(rng, delta0_hz, bath, spin)
    return delta, base_bias_hz - channel * bath.omega0_hz / 2.0


def cos_pi_spin(spin: float | None) -> float:
    r"""Return :math:`\cos\pi S` exactly (1, -1 or 0) for S a multiple of 1/2; 1 when None."""
    if spin is None:
        return 1.0
    twice = round(2 * spin) % 4
    return (1.0, 0.0, -1.0, 0.0)[twice]


def _log_binomial(n_spins: int, k: np.ndarray) -> np.ndarray:
    from scipy import special

    return (
        special.gammaln(n_spins + 1.0)
        - special.gammaln(k + 1.0)
        - special.gammaln(n_spins - k + 1.0)
        - n_spins * math.log(2.0)
    )


def bath_log_density(bath: NuclearBath, x_hz: np.ndarray) -> np.ndarray:
    r"""Return :math:`\ln W(x)` of the nuclear bias density (1/Hz).

    .. math::

        W(\epsilon) = \sum_{k=0}^{N} \binom{N}{k} 2^{-N}
        \frac{e^{-(\epsilon - \omega_o(2k-N))^2 / 2s^2}}{\sqrt{2\pi}\,s},
        \qquad s = \mu\omega_o = N^{1/2}\delta\omega > 0 .

    Only the groups within 9 s of x, and within :math:`20\sqrt N` of the binomial's centre
    (beyond it a binomial weight is below :math:`e^{-800}` of the largest), contribute above
    double precision; they are summed exactly, in chunks of the x values that bound the memory,
    when they number at most :data:`MAX_GROUP_TERMS`. More only when the groups overlap
    densely (:math:`s > 455\,\omega_o`) *and* the binomial is wide (:math:`N > 10^4`): then
    the lattice sum equals its integral to :math:`e^{-2\pi^2 (s/2\omega_o)^2}` (Poisson
    summation) and the binomial its Gaussian limit to :math:`O(1/N)`, so W is the Gaussian of
    variance :math:`s^2 + N\omega_o^2` (measured against the full sum at :math:`N = 2\times10^4` and
    :math:`10^5`: within :math:`2.6\times10^{-6}` in ln W over three standard deviations,
    :math:`7.4\times10^{-5}` at six; this is what keeps a bath of :math:`10^{12}` spins, or an
    :math:`\omega_o` of 1 µHz, from asking for terabytes).
    """
    s = bath.group_width_hz
    if s <= 0:
        raise ValueError("the nuclear bias has no density when delta_omega = 0")
    x = np.asarray(x_hz, dtype=float)
    n = bath.n_spins
    reach = math.ceil(9.0 * s / (2.0 * bath.omega0_hz)) + 1
    half = math.ceil(20.0 * math.sqrt(n)) + 1
    lo, hi = max(0, n // 2 - half), min(n, n // 2 + half)
    terms = min(2 * reach + 1, hi - lo + 1)
    if terms > MAX_GROUP_TERMS:
        variance = s * s + n * bath.omega0_hz**2
        return -0.5 * x * x / variance - 0.5 * math.log(2.0 * math.pi * variance)
    flat = x.reshape(-1)
    out = np.empty(flat.shape)
    size = max(1, _CHUNK_ELEMENTS // terms)
    for start in range(0, len(flat), size):
        out[start : start + size] = _group_sum(bath, flat[start : start + size], reach, lo, hi)
    return out.reshape(x.shape)


def _group_sum(bath: NuclearBath, x: np.ndarray, reach: int, lo: int, hi: int) -> np.ndarray:
    """:func:`bath_log_density` of a 1-d ``x``: the groups ``lo..hi`` within ``reach`` of x."""
    from scipy import special

    s, n = bath.group_width_hz, bath.n_spins
    if 2 * reach + 1 <= hi - lo + 1:
        nearest = np.clip(np.rint((x / bath.omega0_hz + n) / 2.0), 0, n)
        k = nearest[:, None] + np.arange(-reach, reach + 1)
        valid = (k >= 0) & (k <= n)
        k = np.clip(k, 0, n)
        weight = np.where(valid, _log_binomial(n, k), -np.inf)
    else:  # every group of the binomial's window, the same for every x
        k = np.arange(lo, hi + 1, dtype=float)
        weight = _log_binomial(n, k)
    z = (x[:, None] - bath.omega0_hz * (2.0 * k - n)) / s
    return special.logsumexp(weight - 0.5 * z * z, axis=-1) - math.log(math.sqrt(2.0 * math.pi) * s)


def draw_bath_bias(rng: np.random.Generator, bath: NuclearBath, n: int) -> np.ndarray:
    """Draw ``n`` nuclear biases from W (Hz): binomial polarisation plus the group spread."""
    k = rng.binomial(bath.n_spins, 0.5, n)
    return bath.omega0_hz * (2.0 * k - bath.n_spins) + bath.group_width_hz * rng.standard_normal(n)
