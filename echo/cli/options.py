"""Options shared by several sub-commands (``--set k=v``, ``--plot``, ``-o``)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.output import OutputFile, check_output, image_formats
from spin_echo.echo.record_resume import check_resume
from spin_echo.sequences.errors import InputError
from spin_echo.simulator.limits import MAX_PACKETS as SAMPLE_MAX_PACKETS

__all__ = [
    "MAX_PACKETS",
    "MAX_SEED",
    "add_executor_options",
    "add_live_option",
    "add_overwrite_option",
    "add_resume_option",
    "add_set_option",
    "check_counts",
    "image_output",
    "parse_sets",
    "record_outputs",
]

#: Suffixes of image files, which a record's ``-o`` may not have (a fixed list: asking
#: matplotlib for its formats costs a quarter of a second of import).
_IMAGE_SUFFIXES = frozenset(
    (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".tif", ".tiff", ".eps", ".ps", ".webp", ".gif")
)
#: Largest ``--packets``: the bound of a sample file's ``packets`` (one constant).
MAX_PACKETS = SAMPLE_MAX_PACKETS

#: Largest ``--seed`` (a record stores the seed as a 64-bit signed integer).
MAX_SEED = 2**63 - 1


def add_set_option(
    parser: argparse.ArgumentParser,
    *,
    what: str = "a protocol parameter",
    example: str = "tau='2 us'",
) -> None:
    """Add the repeatable ``--set NAME=VALUE`` option to ``parser``.

    Parameters
    ----------
    parser
        The sub-command's parser.
    what
        What NAME names, for the help text.
    example
        A ``NAME=VALUE`` that this sub-command accepts, shown in the help text.
    """
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override {what}, e.g. --set {example} (repeatable)",
    )


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` (:func:`~.executor.make_executor`)."""
    group = parser.add_argument_group("scale-out")
    group.add_argument(
        "--workers", type=whole_number, metavar="N", help="run sweep points in N local processes"
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run sweep points on a dask.distributed cluster, e.g. tcp://host:8786 "
        "(default: $SPIN_ECHO_SCHEDULER if set)",
    )


def parse_sets(items: list[str]) -> dict[str, str]:
    """Turn ``["tau=2 us", ...]`` into ``{"tau": "2 us"}``; raise InputError on bad items."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError("expected NAME=VALUE, e.g. tau='2 us'", file="--set", value=item)
        result[name.strip()] = value.strip()
    return result


def add_overwrite_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--overwrite``: replace existing output files, each once its new version is complete."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files, each only once its new version is complete "
        "(default: refuse to touch an existing file)",
    )


def add_resume_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--resume``: continue the interrupted record ``-o`` in place."""
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted record given by -o in place: same protocol, --set, "
        "sample or bench, seed, ... (refused, naming what differs, otherwise); finished "
        "points are kept, and the record ends as an uninterrupted run's",
    )


def add_live_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--live``: show the record's figure and fit as the run writes it (``watch``)."""
    parser.add_argument(
        "--live",
        action="store_true",
        help="show the record's figure and fit as points arrive, as spin-echo watch does "
        "(a window, or a local web page whose address is printed), from its own process",
    )


def check_counts(args: argparse.Namespace) -> None:
    """Check ``--seed``, ``--packets`` and the kernel settings before anything runs.

    The environment variables that choose the propagator's kernels (``SPIN_ECHO_KERNELS``,
    ``SPIN_ECHO_THREADS``) are read here too, so a bad one is refused before any file is
    written.

    Raises
    ------
    InputError
        ``--seed`` outside ``0 ... MAX_SEED``, ``--packets`` outside ``1 ... MAX_PACKETS``, or a
        bad kernel setting (:class:`~spin_echo.simulator.kernels.KernelError`).
    """
    from spin_echo.simulator import kernels

    kernels.default_backend()
    kernels.default_threads()
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InputError("must be a whole number from 0 to 2**63 - 1", key="--seed", value=seed)
    packets = getattr(args, "packets", None)
    if packets is not None and not 1 <= packets <= MAX_PACKETS:
        raise InputError(
            f"must be a whole number from 1 to {MAX_PACKETS:,}", key="--packets", value=packets
        )


def image_output(
    path: Path | None,
    *,
    overwrite: bool,
    option: str = "--plot",
    inputs: Iterable[str | Path | None] = (),
) -> OutputFile | None:
    """Return the checked :class:`~spin_echo.echo.output.OutputFile` of an image (None: none).

    The path's format must be one matplotlib writes (:func:`~spin_echo.echo.output.image_formats`)
    and its folder must exist; an existing file needs ``overwrite``. Nothing is created until the
    returned object is entered.
    """
    if path is None:
        return None
    return OutputFile(
        path, overwrite=overwrite, option=option, formats=image_formats(), inputs=inputs
    )


@contextlib.contextmanager
def record_outputs(
    args: argparse.Namespace,
    *,
    stem: str,
    inputs: Iterable[str | Path | None],
    resume_attrs: Mapping[str, Any] | None = None,
) -> Iterator[Path]:
    """Check a run's record (``-o``) and image (``--plot``) paths; draw the image after the run.

    Both paths are checked before the run starts (:func:`~spin_echo.echo.output.check_output`,
    :func:`image_output`); the body writes the record at the yielded path. When it returns,
    the record's path is printed and, with ``--plot``, the record is drawn (matplotlib is
    imported only then) and the image put in place.

    Parameters
    ----------
    args
        The command's arguments: ``output`` (None: ``STEM-<time>.nc``), ``plot``, ``overwrite``,
        ``live`` (``--live``: :func:`~spin_echo.echo.live.launch.live_view` beside the run).
    stem
        Start of the default record name (``PROTOCOL-SAMPLE`` or ``PROTOCOL-BENCH``).
    inputs
        The command's input files, which no output may be.
    resume_attrs
        With ``--resume`` (``args.resume``): the record attributes the run will write that
        are known before it starts, checked against the record's here
        (:func:`~spin_echo.echo.record_resume.check_resume`; the run checks them all again).
    """
    output = args.output
    resume = getattr(args, "resume", False)
    if resume and output is None:
        raise InputError("needs -o RECORD, the interrupted record to continue", key="--resume")
    if resume and args.overwrite:
        raise InputError(
            "give either --resume (continue the record) or --overwrite (replace it), not both",
            key="--resume",
        )
    if output is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        output = Path(f"{stem}-{stamp}.nc")
    inputs = tuple(inputs)
    if Path(output).suffix.lower() in _IMAGE_SUFFIXES:
        raise InputError(
            "is an image's name; a record is a netCDF file (name it .nc, and give --plot for "
            "an image)",
            key="-o",
            value=str(output),
        )
    check_output(output, overwrite=args.overwrite or resume, inputs=inputs)
    if resume:
        check_resume(output, resume_attrs or {})
    plot = image_output(args.plot, overwrite=args.overwrite, inputs=(*inputs, output))
    with contextlib.ExitStack() as stack:
        if plot is not None:
            stack.enter_context(plot)
        if getattr(args, "live", False):
            from spin_echo.echo.live.launch import live_view

            stack.enter_context(live_view(output))
        yield output
        print(f"record: {output}")
        if plot is not None:
            from spin_echo.echo.plots import plot_record
            from spin_echo.echo.record import read_record

            plot_record(read_record(output), plot.partial)
    if plot is not None:
        print(f"plot: {plot.path}")
