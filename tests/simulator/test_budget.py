"""The decoherence budget: rows worked out by hand at the paper's numbers, and its verdicts."""

from __future__ import annotations

import json
import math

import pytest

from spin_echo.simulator.budget.table import (
    MARGIN,
    Budget,
    BudgetInputs,
    budget_inputs,
    decoherence_budget,
    format_budget,
)
from spin_echo.simulator.sample import NuclearBath, load_sample

# The paper's ferritin: S ~ 4000, Delta_o ~ 1 MHz, Omega_o ~ 4e10 Hz, N ~ 100 57Fe nuclei with
# omega_o ~ 50 MHz, lambda ~ 4e-5; T2 = 1 ms, T = 20 mK, Theta_D = 300 K, K = 1 K.
FERRITIN = BudgetInputs(
    name="ferritin",
    spin=4000,
    delta0_hz=1e6,
    temperature_k=0.02,
    omega0_big_hz=4e10,
    nuclear=NuclearBath(100, 5e7, 1e6, 4e-5, 0.0),
    t2_s=1e-3,
    debye_temperature_k=300.0,
    anisotropy_k=1.0,
)
# Tb grain of Fig. 1(b): lambda - lambda' = 10 (~1e3 Tb ions).
TB_GRAIN = BudgetInputs(
    name="tb-grain",
    spin=1e4,
    delta0_hz=1e6,
    temperature_k=0.02,
    omega0_big_hz=4e10,
    nuclear=NuclearBath(1000, 5e8, 5e7, 10.0, 0.0),
)


def _row(budget: Budget, prefix: str):
    (row,) = [r for r in budget.rows if r.quantity.startswith(prefix)]
    return row


def test_ferritin_nuclear_rows_by_hand() -> None:
    budget = decoherence_budget(FERRITIN)
    # mu = sqrt(100) * 1e6 / 5e7 = 0.2: separate groups; A (mu << 1) = 1e6 / (100 * 1e6) = 0.01
    assert _row(budget, "mu =").value == pytest.approx(0.2, rel=1e-12)
    assert _row(budget, "A (mu << 1)").value == pytest.approx(0.01, rel=1e-12)
    assert _row(budget, "A (mu << 1)").verdict == "99% of grains degeneracy-blocked"
    # A (mu >> 1) = 1e6 / (10 * 5e7) = 2e-3, the paper's "A ~ 2e-3" (not this sample's regime)
    assert _row(budget, "A (mu >> 1)").value == pytest.approx(2e-3, rel=1e-12)
    # Eq. (7) amplitude: pi 1e6 / (5e7 sqrt(200 pi)) = 2.506628e-3
    assert _row(budget, "A = pi").value == pytest.approx(2.506628e-3, rel=1e-6)
    # lambda = 4e-5 << 1 / MARGIN: the bath is a static field, no topological decoherence
    lam = _row(budget, "lambda (nuclei")
    assert lam.value == 4e-5
    assert lam.verdict == "coherence visible"
    # k_B T / omega_o = 0.02 * 2.0836619e10 / 5e7 = 8.334648
    assert _row(budget, "k_B T").value == pytest.approx(8.334648, rel=1e-6)


def test_ferritin_spin_diffusion_rows_by_hand() -> None:
    budget = decoherence_budget(FERRITIN)
    # width mu omega_o = 1e7 Hz, T2^-1 / 2 pi = 1e3 / 6.283185 = 159.1549 Hz:
    # [1e14 * 159.1549]^(1/3) = (1.591549e16)^(1/3) = 2.154435e5 * 1.167544 = 2.515398e5 Hz,
    # above 1e6 / 10: marginal
    full = _row(budget, "[w^2 T2^-1]")
    assert full.value == pytest.approx(2.515398e5, rel=1e-6)
    assert full.verdict == "marginal: nuclear spin diffusion"
    # paper's form: T2^-1 N^(1/3) = 159.1549 * 4.641589 = 738.7316 Hz; coherence requires
    # T2^-1 / 2 pi << Delta_o N^(-1/3) = 1e6 / 4.641589 = 2.154435e5 Hz (paper: "<< 1e5 Hz")
    simple = _row(budget, "T2^-1 N^1/3")
    assert simple.value == pytest.approx(738.7316, rel=1e-6)
    assert "2.15e+05 Hz" in simple.criterion


def test_ferritin_phonons_negligible() -> None:
    # Eq. (12) at the ferritin numbers: 1.489113e-11 /s (worked out in test_decoherence.py);
    # against Delta_o = 1e6 Hz it is negligible ("inverse minutes or hours" and below)
    row = _row(decoherence_budget(FERRITIN), "Gamma_phi")
    assert row.value == pytest.approx(1.489113e-11, rel=1e-5)
    assert row.verdict == "coherence visible"


