"""The paper reproduction: simulated ensembles against the paper's closed forms, within errors.

Every assertion compares a simulation (packet ensembles of ``simulator``) with a reference
computed here from closed forms (``simulator.budget.closed_forms``, the bath density of
``simulator.bath``, scipy quadrature), in units of the simulation's own standard error
(16 independent replicas), or checks a law (slope, prefactor) of the paper; verdicts are
checked against bounds computed here from the Student-t quantile.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, special

from spin_echo.echo.paper.dynamics import PULSE_REPLICAS, echo_result, spin_diffusion_result
from spin_echo.echo.paper.report import PaperReport, write_report
from spin_echo.echo.paper.result import PaperResult, t_quantile, verdict
from spin_echo.echo.paper.spectra import ferritin_results, fig1_result
from spin_echo.simulator import load_sample
from spin_echo.simulator.bath import bath_log_density
from spin_echo.simulator.budget import closed_forms as dc

#: One-sided 95% Student-t quantile for 3 degrees of freedom (4 seeds), from the tables.
T95_3DOF = 2.3534


@pytest.fixture(scope="module")
def ferritin(tmp_path_factory):
    # 320,000 packets: the fitted amplitude A has a standard error of about 0.5%
    outdir = tmp_path_factory.mktemp("ferritin")
    return (*ferritin_results(outdir, packets=320_000, seed=11), outdir)


def _eq4_amplitude(outdir) -> tuple[float, float]:
    """(A of Eq. 4 with the sample's W, W(0) pi Delta_o), computed here by quadrature.

    1 - P(t) of Eq. (4) for a bias density W is A_flat g(t) + deficit (t >> 2 ns), with
    g = 2 sum J_{2k+1}(4 Delta_o t), A_flat = pi Delta_o W(0) and deficit =
    1/2 int (W(eps) - W(0)) a^2 / (eps^2 + a^2) d eps (a = 2 Delta_o); projected on g over the
    reproduction's grid (4 Delta_o t from 0 to 60), A = A_flat + deficit sum g / sum g^2.
    """
    bath = load_sample(outdir / "samples" / "paper-ferritin.yaml").nuclear

    def density(eps: float) -> float:
        return float(np.exp(bath_log_density(bath, np.array([eps]))[0]))

    w0, a = density(0.0), 2e6
    span = 12 * math.hypot(math.sqrt(bath.n_spins) * bath.omega0_hz, bath.group_width_hz)
    deficit, _ = integrate.quad(
        lambda eps: 0.5 * (density(eps) - w0) * a * a / (eps * eps + a * a),
        -span, span, points=[0.0], limit=400, epsabs=1e-12,
    )  # fmt: skip
    times = np.linspace(0.0, 60.0, 241) / (2 * math.pi * 4e6)
    g = 1.0 - dc.correlator_bessel(times, 1e6, 1.0)
    a_flat = math.pi * 1e6 * w0
    return a_flat + deficit * g.sum() / (g @ g), a_flat


def test_pt_amplitude_agrees_with_eq4_within_error(ferritin) -> None:
    pt, _, outdir = ferritin
    a_sim, err = pt.metric("a_sim"), pt.metric("a_sim_error")
    assert 0 < err < 0.01 * a_sim
    # Eq. (4) with the sample's bias density (the Bessel series at its W(0), less the envelope)
    a_exact, _ = _eq4_amplitude(outdir)
    assert abs(a_sim - a_exact) < 3.5 * err
    # the printed A = pi Delta_o / (omega_o sqrt(2 pi N)) = 2.5066e-3 differs from it by the
    # sample's envelope only: under 1.5%
    assert pt.metric("a_paper") == pytest.approx(2.506628e-3, rel=1e-6)
    assert abs(a_exact / 2.506628e-3 - 1) < 0.015


def test_pt_curve_agrees_with_the_bessel_series(ferritin) -> None:
    pt, _, _ = ferritin
    # 241 time points, 4 Delta_o t in [0, 60]: every point within 4.5 standard errors
    assert pt.metric("max_abs_z_exact") < 4.5
    # and the printed series within 3% of A everywhere
    assert pt.metric("max_abs_diff_over_a") < 0.03


def test_eq7_edge_and_weights(ferritin) -> None:
    _, eq7, outdir = ferritin
    # nothing below the edge bin for lambda -> 0
    assert eq7.metric("weight_below_edge") == 0.0
    # the edge bin [3.875, 4.125] MHz: 2A arccos(4/4.125) = 1.2373e-3 for the printed A
    assert eq7.metric("edge_bin_paper") == pytest.approx(
        2 * 2.506628e-3 * math.acos(4 / 4.125), rel=1e-6
    )
    assert abs(eq7.metric("edge_bin") / eq7.metric("edge_bin_paper") - 1) < 0.03
    # weight over 3.875 - 16.125 MHz against Eq. (7) at the sample's W(0), within 3.5 s.e.:
    # the integral of 8 Delta_o A / (f sqrt(f^2 - 16 Delta_o^2)) from 4 Delta_o to f2 is
    # 2A arccos(4 Delta_o / f2)
    _, a_flat = _eq4_amplitude(outdir)
    diff = eq7.metric("weight_above") - 2 * a_flat * math.acos(4 / 16.125)
    assert abs(diff) < 3.5 * eq7.metric("weight_above_error")
    assert eq7.metric("fraction_within_2se") > 0.8
    assert eq7.metric("max_abs_z_flat") < 4.5


def test_fig1_against_the_channel_sum(tmp_path) -> None:
    fig1 = fig1_result(tmp_path, packets=200_000, seed=5)
    for panel in ("a", "b"):
        assert fig1.metric(f"{panel}_scored_bins") >= 10
        assert fig1.metric(f"{panel}_fraction_within_2se") > 0.75
        assert fig1.metric(f"{panel}_max_abs_z") < 4.5
        total, ref = fig1.metric(f"{panel}_total"), fig1.metric(f"{panel}_total_reference")
        assert abs(total - ref) < 4 * fig1.metric(f"{panel}_total_error") + 0.02 * ref
    # topological decoherence moves the weight to low frequency: (a) ~5% below 2 Delta_o,
    # (b) about half
    assert fig1.metric("a_low_share_reference") < 0.1
    assert fig1.metric("b_low_share_reference") > 0.4
    assert fig1.metric("b_low_share") == pytest.approx(
        fig1.metric("b_low_share_reference"), abs=0.05
    )


def test_eq8_crossover_follows_the_papers_law(tmp_path) -> None:
    eq8 = spin_diffusion_result(tmp_path, packets=2000, seed=3)
    # T2^-1 at the crossover falls with N: between the diffusive N^(-1/3) of Eq. (8) and the
    # saturated N^(-1/2) of an Ornstein-Uhlenbeck bias
    assert -0.55 < eq8.metric("slope") < -0.3
    # and sits where Delta eps(t) = Delta_o over the echo: 0.24 of the paper's line
    echo_time = (4 * math.pi * 5.5e-6 * 1e6) ** (-1 / 3)
    assert eq8.metric("prefactor") == pytest.approx(echo_time, rel=0.35)


def test_spin_echo_and_hole_without_topological_decoherence(tmp_path) -> None:
    result = echo_result(tmp_path, packets=2000, seed=2)
    # lambda = 0, a wide Delta_o: the Hahn echo is there at every tau, and so is the hole (the
    # one-sided 95% lower bound over the 4 seeds above zero)
    assert PULSE_REPLICAS == 4
    for tau in ("2", "5", "10"):
        echo = result.metric(f"echo_lambda0_tau{tau}us")
        assert echo - T95_3DOF * result.metric(f"echo_error_lambda0_tau{tau}us") > 0
    depth, err = result.metric("hole_depth_lambda0"), result.metric("hole_depth_error_lambda0")
    assert depth - T95_3DOF * err > 0
    assert (tmp_path / result.figure).stat().st_size > 10_000
    # topological decoherence on (lambda = 1, 10: the dynamic bath, channel redrawn at each
    # flip): at every tau the echo is below the channel-coincidence ceiling
    # e^{-4 kappa} I_0(4 kappa) of the static bath's echo (channel drawn once, refocused)
    for lam in ("1", "10"):
        ceiling = result.metric(f"echo_ceiling_lambda{lam}")
        assert ceiling == pytest.approx(special.ive(0, 4 * float(lam)), rel=1e-9)
        for tau in ("2", "5", "10"):
            echo = result.metric(f"echo_lambda{lam}_tau{tau}us")
            error = result.metric(f"echo_error_lambda{lam}_tau{tau}us")
            assert echo < ceiling * result.metric(f"echo_static_lambda{lam}_tau{tau}us") + 3 * error
    # the lambda = 10 hole: its verdict row says what its bounds allow, no more
    hole = result.metric("hole_depth_lambda10"), result.metric("hole_depth_error_lambda10")
    ref = depth, err
    spread = T95_3DOF * math.hypot(hole[1], 0.2 * ref[1])
    row = next(r for r in result.rows if r[0].startswith("burned hole depth at the pump, λ = 10"))
    if hole[0] + spread < 0.2 * ref[0]:
        assert row[3].endswith(": reproduced")
    elif hole[0] - spread > 0.2 * ref[0]:
        assert row[3].endswith(": NOT reproduced")
    else:
        assert row[3].endswith(": undecided")


def test_t_quantile_is_students() -> None:
    assert t_quantile(4) == pytest.approx(T95_3DOF, abs=1e-4)
    assert t_quantile(16) == pytest.approx(1.7531, abs=1e-4)  # 15 degrees of freedom


@pytest.mark.parametrize(
    ("value", "claim", "reference", "expected"),
    [
        # the case: a lambda = 10 hole of 0.34 +- 0.18 against a lambda = 0 hole of
        # 0.203 +- 0.0074 cannot be called absent (nor present above 20% of it)
        ((0.341, 0.18), "absent", (0.203, 0.0074), "undecided"),
        ((0.005, 0.004), "absent", (0.2, 0.007), "reproduced"),
        ((0.2, 0.01), "absent", (0.2, 0.01), "NOT reproduced"),
        ((0.203, 0.0074), "present", None, "reproduced"),
        ((0.01, 0.02), "present", None, "undecided"),
        ((-0.1, 0.01), "present", None, "NOT reproduced"),
    ],
)
def test_verdicts_follow_the_bounds(value, claim, reference, expected) -> None:
    text = verdict(value, 4, claim=claim, reference=reference)
    assert text.endswith(f": {expected}") and (expected != "reproduced" or "NOT" not in text)


def test_report_lists_every_result(tmp_path) -> None:
    result = PaperResult(
        key="k",
        title="A title",
        formula="x = 1",
        convention="units",
        rows=(("q | with a bar", "1", "1.0 ± 0.1", "+0%"),),
        statistics="100 packets",
        figure="k.png",
        metrics=(("x", 1.0),),
    )
    path = write_report(PaperReport((result,), tmp_path, 100, 7, 1.5))
    text = path.read_text(encoding="utf-8")
    assert "## A title" in text and "Paper: `x = 1`" in text
    assert "| q \\| with a bar | 1 | 1.0 ± 0.1 | +0% |" in text
    assert "![k](k.png)" in text
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["results"] == {"k": {"x": 1.0}}
    assert metrics["packets"] == 100 and metrics["seed"] == 7
