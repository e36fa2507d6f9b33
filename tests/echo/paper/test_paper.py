"""The paper reproduction: simulated ensembles against the paper's closed forms, within errors.

Every assertion compares a simulation (packet ensembles of ``simulator``) with an independent
closed form of ``simulator.decoherence``, in units of the simulation's own standard error
(16 independent replicas), or checks a law (slope, prefactor) of the paper.
"""

from __future__ import annotations

import json
import math

import pytest
from scipy import special

from spin_echo.echo.paper.dynamics import echo_result, spin_diffusion_result
from spin_echo.echo.paper.report import PaperReport, write_report
from spin_echo.echo.paper.result import PaperResult
from spin_echo.echo.paper.spectra import ferritin_results, fig1_result


@pytest.fixture(scope="module")
def ferritin(tmp_path_factory):
    # 320,000 packets: the fitted amplitude A has a standard error of about 0.5%
    return ferritin_results(tmp_path_factory.mktemp("ferritin"), packets=320_000, seed=11)


def test_pt_amplitude_agrees_with_eq4_within_error(ferritin) -> None:
    pt, _ = ferritin
    a_sim, err = pt.metric("a_sim"), pt.metric("a_sim_error")
    assert 0 < err < 0.01 * a_sim
    # Eq. (4) with the sample's bias density (the Bessel series at its W(0), less the envelope)
    assert abs(a_sim - pt.metric("a_exact")) < 3.5 * err
    # the printed A = pi Delta_o / (omega_o sqrt(2 pi N)) = 2.5066e-3 differs from it by the
    # sample's envelope only: under 1.5%
    assert pt.metric("a_paper") == pytest.approx(2.506628e-3, rel=1e-6)
    assert abs(pt.metric("a_exact") / pt.metric("a_paper") - 1) < 0.015


def test_pt_curve_agrees_with_the_bessel_series(ferritin) -> None:
    pt, _ = ferritin
    # 241 time points, 4 Delta_o t in [0, 60]: every point within 4.5 standard errors
    assert pt.metric("max_abs_z_exact") < 4.5
    # and the printed series within 3% of A everywhere
    assert pt.metric("max_abs_diff_over_a") < 0.03


def test_eq7_edge_and_weights(ferritin) -> None:
    _, eq7 = ferritin
    # nothing below the edge bin for lambda -> 0
    assert eq7.metric("weight_below_edge") == 0.0
    # the edge bin [3.875, 4.125] MHz: 2A arccos(4/4.125) = 1.2373e-3 for the printed A
    assert eq7.metric("edge_bin_paper") == pytest.approx(
        2 * 2.506628e-3 * math.acos(4 / 4.125), rel=1e-6
    )
    assert abs(eq7.metric("edge_bin") / eq7.metric("edge_bin_paper") - 1) < 0.03
    # weight over 3.875 - 16.125 MHz against Eq. (7) at the sample's W(0), within 3.5 s.e.
    diff = eq7.metric("weight_above") - eq7.metric("weight_above_flat")
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
    assert eq8.metric("echo_time_prefactor") == pytest.approx(
        (4 * math.pi * 5.5e-6 * 1e6) ** (-1 / 3), rel=1e-9
    )
    assert eq8.metric("prefactor") == pytest.approx(eq8.metric("echo_time_prefactor"), rel=0.35)


def test_spin_echo_and_hole_without_topological_decoherence(tmp_path) -> None:
    result = echo_result(tmp_path, packets=2000, seed=2)
    # lambda = 0, a wide Delta_o: the Hahn echo is there at every tau, and so is the hole
    for tau in ("2", "5", "10"):
        assert result.metric(f"echo_lambda0_tau{tau}us") > 0
    depth, err = result.metric("hole_depth_lambda0"), result.metric("hole_depth_error_lambda0")
    assert depth > 3 * err
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
    depth, err = result.metric("hole_depth_lambda10"), result.metric("hole_depth_error_lambda10")
    assert abs(depth) < 3 * err


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
