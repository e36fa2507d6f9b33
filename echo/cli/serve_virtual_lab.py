"""``spin-echo serve-virtual-lab``: emulated AWG and scope around a simulated sample.

Starts the servers of :class:`spin_echo.drivers.emulated.lab.VirtualLab` on 127.0.0.1, prints their
VISA
resource strings and, with ``--bench-file``, writes a bench file pointing at them; then serves
until Ctrl-C (or ``--duration``). ``spin-echo run PROTOCOL --bench that-file.yaml`` then
rehearses the real VISA drivers end to end against the simulated sample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spin_echo.drivers.emulated.lab import AWG_MODELS, SCOPE_MODELS, VirtualLab
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.cli.options import add_overwrite_option
from spin_echo.echo.output import OutputFile
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import parse_quantity
from spin_echo.simulator import load_sample

__all__ = ["register", "run"]

_QUANTITIES = {
    "full_scale_rabi": ("frequency", "1 MHz"),
    "amplitude": ("voltage", None),
    "pickup": ("voltage", "1 V"),
    "noise": ("voltage", "0 V"),
    "bandwidth": ("frequency", "200 MHz"),
    "sample_rate": ("frequency", "250 MHz"),
    "range": ("voltage", "4 V"),
    "duration": ("time", None),
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve-virtual-lab`` sub-command."""
    parser = sub.add_parser(
        "serve-virtual-lab",
        help="serve an emulated AWG and scope on 127.0.0.1 around a simulated sample",
        description="Emulated SCPI instruments on raw TCP sockets of 127.0.0.1, wired through a "
        "simulated sample: rehearse the VISA drivers end to end before touching hardware.",
    )
    parser.add_argument(
        "--sample", required=True, metavar="SAMPLE", help="built-in sample name or YAML path"
    )
    parser.add_argument("--awg", choices=sorted(AWG_MODELS), default="keysight-33600a")
    parser.add_argument("--scope", choices=sorted(SCOPE_MODELS), default="keysight-infiniivision")
    for name, (kind, default) in _QUANTITIES.items():
        shown = f" (default {default})" if default else ""
        parser.add_argument(
            f"--{name.replace('_', '-')}", metavar=kind.upper(), help=f"{kind}{shown}"
        )
    parser.add_argument("--seed", type=int, default=1, help="noise seed (default 1)")
    parser.add_argument(
        "--points", type=int, default=4000, help="scope record length in the bench file"
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
        return parse_quantity(text, kind)
    except InputError as err:
        raise InputError(err.message, file=f"--{name.replace('_', '-')}", value=text) from None


def run(args: argparse.Namespace) -> int:
    """Start the lab, print its resources, serve until Ctrl-C or ``--duration``."""
    values = {name: _quantity(args, name) for name in _QUANTITIES}
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
        scope=args.scope,
        full_scale_rabi_hz=values["full_scale_rabi"],
        amplitude_vpp=values["amplitude"],
        front_end=front_end,
    )
    duration = values["duration"]
    with lab:
        awg, scope = lab.resources
        print(f"virtual lab around sample {sample.name!r}:", flush=True)
        print(f"  awg    {args.awg:24s} {awg}", flush=True)
        print(f"  scope  {args.scope:24s} {scope}", flush=True)
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
