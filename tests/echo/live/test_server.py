"""The live view's web server over real loopback TCP, and the choice of window or page."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from spin_echo.echo.live.server import LiveServer, check_port
from spin_echo.echo.live.state import LiveState
from spin_echo.echo.live.window import choose_view, interactive_backend
from spin_echo.sequences.errors import InputError

PNG = b"\x89PNG\r\n\x1a\nfake"


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_page_state_and_figure():
    state = LiveState(record="r.nc", status="waiting", message="waiting for the first point")
    with LiveServer(state) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/")
        status, headers, body = get(server.url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'id="status"' in body and b"state.json" in body
        status, headers, body = get(server.url + "state.json")
        assert headers["Cache-Control"] == "no-store"
        assert json.loads(body) == state.as_json()
        with pytest.raises(urllib.error.HTTPError) as err:
            get(server.url + "figure.png")  # no figure before the first point
        assert err.value.code == 404

        drawn = LiveState(record="r.nc", status="complete", points_done=2, points_total=2,
                          version=1, figure_png=PNG)  # fmt: skip
        server.publish(drawn)
        assert not server.final_delivered()
        assert json.loads(get(server.url + "state.json")[2])["status"] == "complete"
        assert not server.final_delivered()  # the page has not loaded the final figure yet
        status, headers, body = get(server.url + "figure.png?v=1")
        assert (body, headers["Content-Type"]) == (PNG, "image/png")
        assert server.final_delivered()
        server.linger(timeout_s=30.0)  # returns at once: delivered
        with pytest.raises(urllib.error.HTTPError) as err:
            get(server.url + "other")
        assert err.value.code == 404


def test_linger_without_pages_returns_at_once():
    with LiveServer(LiveState(record="r.nc", status="complete")) as server:
        server.linger(timeout_s=30.0)
        assert not server.final_delivered()


def test_ports():
    assert check_port(0) == 0 and check_port(65535) == 65535
    for port in (-1, 65536, 10**6):
        with pytest.raises(InputError, match="--port"):
            check_port(port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=f"--port = {port}: cannot listen on 127.0.0.1"):
            LiveServer(LiveState(record="r.nc"), port=port)


@pytest.mark.parametrize(
    ("requested", "environ", "platform", "view"),
    [
        ("auto", {}, "linux", "web"),
        ("auto", {"DISPLAY": ":0"}, "linux", "window"),
        ("auto", {"WAYLAND_DISPLAY": "wayland-0"}, "linux", "window"),
        ("auto", {"DISPLAY": ""}, "linux", "web"),
        ("auto", {"MPLBACKEND": "TkAgg"}, "linux", "window"),
        ("auto", {"MPLBACKEND": "qtagg"}, "linux", "window"),
        ("auto", {"MPLBACKEND": "Agg", "DISPLAY": ":0"}, "linux", "web"),
        ("auto", {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}, "linux", "web"),
        ("auto", {}, "darwin", "window"),
        ("auto", {}, "win32", "window"),
        ("auto", {"MPLBACKEND": "pdf"}, "darwin", "web"),
        ("web", {"DISPLAY": ":0"}, "linux", "web"),
        ("window", {}, "linux", "window"),
    ],
)
def test_choose_view(requested, environ, platform, view):
    assert choose_view(requested, environ, platform) == view


def test_choose_view_refuses_unknown():
    with pytest.raises(InputError, match="--view = 'browser': must be one of auto, window, web"):
        choose_view("browser", {})
    assert not interactive_backend(None) and not interactive_backend("SVG")


def test_the_window_loop_on_agg(tmp_path):
    """show_in_window draws each new figure into one image and stops at the final state."""
    import matplotlib.pyplot as plt

    from spin_echo.echo.live.window import show_in_window, window_backend

    if window_backend() is not None:
        pytest.skip(f"pyplot opens real windows here ({plt.get_backend()})")
    figure = plt.figure()
    figure.savefig(tmp_path / "a.png", dpi=20)
    png = (tmp_path / "a.png").read_bytes()
    states = iter([
        LiveState(record="r.nc", status="waiting"),
        LiveState(record="r.nc", status="running", points_done=1, points_total=2, version=1,
                  figure_png=png),
        LiveState(record="r.nc", status="complete", points_done=2, points_total=2, version=2,
                  figure_png=png),
    ])  # fmt: skip
    seen = []
    final = show_in_window(lambda: next(states), every_s=0.001, on_change=seen.append)
    window = plt.figure("spin-echo watch")
    assert final.final and [s.status for s in seen] == ["waiting", "running", "complete"]
    assert len(window.axes[0].images) == 1
    assert window.axes[0].images[0].get_array().shape[:2] == (96, 128)
    plt.close("all")
