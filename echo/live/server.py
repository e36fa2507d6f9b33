"""The live view as a local web page: an HTTP server on 127.0.0.1 (standard library only).

Three addresses: ``/`` the page (``page.html``, package data), ``/state.json`` the current
:class:`~spin_echo.echo.live.state.LiveState` (status, points, fit, notes, figure version) and
``/figure.png`` the current figure. The page asks for the state twice a second and loads the
figure again when its version changed. Nothing is cached (``Cache-Control: no-store``); the
server listens on the loopback interface only and logs nothing.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from spin_echo.echo.live.state import LiveState
from spin_echo.sequences.errors import InputError

__all__ = ["LiveServer", "check_port"]

#: Where the server listens: the loopback interface only.
HOST = "127.0.0.1"


def check_port(port: int) -> int:
    """Return ``port`` if it is 0 (any free port) or a TCP port 1-65535; else raise InputError."""
    if not 0 <= port <= 65535:
        raise InputError("must be a TCP port from 1 to 65535, or 0 for any free one",
                         key="--port", value=port)  # fmt: skip
    return port


class LiveServer:
    """Serve the page, the state and the figure of a live view on ``127.0.0.1:port``.

    Parameters
    ----------
    state
        The state to serve first; :meth:`publish` replaces it.
    port
        TCP port (0: a free one, chosen by the system).

    Raises
    ------
    InputError
        The port cannot be used (in use, or reserved).
    """

    def __init__(self, state: LiveState, *, port: int = 0) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._served: tuple[int, bool, bool] = (-1, False, False)  # version, final state, figure
        self.last_request = -float("inf")
        self.page = resources.files("spin_echo.echo.live").joinpath("page.html").read_bytes()
        handler = _handler(self)
        try:
            self._http = ThreadingHTTPServer((HOST, check_port(port)), handler)
        except OSError as err:
            raise InputError(f"cannot listen on {HOST}: {err.strerror}", key="--port",
                             value=port) from None  # fmt: skip
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        """The page's address, ``http://127.0.0.1:PORT/``."""
        return f"http://{HOST}:{self._http.server_address[1]}/"

    def start(self) -> LiveServer:
        """Start serving in a background thread; return self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def publish(self, state: LiveState) -> None:
        """Serve ``state`` from now on."""
        with self._lock:
            self._state = state

    def current(self) -> LiveState:
        """Return the state being served."""
        with self._lock:
            return self._state

    def note_served(self, state: LiveState, *, figure: bool) -> None:
        """Remember that a page got ``state`` (``figure``: its figure, else its JSON)."""
        with self._lock:
            self.last_request = time.monotonic()
            version, final, drawn = self._served
            if version != state.version:
                final, drawn = False, False
            self._served = (
                state.version,
                final or (not figure and state.final),
                drawn or figure or state.figure_png is None,
            )

    def final_delivered(self) -> bool:
        """Return True once a page has fetched the final state and, if it has one, its figure."""
        with self._lock:
            version, final, drawn = self._served
            return version == self._state.version and final and drawn

    def linger(self, *, timeout_s: float = 5.0, recent_s: float = 10.0) -> None:
        """Keep serving the final state until a page open now has fetched it (at most timeout_s).

        Returns at once when no page asked for anything in the last ``recent_s`` seconds.
        """
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and time.monotonic() - self.last_request < recent_s:
            if self.final_delivered():
                return
            time.sleep(0.05)


def _handler(server: LiveServer) -> type[BaseHTTPRequestHandler]:
    """Return the request handler class bound to ``server``."""

    class Handler(BaseHTTPRequestHandler):
        """GET ``/``, ``/state.json`` and ``/figure.png``; anything else is 404."""

        def do_GET(self) -> None:
            route = self.path.split("?", 1)[0]
            state = server.current()
            if route in ("/", "/index.html"):
                self._send(server.page, "text/html; charset=utf-8")
            elif route == "/state.json":
                body = json.dumps(state.as_json(), allow_nan=False, default=str)
                server.note_served(state, figure=False)
                self._send(body.encode(), "application/json")
            elif route == "/figure.png" and state.figure_png is not None:
                server.note_served(state, figure=True)
                self._send(state.figure_png, "image/png")
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Log nothing (the terminal shows the watch's own lines)."""

    return Handler