def test_ferritin_conclusion_names_only_spin_diffusion() -> None:
    budget = decoherence_budget(FERRITIN)
    assert budget.conclusion == "coherence marginal: nuclear spin diffusion"
    # with T2 = 1 s the bias barely moves: (1e14 / (2 pi))^(1/3) = 2.515e4 Hz << 1e6 Hz
    slow = decoherence_budget(BudgetInputs(**{**FERRITIN.__dict__, "t2_s": 1.0}))
    assert slow.conclusion == "coherence visible"


def test_tb_grain_is_killed_by_topological_decoherence() -> None:
    budget = decoherence_budget(TB_GRAIN)
    lam = _row(budget, "lambda (nuclei")
    assert lam.value == 10.0
    assert lam.verdict == "blocked: topological decoherence (nuclear co-flipping)"
    assert _row(budget, "lambda - lambda'").verdict.startswith("blocked: topological")
    assert budget.conclusion == (
        "coherence blocked by topological decoherence (nuclear co-flipping; orthogonality blocking)"
    )


@pytest.mark.parametrize(
    ("lam", "verdict"),
    [
        (0.5 / MARGIN, "coherence visible"),
        (0.5, "marginal: topological decoherence (nuclear co-flipping)"),
        (2.0, "blocked: topological decoherence (nuclear co-flipping)"),
    ],
    ids=["much-less", "marginal", "blocked"],
)
def test_verdict_margins(lam: float, verdict: str) -> None:
    inputs = BudgetInputs(
        name="x", spin=10, delta0_hz=1e6, temperature_k=0.0,
        nuclear=NuclearBath(100, 5e7, 1e6, lam, 0.0),
    )  # fmt: skip
    assert _row(decoherence_budget(inputs), "lambda (nuclei").verdict == verdict


def test_electron_rows_by_hand() -> None:
    inputs = BudgetInputs(
        name="metal", spin=1000, delta0_hz=1e6, temperature_k=0.02, omega0_big_hz=4e10, alpha=0.2
    )
    budget = decoherence_budget(inputs)
    # alpha_b = 0.1^2 * 1000^(4/3) = 100; alpha_s = 0.1^2 * 1000^(2/3) = 1
    assert _row(budget, "alpha_b").value == pytest.approx(100.0, rel=1e-12)
    assert _row(budget, "alpha_s").value == pytest.approx(1.0, rel=1e-12)
    # Delta_r = 1e6 * (2.5e-5)^(0.2/0.8) = 1e6 * 0.07071068 = 7.071068e4 Hz
    assert _row(budget, "Delta_r").value == pytest.approx(7.071068e4, rel=1e-6)
    # Gamma_s = 4 pi^2 * 0.2 * 0.02 * 2.0836619e10 = 3.290387e9 /s; / 2 pi = 5.236814e8 Hz
    # >> Delta_r: the electrons block coherence
    gamma = _row(budget, "Gamma_s")
    assert gamma.value == pytest.approx(3.290387e9, rel=1e-6)
    assert gamma.verdict == "blocked: electrons (Ohmic damping)"
    # Eq. (11): S k_B T / D = 1000 * 0.02 / 1e4 = 2e-3
    assert _row(budget, "S k_B T / D").value == pytest.approx(2e-3, rel=1e-12)


def test_eq_11_outside_its_range_is_not_assessed_and_not_called_visible() -> None:
    # S Delta_r = 1000 x 1e13 Hz beyond 2 pi g^2 S^(2/3) D: the logarithm of Eq. (11) is negative,
    # so its criterion read "<< inf" and "coherence visible"
    inputs = BudgetInputs(
        name="fast", spin=1000, delta0_hz=1e13, temperature_k=0.02, omega0_big_hz=4e13, alpha=1e-9
    )
    budget = decoherence_budget(inputs)
    row = _row(budget, "S k_B T / D")
    scale = 2 * math.pi * 0.1**2 * 1000 ** (2 / 3) * 1e4 * 20.836619e9  # g = 0.1, D = 1e4 K
    delta_r = _row(budget, "Delta_r").value
    assert 1000 * delta_r > scale
    assert row.verdict == "not assessed: electrons in a conducting grain (outside Eq. 11)"
    assert "inf" not in row.criterion and f"{scale:.3g} Hz" in row.criterion
    assert budget.conclusion == (
        "coherence visible by the criteria that apply; not assessed: electrons in a "
        "conducting grain (outside Eq. 11)"
    )
    assert "inf" not in format_budget(budget)


