"""``spin-echo serve-virtual-lab``: emulated AWG and scope around a simulated sample.

Starts the servers of :class:`spin_echo.drivers.emulated.lab.VirtualLab` on 127.0.0.1, prints their
VISA
resource strings and, with ``--bench-file``, writes a bench file pointing at them; then serves
until Ctrl-C (or ``--duration``). ``spin-echo run PROTOCOL --bench that-file.yaml`` then
rehearses the real VISA drivers end to end against the simulated sample. With
``--magnetometer lakeshore-f71`` (or ``-f41``) an emulated teslameter in the sample's stray
field (``--tesla-per-unit``) is served in place of the scope.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from spin_echo.drivers.bench import DRIVERS
from spin_echo.drivers.emulated.lab import (
    AWG_MODELS,
    MAGNETOMETER_MODELS,
    SCOPE_MODELS,
    VirtualLab,
)
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import add_overwrite_option
from spin_echo.echo.output import OutputFile
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import parse_quantity
from spin_echo.simulator import kernels, load_sample

__all__ = ["check_options", "register", "run"]

_QUANTITIES = {
    "full_scale_rabi": ("frequency", "1 MHz"),
    "amplitude": ("voltage", None),
    "pickup": ("voltage", "1 V"),
    "noise": ("voltage", "0 V"),
    "bandwidth": ("frequency", "200 MHz"),
    "sample_rate": ("frequency", "250 MHz"),
    "range": ("voltage", "4 V"),
    "duration": ("time", None),
    "tesla_per_unit": ("field", "1 mT"),
}
#: Options that must be > 0 (the others, but ``noise``, are checked by the driver's settings).
_POSITIVE = ("full_scale_rabi", "amplitude", "pickup", "bandwidth", "duration", "tesla_per_unit")
#: Options checked against a setting of the emulated model's driver: option -> (role, setting).
_SETTINGS = {
    "amplitude": ("awg", "amplitude_vpp"),
    "sample_rate": ("awg", "sample_rate_hz"),
    "range": ("scope", "range_v"),
    "points": ("scope", "points"),
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve-virtual-lab`` sub-command."""
    parser = sub.add_parser(
        "serve-virtual-lab",
        description="Emulated SCPI instruments on raw TCP sockets of 127.0.0.1, wired through a "
        "simulated sample: rehearse the VISA drivers end to end before touching hardware.",
    )
    parser.add_argument(
        "--sample", required=True, metavar="SAMPLE", help="built-in sample name or YAML path"
    )
    parser.add_argument("--awg", choices=sorted(AWG_MODELS), default="keysight-33600a")
    parser.add_argument("--scope", choices=sorted(SCOPE_MODELS), default="keysight-infiniivision")
    parser.add_argument(
        "--magnetometer",
        choices=sorted(MAGNETOMETER_MODELS),
        help="serve this teslameter as the detector instead of the scope (its probe reads "
        "--tesla-per-unit per unit normalised magnetisation; the bench file gets a "
        "magnetometer block)",
    )
    for name, (kind, default) in _QUANTITIES.items():
        shown = f" (default {default})" if default else ""
        parser.add_argument(
            f"--{name.replace('_', '-')}", metavar=kind.upper(), help=f"{kind}{shown}"
        )
    parser.add_argument("--seed", type=whole_number, default=1, help="noise seed (default 1)")
    parser.add_argument(
        "--points", type=whole_number, default=4000, help="scope record length in the bench file"
    )
    parser.add_argument(
        "--bench-file", type=Path, help="write a bench file pointing at the servers"
    )
    add_overwrite_option(parser)
    parser.set_defaults(func=run)


def _quantity(args: argparse.Namespace, name: str) -> float | None:
    kind, default = _QUANTITIES[name]
    text = getattr(args, name) or default
    if text is None:
        return None
    try:
        value = parse_quantity(text, kind)
    except InputError as err:
        raise InputError(err.message, file=f"--{name.replace('_', '-')}", value=text) from None
    if not math.isfinite(value) or (value <= 0 if name in _POSITIVE else value < 0):
        sign = "positive" if name in _POSITIVE else "non-negative"
        raise InputError(
            f"must be a {sign} finite {kind}", file=f"--{name.replace('_', '-')}", value=text
        )
    return value


def check_options(args: argparse.Namespace) -> dict[str, float | None]:
    """Return the quantities of the options, each checked (before any server starts).

    Raises
    ------
    InputError
        Naming the option: a value that does not parse, is not finite, is not positive (or, for
        ``--noise``, negative), is outside the emulated model's own limits (amplitude and sample
        rate of the AWG, range and record length of the scope), a negative ``--seed``, or a
        ``--bench-file`` in a folder that does not exist.
    """
    values = {name: _quantity(args, name) for name in _QUANTITIES}
    values["points"] = args.points
    models = {"awg": DRIVERS[args.awg], "scope": DRIVERS[args.scope]}
    for name, (role, setting) in _SETTINGS.items():
        if role == "scope" and args.magnetometer is not None:
            continue  # no scope is served
        value = values[name]
        why = None if value is None else models[role].SETTINGS[setting].violation(value, {})
        if why is not None:
            shown = args.points if name == "points" else getattr(args, name)
            raise InputError(
                f"{why} ({models[role].DRIVER})", file=f"--{name.replace('_', '-')}", value=shown
            )
    if args.seed < 0:
        raise InputError("must be a whole number >= 0", file="--seed", value=args.seed)
    folder = None if args.bench_file is None else args.bench_file.parent
    if folder is not None and not folder.is_dir():
        raise InputError("cannot write the bench file: no such folder", file=str(args.bench_file))
    return values


def run(args: argparse.Namespace) -> int:
    """Start the lab, print its resources, serve until Ctrl-C or ``--duration``."""
    values = check_options(args)
    bench_file = None
    if args.bench_file is not None:
        bench_file = OutputFile(args.bench_file, overwrite=args.overwrite, option="--bench-file")
    sample = load_sample(args.sample)
    front_end = FrontEnd(
        pickup_v=values["pickup"],
        bandwidth_hz=values["bandwidth"],
        noise_v=values["noise"],
        seed=args.seed,
    )
    lab = VirtualLab(
        sample,
        awg=args.awg,
        scope=args.magnetometer or args.scope,
        full_scale_rabi_hz=values["full_scale_rabi"],
        amplitude_vpp=values["amplitude"],
        front_end=front_end,
        tesla_per_unit_t=values["tesla_per_unit"],
    )
    duration = values["duration"]
    # a server plays waveforms until stopped: its work is unbounded, so one kernel backend (the
    # default, numba where installed) for all of them, not numpy for each small one
    with kernels.backend_for_run(math.inf), lab:
        awg, scope = lab.resources
        print(f"virtual lab around sample {sample.name!r}:", flush=True)
        print(f"  awg    {args.awg:24s} {awg}", flush=True)
        detector = args.magnetometer or args.scope
        print(f"  {'meter' if args.magnetometer else 'scope'}  {detector:24s} {scope}", flush=True)
        if bench_file is not None:
            text = lab.bench_yaml(
                sample_rate_hz=values["sample_rate"], points=args.points, range_v=values["range"]
            )
            with bench_file:
                bench_file.partial.write_text(text, encoding="utf-8")
            print(
                f"bench file: {args.bench_file} (spin-echo run PROTOCOL --bench {args.bench_file})",
                flush=True,
            )
        print(
            "serving until Ctrl-C" if duration is None else f"serving for {duration:g} s",
            flush=True,
        )
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.1)
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0
