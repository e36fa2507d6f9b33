"""The decoherence budget of a sample: the paper's question, asked of one sample.

Prokof'ev & Stamp (1995) list what keeps a magnetic grain from showing coherent tunnelling:
degeneracy blocking by the nuclear bias field (the fraction A that can flip), co-flipping
nuclei (``lambda``, topological decoherence and orthogonality blocking), nuclear spin diffusion
(Eq. 8), conduction electrons (Eqs. 10-11) and phonons (Eq. 12).  :func:`decoherence_budget`
evaluates each closed form of :mod:`simulator.budget.closed_forms` for one sample and returns rows
of
(quantity, value with unit, criterion, verdict); :func:`budget_inputs` reads the numbers from
a :class:`~simulator.Sample`.

A criterion ``x << y`` is met ("coherence visible") when ``x < y / MARGIN``, is "marginal"
between ``y / MARGIN`` and ``y``, and "blocked" from ``y`` up.  Energies are frequencies in Hz;
a rate (1/s) is set against an energy ``E/h`` as ``rate / 2 pi``, as in
:mod:`simulator.budget.closed_forms`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.simulator.budget import closed_forms as dc
from spin_echo.simulator.sample import NuclearBath, Sample

__all__ = [
    "MARGIN",
    "PAPER_BANDWIDTH_K",
    "PAPER_KONDO_G",
    "Budget",
    "BudgetInputs",
    "BudgetRow",
    "budget_inputs",
    "decoherence_budget",
    "format_budget",
]

#: How much smaller "much smaller" is.
MARGIN = 10.0
#: The paper's Kondo coupling of metals, ``g = J N(0) ~ 0.1`` (used for g and g_s when not given).
PAPER_KONDO_G = 0.1
#: The paper's electronic bandwidth, ``D ~ 1e4 K`` (``Delta eps ~ D / S >= 1e4 / S`` K).
PAPER_BANDWIDTH_K = 1e4

VISIBLE = "coherence visible"
MARGINAL = "marginal"
#: Verdict of a criterion whose closed form does not apply to the sample (never "visible").
NOT_ASSESSED = "not assessed"
INFO = "-"


@dataclass(frozen=True)
class BudgetInputs:
    """The numbers of a sample the budget needs (SI; energies in Hz).

    Attributes
    ----------
    name
        Sample name.
    spin
        Giant spin S.
    delta0_hz
        Typical bare tunnelling amplitude ``Delta_o``, Hz.
    temperature_k
        Temperature, K.
    omega0_big_hz
        Bare attempt frequency ``Omega_o``, Hz (the Ohmic and phonon cut-off), or None.
    nuclear
        The nuclear bath (:class:`simulator.sample.NuclearBath`), or None.
    t2_s
        Nuclear spin-diffusion time ``T_2``, s, or None (no spin diffusion).
    diffusion_width_hz
        Range over which the bias diffuses, Hz; None uses the nuclear group width
        ``mu omega_o = N^(1/2) delta omega``.
    alpha
        Ohmic coupling to electrons, or None (no electron bath).
    kondo_g, surface_g
        Exchange couplings g (bulk, Eq. 10) and g_s (surface) for the alpha estimates.
    bandwidth_k
        Electronic bandwidth D, K (Eq. 11).
    debye_temperature_k, anisotropy_k
        Phonon parameters of Eq. (12), K, or None (no phonon block).
    """

    name: str
    spin: float
    delta0_hz: float
    temperature_k: float
    omega0_big_hz: float | None = None
    nuclear: NuclearBath | None = None
    t2_s: float | None = None
    diffusion_width_hz: float | None = None
    alpha: float | None = None
    kondo_g: float = PAPER_KONDO_G
    surface_g: float = PAPER_KONDO_G
    bandwidth_k: float = PAPER_BANDWIDTH_K
    debye_temperature_k: float | None = None
    anisotropy_k: float | None = None


@dataclass(frozen=True)
class BudgetRow:
    """One line of the budget.

    Attributes
    ----------
    quantity
        What is computed, with its formula, e.g. ``"A = pi D0 / (w0 sqrt(2 pi N))"``.
    equation
        Where the paper has it, e.g. ``"Eq. (8)"``.
    value
        The value (SI; ``math.inf`` allowed).
    unit
        Its unit (``""`` for a number, ``"Hz"``, ``"1/s"``).
    criterion
        The condition for coherence, with numbers.
    verdict
        ``"coherence visible"``, ``"marginal: ..."``, ``"blocked: <by what>"``, ``"not assessed:
        <what>"`` where the paper's closed form does not apply to the sample, or ``"-"`` for a
        row that only informs.
    """

    quantity: str
    equation: str
    value: float
    unit: str
    criterion: str
    verdict: str

    def to_dict(self) -> dict[str, object]:
        """Return the row as JSON-ready data (a value that is not finite becomes None)."""
        data: dict[str, object] = asdict(self)
        data["value"] = self.value if math.isfinite(self.value) else None
        return data


@dataclass(frozen=True)
class Budget:
    """The decoherence budget of one sample: rows and the overall conclusion."""

    sample: str
    rows: tuple[BudgetRow, ...]

    @property
    def conclusion(self) -> str:
        """Overall verdict: what blocks coherence, else what is marginal, else visible."""
        for kind, lead in (
            ("blocked", "coherence blocked by "),
            (MARGINAL, "coherence marginal: "),
            (NOT_ASSESSED, f"{VISIBLE} by the criteria that apply; {NOT_ASSESSED}: "),
        ):
            found = [r.verdict.split(": ", 1)[1] for r in self.rows if r.verdict.startswith(kind)]
            if found:
                return lead + _merge_mechanisms(found)
        return VISIBLE

    def to_dict(self) -> dict[str, object]:
        """Return the budget as JSON-ready data."""
        return {
            "sample": self.sample,
            "rows": [row.to_dict() for row in self.rows],
            "conclusion": self.conclusion,
        }


def _merge_mechanisms(mechanisms: list[str]) -> str:
    """Join mechanisms, merging details: ``a (x)`` and ``a (y)`` -> ``a (x; y)``."""
    details: dict[str, list[str]] = {}
    for mechanism in mechanisms:
        head, _, detail = mechanism.partition(" (")
        found = details.setdefault(head, [])
        if detail and detail.rstrip(")") not in found:
            found.append(detail.rstrip(")"))
    return "; ".join(f"{h} ({'; '.join(d)})" if d else h for h, d in details.items())


def _g(x: float) -> str:
    """Format a number with three significant digits."""
    if not math.isfinite(x):
        return "inf"
    return f"{x:.3g}"


def _much_less(x: float, y: float, mechanism: str) -> str:
    """Verdict of the criterion ``x << y``; ``mechanism`` names what blocks coherence."""
    if x < y / MARGIN:
        return VISIBLE
    if x < y:
        return f"{MARGINAL}: {mechanism}"
    return f"blocked: {mechanism}"


def _blocked_share(fraction: float) -> str:
    """Describe the share of grains that degeneracy blocking removes (an informative verdict)."""
    return f"{100.0 * (1.0 - min(fraction, 1.0)):.4g}% of grains degeneracy-blocked"


def _nuclear_rows(inp: BudgetInputs, bath: NuclearBath) -> list[BudgetRow]:
    d0 = inp.delta0_hz
    mu = dc.nuclear_mu(bath.n_spins, bath.delta_omega_hz, bath.omega0_hz)
    small, large = mu < 1.0, mu >= 1.0
    a_small = dc.fraction_unblocked_mu_small(d0, bath.n_spins, bath.delta_omega_hz)
    a_large = dc.fraction_unblocked_mu_large(d0, bath.n_spins, bath.omega0_hz)
    a_bessel = dc.bessel_amplitude(d0, bath.n_spins, bath.omega0_hz)
    regime = "groups separate (mu < 1)" if small else "groups overlap (mu >= 1)"
    rows = [
        BudgetRow("mu = N^1/2 dw / w0", "text, Eq. (1)", mu, "", "mu << 1 or mu >> 1", regime),
        BudgetRow(
            "A (mu << 1) = D0 / (N dw)",
            "text, Eq. (1)",
            a_small,
            "",
            "fraction not degeneracy-blocked" + ("" if small else " (other regime)"),
            _blocked_share(a_small) if small else INFO,
        ),
        BudgetRow(
            "A (mu >> 1) = D0 / (N^1/2 w0)",
            "text, Eq. (1)",
            a_large,
            "",
            "fraction not degeneracy-blocked" + ("" if large else " (other regime)"),
            _blocked_share(a_large) if large else INFO,
        ),
        BudgetRow(
            "A = pi D0 / (w0 sqrt(2 pi N))",
            "Eqs. (5)-(7)",
            a_bessel,
            "",
            "weight of the coherent peak of chi'' (edge at 4 D0)",
            INFO,
        ),
    ]
    lam, lam_p = bath.lam, bath.lam_prime
    rows.append(
        BudgetRow(
            "lambda (nuclei co-flipping)",
            "Eqs. (2)-(6)",
            lam,
            "",
            "lambda << 1",
            _much_less(lam, 1.0, "topological decoherence (nuclear co-flipping)"),
        )
    )
    rows.append(
        BudgetRow(
            "lambda'",
            "Eq. (5)",
            lam_p,
            "",
            "lambda' << 1 (phase phi pinned at pi S)",
            _much_less(lam_p, 1.0, "topological phase randomised"),
        )
    )
    rows.append(
        BudgetRow(
            "lambda - lambda'",
            "Eq. (6)",
            lam - lam_p,
            "",
            "lambda - lambda' << 1 (Delta_M = 2 D0 at M = 0)",
            _much_less(lam - lam_p, 1.0, "topological decoherence (orthogonality blocking)"),
        )
    )
    if inp.omega0_big_hz is not None:
        estimate = dc.lambda_from_couplings(bath.n_spins, bath.omega0_hz, inp.omega0_big_hz)
        rows.append(
            BudgetRow(
                "lambda from pi^2 N w0^2 / (4 W0^2)",
                "text, Eq. (3)",
                estimate,
                "",
                "estimate for spin-1/2 nuclei (paper's ferritin value is this / pi^2)",
                INFO,
            )
        )
    return rows


def _diffusion_rows(inp: BudgetInputs) -> list[BudgetRow]:
    bath = inp.nuclear
    width = inp.diffusion_width_hz
    if width is None and bath is not None:
        width = bath.group_width_hz
    if inp.t2_s is None or width is None:
        return [BudgetRow("spin diffusion", "Eq. (8)", math.nan, "", "no spin_diffusion", INFO)]
    d0 = inp.delta0_hz
    rate_hz = 1.0 / (2.0 * math.pi * inp.t2_s)
    full = dc.spin_diffusion_threshold_hz(width, inp.t2_s)
    rows = [
        BudgetRow(
            f"[w^2 T2^-1]^1/3, w = mu w0 = {_g(width)} Hz",
            "Eq. (8)",
            full,
            "Hz",
            f"<< D0 = {_g(d0)} Hz (T2^-1/2pi = {_g(rate_hz)} Hz)",
            _much_less(full, d0, "nuclear spin diffusion"),
        )
    ]
    if bath is not None:
        simple = dc.spin_diffusion_threshold_simple_hz(bath.n_spins, inp.t2_s)
        largest_hz = d0 / bath.n_spins ** (1.0 / 3.0)
        rows.append(
            BudgetRow(
                f"T2^-1 N^1/3 (N = {_g(bath.n_spins)}, dw ~ T2^-1)",
                "Eq. (8)",
                simple,
                "Hz",
                f"paper's form: needs T2^-1/2pi << D0 N^-1/3 = {_g(largest_hz)} Hz",
                INFO,
            )
        )
    return rows


def _electron_rows(inp: BudgetInputs) -> list[BudgetRow]:
    if inp.alpha is None:
        return [BudgetRow("electrons", "Eqs. (9)-(11)", math.nan, "", "no electrons", INFO)]
    s, t = inp.spin, inp.temperature_k
    rows = [
        BudgetRow(
            f"alpha_b = g^2 S^4/3 (g = {_g(inp.kondo_g)})",
            "Eq. (10)",
            dc.alpha_bulk(inp.kondo_g, s),
            "",
            "conducting grain on conducting substrate: needs alpha_b << 1",
            INFO,
        ),
        BudgetRow(
            f"alpha_s = g_s^2 S^2/3 (g_s = {_g(inp.surface_g)})",
            "text, Eq. (10)",
            dc.alpha_surface(inp.surface_g, s),
            "",
            "insulating grain, surface spins on a conducting substrate",
            INFO,
        ),
    ]
    d0 = inp.delta0_hz
    delta_r = d0
    if inp.omega0_big_hz is not None:
        delta_r = dc.renormalised_splitting_hz(d0, inp.omega0_big_hz, inp.alpha)
        rows.append(
            BudgetRow(
                f"Delta_r = D0 (D0/W0)^(a/(1-a)), a = {_g(inp.alpha)}",
                "text, Eq. (10)",
                delta_r,
                "Hz",
                "renormalised splitting (0 when alpha >= 1: localised)",
                INFO,
            )
        )
    gamma = dc.ohmic_damping_rate_per_s(inp.alpha, t)
    gamma_hz = gamma / (2.0 * math.pi)
    rows.append(
        BudgetRow(
            "Gamma_s = 2 pi alpha k_B T",
            "text, Eq. (10)",
            gamma,
            "1/s",
            f"Gamma_s/2pi = {_g(gamma_hz)} Hz << Delta_r = {_g(delta_r)} Hz",
            _much_less(gamma_hz, delta_r, "electrons (Ohmic damping)"),
        )
    )
    cond = dc.insulating_grain_condition(s, t, inp.bandwidth_k, inp.kondo_g, delta_r)
    criterion = f"<< 1/ln(2 pi g^2 S^2/3 D / (S Delta_r)) = {_g(cond.rhs)}"
    verdict = _much_less(cond.lhs, cond.rhs, "electrons in a conducting grain (Eq. 11)")
    if math.isinf(cond.rhs):  # the logarithm is <= 0: S Delta_r beyond the electrons' scale
        criterion = (
            "Eq. (11) needs S Delta_r < 2 pi g^2 S^2/3 D; here S Delta_r = "
            f"{_g(s * delta_r)} Hz >= {_g(cond.scale_hz)} Hz"
        )
        verdict = f"{NOT_ASSESSED}: electrons in a conducting grain (outside Eq. 11)"
    quantity = f"S k_B T / D (D = {_g(inp.bandwidth_k)} K)"
    return [*rows, BudgetRow(quantity, "Eq. (11)", cond.lhs, "", criterion, verdict)]


def _phonon_rows(inp: BudgetInputs) -> list[BudgetRow]:
    if inp.debye_temperature_k is None or inp.anisotropy_k is None or inp.omega0_big_hz is None:
        return [BudgetRow("phonons", "Eq. (12)", math.nan, "", "no phonons or Omega0", INFO)]
    rate = dc.phonon_rate_per_s(
        inp.delta0_hz,
        inp.omega0_big_hz,
        inp.debye_temperature_k,
        inp.anisotropy_k,
        inp.spin,
        inp.temperature_k,
    )
    rate_hz = rate / (2.0 * math.pi)
    return [
        BudgetRow(
            "Gamma_phi = (D0/W0)^2 J(D0) coth(D0/2kT)",
            "Eq. (12)",
            rate,
            "1/s",
            f"Gamma_phi/2pi = {_g(rate_hz)} Hz << D0 = {_g(inp.delta0_hz)} Hz",
            _much_less(rate_hz, inp.delta0_hz, "phonons"),
        )
    ]


def decoherence_budget(inputs: BudgetInputs) -> Budget:
    """Evaluate the paper's decoherence budget for one sample.

    Parameters
    ----------
    inputs
        The sample's numbers (:class:`BudgetInputs`).

    Returns
    -------
    Budget
        One row per closed form of :mod:`simulator.budget.closed_forms` that the sample's blocks
        allow:
        nuclear bath (mu, the fraction A in both regimes and in Eq. 7, lambda, lambda'),
        spin diffusion (Eq. 8), electrons (Eqs. 10-11), phonons (Eq. 12).
    """
    rows: list[BudgetRow] = []
    kt_hz = inputs.temperature_k * HZ_PER_K
    if inputs.nuclear is not None:
        rows.extend(_nuclear_rows(inputs, inputs.nuclear))
        rows.append(
            BudgetRow(
                "k_B T / w0",
                "Eq. (4)",
                kt_hz / inputs.nuclear.omega0_hz,
                "",
                "k_B T >> w0: all polarisation groups populated (Eq. 7 form)",
                INFO,
            )
        )
    else:
        rows.append(BudgetRow("nuclear spins", "Eqs. (1)-(7)", math.nan, "", "none", INFO))
    rows.extend(_diffusion_rows(inputs))
    rows.extend(_electron_rows(inputs))
    rows.extend(_phonon_rows(inputs))
    return Budget(sample=inputs.name, rows=tuple(rows))


def budget_inputs(
    sample: Sample,
    *,
    kondo_g: float = PAPER_KONDO_G,
    surface_g: float = PAPER_KONDO_G,
    bandwidth_k: float = PAPER_BANDWIDTH_K,
) -> BudgetInputs:
    """Collect the numbers of a sample that the budget needs.

    ``Delta_o`` is the typical value of the sample's ``tunnel_splitting`` distribution (the
    median of a lognormal); a sample without ``spin`` counts as S = 1.

    Parameters
    ----------
    sample
        The sample (:func:`simulator.load_sample`).
    kondo_g, surface_g
        Exchange couplings for the estimates of ``alpha_b`` and ``alpha_s`` (the sample format
        has only the resulting ``alpha``); the paper's 0.1 by default.
    bandwidth_k
        Electronic bandwidth D of Eq. (11), K; the paper's 1e4 K by default.
    """
    phonons = sample.phonons
    diffusion = sample.diffusion
    return BudgetInputs(
        name=sample.name,
        spin=1.0 if sample.spin is None else sample.spin,
        delta0_hz=sample.tunnel_splitting.typical_hz,
        temperature_k=sample.temperature_k,
        omega0_big_hz=sample.omega0_big_hz,
        nuclear=sample.nuclear,
        t2_s=None if diffusion is None else diffusion.t2_s,
        diffusion_width_hz=None if diffusion is None else diffusion.width_hz,
        alpha=sample.electron_alpha,
        kondo_g=kondo_g,
        surface_g=surface_g,
        bandwidth_k=bandwidth_k,
        debye_temperature_k=None if phonons is None else phonons.debye_temperature_k,
        anisotropy_k=None if phonons is None else phonons.anisotropy_hz / HZ_PER_K,
    )


def format_budget(budget: Budget) -> str:
    """Render a budget as a plain-text table followed by its conclusion."""
    header = ("quantity", "paper", "value", "criterion", "verdict")
    lines = [header]
    for row in budget.rows:
        value = "-" if math.isnan(row.value) else f"{_g(row.value)} {row.unit}".strip()
        lines.append((row.quantity, row.equation, value, row.criterion, row.verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    text = [f"decoherence budget of sample '{budget.sample}' (Prokof'ev & Stamp 1995)", ""]
    for k, line in enumerate(lines):
        text.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if k == 0:
            text.append(rule)
    text.extend(["", f"conclusion: {budget.conclusion}"])
    return "\n".join(text)