def test_a_conclusion_with_an_unassessed_row_says_so() -> None:
    from spin_echo.simulator.budget.table import VISIBLE, BudgetRow

    rows = (
        BudgetRow("a", "Eq. (1)", 1.0, "", "a << b", VISIBLE),
        BudgetRow("b", "Eq. (2)", 1.0, "", "outside", "not assessed: electrons (x)"),
    )
    assert Budget("s", rows).conclusion == (
        "coherence visible by the criteria that apply; not assessed: electrons (x)"
    )
    blocked = (*rows, BudgetRow("c", "Eq. (3)", 1.0, "", "c << d", "blocked: phonons"))
    assert Budget("s", blocked).conclusion == "coherence blocked by phonons"


def test_localised_grain_has_no_splitting() -> None:
    inputs = BudgetInputs(
        name="x", spin=10, delta0_hz=1e6, temperature_k=0.01, omega0_big_hz=4e10, alpha=1.5
    )
    budget = decoherence_budget(inputs)
    assert _row(budget, "Delta_r").value == 0.0
    assert _row(budget, "Gamma_s").verdict == "blocked: electrons (Ohmic damping)"


def test_absent_blocks_are_listed_not_judged() -> None:
    budget = decoherence_budget(BudgetInputs(name="bare", spin=10, delta0_hz=1e6, temperature_k=0))
    assert [r.quantity for r in budget.rows] == [
        "nuclear spins", "spin diffusion", "electrons", "phonons",
    ]  # fmt: skip
    assert budget.conclusion == "coherence visible"


def test_json_and_text_forms() -> None:
    budget = decoherence_budget(TB_GRAIN)
    data = json.loads(json.dumps(budget.to_dict(), allow_nan=False))
    assert data["sample"] == "tb-grain"
    assert data["conclusion"] == budget.conclusion
    assert len(data["rows"]) == len(budget.rows)
    assert data["rows"][-1]["value"] is None  # "phonons": not in the sample (NaN -> null)
    text = format_budget(budget)
    assert text.splitlines()[-1] == f"conclusion: {budget.conclusion}"
    assert "| " not in text and "lambda - lambda'" in text


def test_inputs_from_a_sample_file(tmp_path) -> None:
    path = tmp_path / "grain.yaml"
    path.write_text(
        "name: grain\nspin: 4000\nOmega0: 40 GHz\n"
        "tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.5}\n"
        "temperature: 20 mK\n"
        "environment:\n"
        "  nuclear: {N: 100, omega0: 50 MHz, delta_omega: 1 MHz, lambda: 0.00004}\n"
        "  spin_diffusion: {T2: 1 ms}\n"
        "  electrons: {alpha: 0.01}\n"
        "  phonons: {debye_temperature: 300 K, anisotropy: 1 K}\n",
        encoding="utf-8",
    )
    inputs = budget_inputs(load_sample(path))
    assert inputs.delta0_hz == pytest.approx(1e6, rel=1e-12)  # the lognormal's median
    assert inputs.omega0_big_hz == pytest.approx(4e10, rel=1e-12)
    assert inputs.temperature_k == pytest.approx(0.02, rel=1e-12)
    assert inputs.t2_s == pytest.approx(1e-3, rel=1e-12)
    assert inputs.diffusion_width_hz == pytest.approx(1e7, rel=1e-12)  # sqrt(100) * 1 MHz
    assert inputs.alpha == 0.01
    assert inputs.anisotropy_k == pytest.approx(1.0, rel=1e-12)  # 1 K -> Hz -> K
    assert math.isfinite(decoherence_budget(inputs).rows[0].value)


@pytest.mark.parametrize(
    ("name", "blocked_by"),
    [("ferritin", None), ("tb-grain", "topological decoherence")],
    ids=["ferritin", "tb-grain"],
)
def test_builtin_samples_give_the_papers_conclusions(name: str, blocked_by: str | None) -> None:
    budget = decoherence_budget(budget_inputs(load_sample(name)))
    lam = _row(budget, "lambda (nuclei")
    if blocked_by is None:
        # ferritin: lambda ~ 4e-5 << 1, A ~ 2e-3; only spin diffusion can decide
        # the sample's lambda, and A = pi D0 / (w0 sqrt(2 pi N)) at D0 = 1 MHz (the median),
        # w0 = 50 MHz, N = 100: both exact
        assert lam.value == pytest.approx(4e-5, rel=1e-15)
        a_paper = math.pi * 1e6 / (50e6 * math.sqrt(2 * math.pi * 100))
        assert _row(budget, "A = pi").value == pytest.approx(a_paper, rel=1e-14)
        assert "topological" not in budget.conclusion
    else:
        assert _row(budget, "lambda - lambda'").value == pytest.approx(10.0, rel=1e-12)
        assert budget.conclusion.startswith(f"coherence blocked by {blocked_by}")
