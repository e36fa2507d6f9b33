"""Load what an experiment needs -- a protocol, a sample, a bench -- from a name, a path or YAML.

Each loader takes a built-in name (``"hahn-echo"``, ``"bare-t2"``, ``"virtual"``), the path of a
YAML file, the YAML text itself, or an object already loaded (returned as it is), and runs the
same parser and checks as the command line: bad input raises the same
:class:`~spin_echo.sequences.errors.InputError` subclass with the same message (file, line,
key, value and what was expected), with ``<string>`` as the file of YAML text.

A string is read as YAML text when it has a line break or a ``key: value`` pair; otherwise as a
built-in name or a path. The objects can be changed in Python (``protocol.with_values(tau="3
us")``, ``sample.with_values(**{"relaxation.T2": "15 us"})``) and saved back to YAML that loads
to the same object (:func:`spin_echo.save`, or ``to_yaml()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from spin_echo.sequences.errors import InputError

if TYPE_CHECKING:
    from spin_echo.drivers.config import BenchSpec
    from spin_echo.sequences.protocol import Protocol
    from spin_echo.simulator.sample import Sample

__all__ = ["check_seed_packets", "is_yaml_text", "load_bench", "load_protocol", "load_sample"]

#: What a message calls YAML text given in Python.
TEXT_SOURCE = "<string>"


def is_yaml_text(source: object) -> bool:
    r"""Return True when ``source`` is a string of YAML text rather than a name or a path.

    Examples
    --------
    >>> is_yaml_text("hahn-echo"), is_yaml_text("name: mine\nspin: 10")
    (False, True)
    """
    return isinstance(source, str) and ("\n" in source or ": " in source)


def load_protocol(source: Protocol | str | Path) -> Protocol:
    """Load a protocol: a built-in name, a YAML file, YAML text, or a protocol (returned).

    Parameters
    ----------
    source
        ``"hahn-echo"`` (see :func:`spin_echo.sequences.list_protocols`), a path, or the YAML.

    Returns
    -------
    Protocol
        The checked protocol: every sweep point binds and lays out.

    Raises
    ------
    ProtocolError
        An unknown name or a malformed protocol, naming file, line, key and value.

    Examples
    --------
    >>> import spin_echo as se
    >>> protocol = se.load_protocol("hahn-echo").with_values(tau="3 us")
    >>> protocol.parameters["tau"].value, protocol.sweep_shape
    (3e-06, ())
    >>> se.load_protocol(protocol.to_yaml()) == protocol
    True
    """
    from spin_echo.sequences.protocol import Protocol
    from spin_echo.sequences.protocol_files import load_protocol as load_file

    if isinstance(source, Protocol):
        return source
    if is_yaml_text(source):
        return Protocol.from_yaml(str(source), source=TEXT_SOURCE)
    return load_file(source)


def load_sample(source: Sample | str | Path) -> Sample:
    """Load a sample: a built-in name, a YAML file, YAML text, or a sample (returned).

    Parameters
    ----------
    source
        ``"bare-t2"`` (see :func:`spin_echo.simulator.list_samples`), a path, or the YAML.

    Returns
    -------
    Sample
        The checked sample.

    Raises
    ------
    SampleError
        An unknown name or a malformed sample, naming file, line, key and value.

    Examples
    --------
    >>> import spin_echo as se
    >>> sample = se.load_sample("bare-t2").with_values(**{"relaxation.T2": "15 us"})
    >>> sample.t2_s
    1.5e-05
    >>> se.load_sample(sample.to_yaml()).to_yaml() == sample.to_yaml()
    True
    """
    from spin_echo.simulator.sample import Sample
    from spin_echo.simulator.sample import load_sample as load_file

    if isinstance(source, Sample):
        return source
    if is_yaml_text(source):
        return Sample.from_yaml(str(source), source=TEXT_SOURCE)
    return load_file(source)


def load_bench(source: BenchSpec | str | Path) -> BenchSpec:
    """Load a bench: a built-in name (``"virtual"``), a YAML file, YAML text, or a bench.

    Nothing is contacted: the file is checked against every driver's declared limits.

    Parameters
    ----------
    source
        ``"virtual"`` (the simulator behind a virtual AWG and detector), a path, or the YAML
        (e.g. :meth:`spin_echo.drivers.emulated.lab.VirtualLab.bench_yaml`).

    Returns
    -------
    BenchSpec
        The parsed bench.

    Raises
    ------
    BenchError
        An unknown name or a malformed bench, naming file, line, key and value.

    Examples
    --------
    >>> import spin_echo as se
    >>> bench = se.load_bench("virtual")
    >>> bench.name, bench.is_virtual
    ('virtual', True)
    """
    from spin_echo.drivers.bench import load_bench as load_file
    from spin_echo.drivers.config import BenchSpec

    if isinstance(source, BenchSpec):
        return source
    if is_yaml_text(source):
        return load_file(TEXT_SOURCE, text=str(source))
    return load_file(source)


def check_seed_packets(seed: int | None, packets: int | None) -> None:
    """Check a seed (0 to 2**63 - 1) and a packet count (1 to the simulator's limit).

    Raises
    ------
    InputError
        Naming ``seed`` or ``packets`` and the value.

    Examples
    --------
    >>> check_seed_packets(1, 1000)
    >>> check_seed_packets(-1, None)
    Traceback (most recent call last):
    ...
    spin_echo.sequences.errors.InputError: seed = -1: must be a whole number from 0 to 2**63 - 1
    """
    from spin_echo.simulator.limits import check_packets
    from spin_echo.simulator.sample import MAX_SEED

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InputError("must be a whole number", key="seed", value=seed)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InputError("must be a whole number from 0 to 2**63 - 1", key="seed", value=seed)
    if packets is not None:
        check_packets(packets, key="packets")
