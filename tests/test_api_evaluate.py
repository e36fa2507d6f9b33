"""The Python API's evaluation (issue 15): analyse, compare, fit and budget as data.

Each result is checked against what the command line computes from the same record, and the
fit against the truth it was simulated from.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

import spin_echo as se
from spin_echo.echo.analysis.compare import compare_records
from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.record_analysis import analyse_record
from spin_echo.echo.cli.main import main
from spin_echo.echo.output import OutputPathError
from spin_echo.echo.record import read_record
from tests.images import assert_plot_image
from tests.test_api_load import SMALL_HAHN

#: Enough tau points for the three-parameter echo decay, over 1.5 T2 of the bare-t2 sample.
ECHO = SMALL_HAHN.replace("stop: 12 us, points: 4", "stop: 30 us, points: 8")


@pytest.fixture(scope="module")
def echo_record():
    return se.simulate(ECHO, "bare-t2", packets=300)


def test_analyse_gives_the_fit_of_spin_echo_plot(echo_record, tmp_path):
    result = se.analyse(echo_record)
    fit = analyse_record(echo_record).fit
    assert (result.kind, result.family) == ("stretched", "hahn-echo")
    assert list(result.values) == ["A", "T_M", "x"] == list(fit.names)
    np.testing.assert_array_equal(list(result.values.values()), fit.values)
    np.testing.assert_array_equal(list(result.errors.values()), fit.errors)
    assert result.units["T_M"] == "s"
    assert result.reliable and result.reasons == ()
    assert result.values["T_M"] == pytest.approx(20e-6, rel=0.02)  # exp(-2 tau/T2), T2 = 20 us
    path = se.save(echo_record, tmp_path / "r.nc")
    assert se.analyse(path).values == result.values
    assert "T_M = " in repr(result) and "<table>" in result._repr_html_()


def test_an_unreliable_fit_says_why():
    """T2 = 2 ms: the echo hardly decays over the 40 us sweep, T_M is not resolved."""
    sample = se.load_sample("bare-t2").with_values(**{"relaxation.T2": "2 ms"})
    record = se.simulate("hahn-echo", sample, packets=300)
    result = se.analyse(record)
    assert not result.reliable
    assert result.reasons == analyse_record(record).fit.health.reasons != ()
    assert "UNRELIABLE" in repr(result) and "UNRELIABLE" in result._repr_html_()


def test_a_record_without_a_fit_still_plots(tmp_path):
    result = se.analyse(se.simulate("fid", "bare", packets=200))
    assert (result.kind, result.model, result.values) == ("spectrum", "", {})
    assert not result.reliable and result.reasons
    figure = result.plot(tmp_path / "fid.png")
    assert isinstance(figure, Figure)
    assert_plot_image(tmp_path / "fid.png")
    with pytest.raises(AnalysisError):
        se.analyse(se.simulate("fid", "bare", packets=200), "stretched")


def test_plot_returns_the_figure_and_follows_the_output_rules(echo_record, tmp_path):
    result = se.analyse(echo_record)
    figure = result.plot()
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert list(tmp_path.iterdir()) == []
    path = tmp_path / "fit.png"
    result.plot(path)
    assert_plot_image(path)
    with pytest.raises(OutputPathError, match="exists"):
        result.plot(path)
    with pytest.raises(OutputPathError, match="image format"):
        result.plot(tmp_path / "fit.txt")
    result.plot(path, overwrite=True)


def test_compare_is_spin_echo_compare(echo_record, tmp_path, capsys):
    simulated = se.simulate(ECHO, "bare-t2", packets=300, seed=2)
    result = se.compare(echo_record, simulated)
    reference = compare_records(echo_record, simulated)
    assert result.scale == reference.scale
    assert result.chi2_reduced == reference.chi2_reduced
    assert result.relative_residual == reference.relative_residual
    measured_path = se.save(echo_record, tmp_path / "m.nc")
    simulated_path = se.save(simulated, tmp_path / "s.nc")
    capsys.readouterr()
    assert main(["compare", str(measured_path), str(simulated_path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert se.compare(measured_path, simulated_path).report() == printed
    assert isinstance(result.plot(), Figure)
    assert "reduced chi-square" in result._repr_html_()


def test_fit_recovers_the_truth_of_a_noise_free_record():
    """Common random numbers: at the truth the simulation equals the record exactly.

    The optimum is then the truth to the optimiser's tolerance (xtol 1e-8 on the log scale),
    and the errors scale with the noise given.
    """
    truth = se.load_sample(
        "name: truth\nbias: {distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}\n"
        "tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}\n"
        "packets: 300\nseed: 1\nrelaxation: {T2: 8 us}\n"
    )
    measured = se.simulate(SMALL_HAHN, truth)
    result = se.fit(
        measured,
        truth,
        ["relaxation.T2", "bias.width"],
        values={"relaxation.T2": "10 us", "bias.width": "0.25 MHz"},
        noise_sigma=1e-3,
        max_evaluations=60,
    )
    assert result.converged
    assert result.values["relaxation.T2"] == pytest.approx(8e-6, rel=1e-6)
    assert result.values["bias.width"] == pytest.approx(0.3e6, rel=1e-6)
    assert result.sample.t2_s == pytest.approx(8e-6, rel=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(result.covariance)), list(result.errors.values()))
    assert result.units == {"relaxation.T2": "s", "bias.width": "Hz"}
    fitted = se.load_sample(result.to_yaml())
    assert fitted.t2_s == result.sample.t2_s
    assert "relaxation.T2 = 8.0000" in repr(result)
    assert "bias.width" in result._repr_html_()
    # the noise given (1e-3) is far above the residuals (none): the fit says it is not to be
    # believed as it stands, in its data, its text and its table
    assert not result.reliable
    assert any(r.startswith("reduced chi-square") for r in result.reasons)
    assert "UNRELIABLE: reduced chi-square" in repr(result)
    assert "UNRELIABLE: reduced chi-square" in result._repr_html_()


def test_fit_refuses_bad_options(echo_record):
    with pytest.raises(se.InputError, match="at least one"):
        se.fit(echo_record, "bare-t2", [])
    with pytest.raises(se.InputError) as caught:
        se.fit(echo_record, "bare-t2", ["relaxation.T2"], max_evaluations=0)
    assert caught.value.key == "max_evaluations"


@pytest.mark.parametrize("name", ["ferritin", "tb-grain"])
def test_budget_is_spin_echo_budget(name, capsys):
    result = se.budget(name)
    capsys.readouterr()
    assert main(["budget", name]) == 0
    table, pointer = capsys.readouterr().out.strip().rsplit("\n\n", 1)
    assert repr(result) == result.table() == table
    # the command adds one paragraph pointing to the bench's question (spin-echo design)
    assert pointer.endswith(f"spin-echo design hahn-echo --sample {name} --bench virtual")
    assert main(["budget", name, "--json"]) == 0
    assert result.to_dict() == json.loads(capsys.readouterr().out)
    assert result.conclusion in result.summary()
    assert result.rows[0].equation in result._repr_html_()


def test_read_gives_the_record_of_a_path(echo_record, tmp_path):
    path = se.save(echo_record, tmp_path / "r.nc")
    assert se.read(path).equals(read_record(path))
    assert se.read(echo_record) is echo_record
