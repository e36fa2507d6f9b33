"""The live view in a matplotlib window, and the choice between a window and the web page.

The window shows the PNG that :class:`~spin_echo.echo.live.state.RecordWatcher` draws (the
figure of ``spin-echo plot``, pixel for pixel) and the status in its title. A window needs a
display: :func:`choose_view` takes one where there is one (``DISPLAY`` or ``WAYLAND_DISPLAY``,
macOS, Windows, or an interactive backend named by ``MPLBACKEND``) and the web page otherwise.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Mapping
from typing import Any

from spin_echo.echo.live.state import LiveState
from spin_echo.sequences.errors import InputError

__all__ = [
    "VIEWS",
    "choose_view",
    "interactive_backend",
    "show_in_window",
    "window_backend",
]

#: The values of ``watch --view``.
VIEWS = ("auto", "window", "web")

#: Backends that draw to files only (lower case, as matplotlib names them).
_FILE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def interactive_backend(name: str | None) -> bool:
    """Return True if ``name`` is a matplotlib backend that opens windows (``tkagg``, ``qtagg``)."""
    if not name:
        return False
    name = name.lower()
    return not (name in _FILE_BACKENDS or name.startswith("module://matplotlib_inline"))


def choose_view(requested: str, environ: Mapping[str, str], platform: str = sys.platform) -> str:
    """Return ``"window"`` or ``"web"``: the view ``watch --view REQUESTED`` shows.

    Parameters
    ----------
    requested
        One of :data:`VIEWS`; ``auto`` picks the window where there is a display.
    environ
        The environment (``DISPLAY``, ``WAYLAND_DISPLAY``, ``MPLBACKEND``).
    platform
        ``sys.platform``: macOS and Windows always have a display.

    Raises
    ------
    InputError
        ``requested`` is not one of :data:`VIEWS`.
    """
    if requested not in VIEWS:
        raise InputError(f"must be one of {', '.join(VIEWS)}", key="--view", value=requested)
    if requested != "auto":
        return requested
    backend = environ.get("MPLBACKEND", "")
    if backend and not interactive_backend(backend):
        return "web"  # the user chose a file backend: no window
    if interactive_backend(backend):
        return "window"
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return "window"
    return "web" if platform not in ("darwin", "win32") else "window"


def window_backend() -> str | None:
    """Return the backend pyplot opens windows with, or None when it can only draw to files.

    Importing :mod:`matplotlib.pyplot` resolves the backend: without a usable GUI toolkit
    matplotlib falls back to Agg, which would show nothing.
    """
    import matplotlib
    import matplotlib.pyplot  # resolves the backend

    backend = matplotlib.get_backend()
    return backend if interactive_backend(backend) else None


def show_in_window(
    poll: Callable[[], LiveState], *, every_s: float, on_change: Callable[[LiveState], None]
) -> LiveState:
    """Show the live figure in a matplotlib window until the record is complete.

    Parameters
    ----------
    poll
        Returns the current state (:meth:`~spin_echo.echo.live.state.RecordWatcher.poll`).
    every_s
        How often to poll.
    on_change
        Called with each state whose status, points or figure changed (the terminal's line).

    Returns
    -------
    LiveState
        The final state. The window stays open with the final figure until it is closed (and
        closes at once when there is no figure: a record that cannot be drawn).
    """
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    figure = plt.figure("spin-echo watch")
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    image: Any = None
    shown = (-1, "", -1)
    state = poll()
    while True:
        key = (state.version, state.status, state.points_done)
        if key != shown:
            on_change(state)
            if state.figure_png is not None and state.version != shown[0]:
                pixels = mpimg.imread(io.BytesIO(state.figure_png), format="png")
                if image is None:
                    image = ax.imshow(pixels)
                    height, width = pixels.shape[:2]
                    figure.set_size_inches(width / 100, height / 100)
                else:
                    image.set_data(pixels)
            figure.canvas.manager.set_window_title(f"{state.record}: {state.line()}")
            figure.canvas.draw_idle()
            shown = key
        if state.final or not plt.fignum_exists(figure.number):
            break
        plt.pause(every_s)
        state = poll()
    if plt.fignum_exists(figure.number):
        if state.figure_png is None:  # nothing to show: a record that cannot be drawn
            plt.close(figure)
        else:
            plt.show()
    return state
