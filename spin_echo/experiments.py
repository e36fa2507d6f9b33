"""Run experiments from Python: simulate a protocol, run it on a bench, save what came out.

:func:`simulate` and :func:`run` go through the same code as ``spin-echo simulate`` and
``spin-echo run`` (:func:`spin_echo.echo.runs.simulation.simulate_protocol`,
:func:`spin_echo.echo.runs.lab_run.run_protocol`): the record is written point by point to a
file -- a temporary one unless ``path`` is given -- and returned in memory as an
:class:`xarray.Dataset` with exactly the variables, coordinates and attributes of the record
file (README, "Records"). :func:`save` writes a record, a protocol, a sample or a bench with
the command line's rules: an existing file is refused unless ``overwrite=True``, and then
replaced only once the new one is complete. :func:`virtual_lab` starts the emulated AWG and
scope of ``spin-echo serve-virtual-lab`` around a simulated sample, for a rehearsal of the real
VISA drivers.
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spin_echo.loading import check_seed_packets, load_bench, load_protocol, load_sample
from spin_echo.sequences.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

    from spin_echo.drivers.config import BenchSpec
    from spin_echo.drivers.emulated.lab import VirtualLab
    from spin_echo.sequences.protocol import Protocol
    from spin_echo.simulator.sample import Sample

__all__ = ["run", "save", "simulate", "virtual_lab"]

#: Label of a record held in memory, in messages (its temporary file is gone).
MEMORY_RECORD = "<record>"


def _in_memory(path: Path) -> xr.Dataset:
    """Read the record at ``path`` into memory, detached from the file (named ``<record>``)."""
    from spin_echo.echo.record import read_record

    dataset = read_record(path).copy()
    dataset.encoding = {}
    return dataset


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """Return a progress callback that draws a bar on ``sys.stderr``, terminal or not."""
    from spin_echo.echo.runs.progress import Progress

    bar = Progress(0, label, stream=sys.stderr)
    bar.enabled = True
    return bar


def _record(
    path: str | Path | None,
    overwrite: bool,
    write: Callable[[Path], object],
    *,
    resume: bool = False,
) -> Any:
    """Write a record with ``write(target)`` at ``path`` (checked first) or a temporary file.

    With ``resume`` the record at ``path`` is continued (``write`` resumes it); it must exist.
    """
    from spin_echo.echo.output import check_output

    if resume:
        if path is None:
            raise InputError("needs path, the interrupted record to continue", key="resume")
        if overwrite:
            raise InputError(
                "give either resume (continue the record) or overwrite (replace it), not both",
                key="resume",
            )
    if path is not None:
        target = check_output(path, overwrite=overwrite or resume, option="path")
        write(target)
        return _in_memory(target)
    with tempfile.TemporaryDirectory(prefix="spin-echo-") as folder:
        target = Path(folder) / "record.nc"
        write(target)
        return _in_memory(target)


def simulate(
    protocol: Protocol | str | Path,
    sample: Sample | str | Path,
    *,
    values: Mapping[str, str] | None = None,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    path: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> xr.Dataset:
    """Simulate every sweep point and phase step of a protocol on a sample (``spin-echo simulate``).

    Parameters
    ----------
    protocol, sample
        Objects, built-in names, paths or YAML text (:func:`spin_echo.load_protocol`,
        :func:`spin_echo.load_sample`).
    values
        Protocol parameters to set, ``{"tau": "3 us"}`` (as ``--set``; a swept parameter set
        here runs at that one value).
    frame
        ``"rotating"`` (rotating-wave approximation, fast) or ``"lab"`` (exact, with the
        carrier, as the virtual bench plays the sampled waveform).
    packets, seed
        Override the sample's packet count and seed.
    workers, scheduler
        Run sweep points in ``workers`` local processes, or on the dask cluster at
        ``scheduler`` (``"tcp://host:8786"``); the record is the same bit for bit.
    progress
        Draw a progress bar on ``sys.stderr`` (else nothing is drawn).
    path
        Also keep the record file there (written point by point; default: a temporary file).
    overwrite
        Replace an existing ``path`` once the new record is complete.
    resume
        Continue the interrupted record at ``path`` (``--resume``): the same protocol,
        values, sample, seed, packets and frame; its finished points are kept and the record
        ends bit for bit as an uninterrupted run's.

    Returns
    -------
    xarray.Dataset
        The record, in memory: ``signal_re``, ``signal_im``, ``mz``, ``signal_sem_re``,
        ``signal_sem_im`` over ``(<sweep axes>..., time)``, and the attributes ``protocol``,
        ``sample``, ``source``, ``seed``, ``frame``, ... of a record file.

    Raises
    ------
    InputError
        Bad input (a protocol, sample or value; ``frame``, ``seed``, ``packets``; an output
        path that exists without ``overwrite``), before any packet is drawn.

    Examples
    --------
    >>> import spin_echo as se
    >>> record = se.simulate("hahn-echo", "bare-t2", packets=400)
    >>> record.signal_re.dims, record.sizes["tau"], record.sizes["time"]
    (('tau', 'time'), 12, 256)
    >>> record.attrs["source"], int(record.attrs["complete"])
    ('simulate', 1)
    """
    from spin_echo.echo.runs.executor import make_executor
    from spin_echo.echo.runs.simulation import simulate_protocol
    from spin_echo.simulator.environment import FRAMES

    protocol = load_protocol(protocol)
    if values:
        protocol = protocol.with_overrides(values)
    sample = load_sample(sample)
    if frame not in FRAMES:
        raise InputError(f"must be one of {', '.join(FRAMES)}", key="frame", value=frame)
    check_seed_packets(seed, packets)

    def write(target: Path) -> None:
        with make_executor(workers=workers, scheduler=scheduler) as executor:
            simulate_protocol(
                protocol,
                sample,
                target,
                seed=seed,
                packets=packets,
                frame=frame,
                map_function=executor.map,
                overwrite=overwrite,
                resume=resume,
                progress=_progress_bar(f"simulate {protocol.name}") if progress else None,
            )

    return _record(path, overwrite, write, resume=resume)


def run(
    protocol: Protocol | str | Path,
    bench: BenchSpec | str | Path,
    *,
    sample: Sample | str | Path | None = None,
    values: Mapping[str, str] | None = None,
    seed: int | None = None,
    path: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> xr.Dataset:
    """Play a protocol on a bench, virtual or real, and return the record (``spin-echo run``).

    For each sweep point and phase step the protocol is compiled for the bench's AWG, uploaded,
    triggered and acquired ``shots`` times; the shots are averaged and demodulated at the
    carrier, with their standard error in ``signal_sem_re``/``signal_sem_im``.

    Parameters
    ----------
    protocol, bench
        Objects, built-in names, paths or YAML text (:func:`spin_echo.load_bench`).
    sample
        The sample behind a virtual bench (required there), stored in the record.
    values
        Protocol parameters to set, ``{"tau": "3 us"}``.
    seed
        Noise seed of a virtual detector.
    path
        Also keep the record file there (written point by point, so that an instrument failure
        leaves every finished point on disk; default: a temporary file).
    overwrite
        Replace an existing ``path`` once the new record is complete.
    resume
        Continue the interrupted record at ``path`` (``--resume``): the same protocol,
        values, bench, sample and seed; on the virtual bench it ends bit for bit as an
        uninterrupted run's.

    Returns
    -------
    xarray.Dataset
        The record, in memory, as ``spin-echo run`` writes it (``source = run:<bench>``).

    Raises
    ------
    InputError
        Bad input, or a protocol that the bench's AWG cannot play, before any instrument is
        contacted.
    InstrumentError
        An instrument failed, timed out or refused a command.

    Examples
    --------
    >>> import spin_echo as se
    >>> record = se.run("hahn-echo", "virtual", sample="bare-t2", values={"tau": "4 us"})
    >>> dict(record.sizes), record.attrs["source"]
    ({'time': 256}, 'run:virtual')
    """
    from spin_echo.drivers.bench import check_protocol_fits, open_bench
    from spin_echo.echo.runs.lab_run import run_protocol

    protocol = load_protocol(protocol)
    if values:
        protocol = protocol.with_overrides(values)
    spec = load_bench(bench)
    check_protocol_fits(spec, protocol)
    sample = None if sample is None else load_sample(sample)
    check_seed_packets(seed, None)

    def write(target: Path) -> None:
        with open_bench(spec, sample=sample, seed=seed) as opened:
            run_protocol(
                protocol, opened, target, sample=sample, overwrite=overwrite, resume=resume
            )

    return _record(path, overwrite, write, resume=resume)


def save(
    item: xr.Dataset | Protocol | Sample | BenchSpec, path: str | Path, *, overwrite: bool = False
) -> Path:
    """Write a record (NetCDF), a protocol, a sample or a bench (YAML) to ``path``.

    The command line's rules: the folder must exist, an existing file is refused unless
    ``overwrite``, and it is then replaced in one rename once the new file is complete; a
    second writer of the same path is refused.

    Parameters
    ----------
    item
        A record (:func:`simulate`, :func:`run`), or an object of :mod:`spin_echo.loading`.
    path
        The file to write (``.nc`` for a record, ``.yaml`` for the others).
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputPathError
        The path may not be written (it exists, its folder is missing, ...); nothing written.
    OutputWriteError
        The disk refused the write (the error of the operating system is named).
    TypeError
        ``item`` is none of the above.

    Examples
    --------
    >>> import os, tempfile
    >>> import spin_echo as se
    >>> sample = se.load_sample("bare").with_values(**{"relaxation.T2": "15 us"})
    >>> folder = tempfile.mkdtemp()
    >>> path = se.save(sample, os.path.join(folder, "mine.yaml"))
    >>> se.load_sample(path).t2_s
    1.5e-05
    """
    import xarray as xr

    from spin_echo.drivers.config import BenchSpec
    from spin_echo.echo.output import OutputFile, write_error
    from spin_echo.sequences.protocol import Protocol
    from spin_echo.simulator.sample import Sample

    if isinstance(item, xr.Dataset):
        output = OutputFile(path, overwrite=overwrite, option="path")
        with output:
            try:
                item.to_netcdf(output.partial, engine="netcdf4", format="NETCDF4")
            except (OSError, RuntimeError) as err:
                raise write_error(output.path, err) from None
        return output.path
    if isinstance(item, (Protocol, Sample)):
        text = item.to_yaml()
    elif isinstance(item, BenchSpec):
        text = item.text
    else:
        raise TypeError(
            f"save() writes a record, protocol, sample or bench, not {type(item).__name__}"
        )
    output = OutputFile(path, overwrite=overwrite, option="path")
    with output:
        try:
            output.partial.write_text(text, encoding="utf-8")
        except OSError as err:
            raise write_error(output.path, err) from None
    return output.path


def _quantity(value: str | float, kind: str, key: str, *, positive: bool = True) -> float:
    """Return ``value`` (``"1 MHz"`` or SI) in SI; refuse one that is not finite and > 0."""
    from spin_echo.sequences.quantity import parse_quantity

    number = parse_quantity(value, kind) if isinstance(value, str) else float(value)
    if not math.isfinite(number) or (number <= 0 if positive else number < 0):
        sign = "positive" if positive else "non-negative"
        raise InputError(f"must be a {sign} finite {kind}", key=key, value=value)
    return number


def virtual_lab(
    sample: Sample | str | Path,
    *,
    awg: str = "keysight-33600a",
    scope: str = "keysight-infiniivision",
    full_scale_rabi: str | float = "1 MHz",
    pickup: str | float = "1 V",
    bandwidth: str | float = "200 MHz",
    noise: str | float = "0 V",
    seed: int = 1,
) -> VirtualLab:
    """Emulated AWG and scope on 127.0.0.1 around a sample (``spin-echo serve-virtual-lab``).

    Use it as a context manager: the servers run inside the ``with`` block, and
    ``lab.bench_yaml()`` is a bench (YAML text for :func:`spin_echo.load_bench`) that points
    the real VISA drivers at them, over TCP sockets, SCPI and binary blocks included.

    Parameters
    ----------
    sample
        The sample between the instruments.
    awg, scope
        Emulated models: ``keysight-33600a``, ``keysight-33500b``, ``tektronix-awg5200``,
        ``tektronix-awg70000``; ``keysight-infiniivision``, ``tektronix-mso``.
    full_scale_rabi
        Rabi frequency of a full-scale burst (the drive calibration of the emulated coil).
    pickup, bandwidth, noise
        Volts per unit magnetisation at the scope input, the front end's bandwidth and its rms
        noise per sample.
    seed
        Seed of the noise.

    Returns
    -------
    VirtualLab
        Not yet started: enter it with ``with``.

    Examples
    --------
    >>> import spin_echo as se
    >>> with se.virtual_lab("bare", noise="5 mV") as lab:
    ...     bench = se.load_bench(lab.bench_yaml(points=2000))
    ...     record = se.run("hahn-echo", bench, values={"tau": "4 us"})
    >>> record.attrs["source"], dict(record.sizes)
    ('run:virtual-lab', {'time': 256})
    """
    from spin_echo.drivers.emulated.lab import AWG_MODELS, SCOPE_MODELS, VirtualLab
    from spin_echo.drivers.virtual import FrontEnd

    for key, name, models in (("awg", awg, AWG_MODELS), ("scope", scope, SCOPE_MODELS)):
        if name not in models:
            raise InputError(f"must be one of {', '.join(sorted(models))}", key=key, value=name)
    check_seed_packets(seed, None)
    front_end = FrontEnd(
        pickup_v=_quantity(pickup, "voltage", "pickup"),
        bandwidth_hz=_quantity(bandwidth, "frequency", "bandwidth"),
        noise_v=_quantity(noise, "voltage", "noise", positive=False),
        seed=seed,
    )
    return VirtualLab(
        load_sample(sample),
        awg=awg,
        scope=scope,
        full_scale_rabi_hz=_quantity(full_scale_rabi, "frequency", "full_scale_rabi"),
        front_end=front_end,
    )
