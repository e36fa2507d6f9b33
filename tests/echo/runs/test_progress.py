"""Runs report progress through a callback; the bar draws only on a terminal."""

from __future__ import annotations

import io

from spin_echo.echo.runs.progress import Progress
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_simulation_reports_every_point_in_order(tmp_path):
    protocol = load_protocol("hahn-echo").with_overrides({"window": "2 us"})
    calls: list[tuple[int, int]] = []
    simulate_protocol(
        protocol,
        load_sample("bare"),
        tmp_path / "r.nc",
        packets=20,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = len(list(protocol.iter_points()))
    assert calls == [(done, total) for done in range(1, total + 1)]


def test_bar_draws_on_a_terminal_and_not_in_a_pipe():
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = Progress(0, "simulate x", stream=stream)
        for done in range(1, 5):
            bar(done, 4)
    assert pipe.getvalue() == ""
    frames = terminal.getvalue().split("\r")[1:]
    assert [frame.split("]")[1].split()[0] for frame in frames] == ["1/4", "2/4", "3/4", "4/4"]
    assert terminal.getvalue().endswith("\n")
