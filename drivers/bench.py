"""Bench files: parse and validate them, and open their instruments.

A bench file names the instruments a protocol runs on (``../shared/SPEC.md``)::

    name: lab-a
    awg:      {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR",
               sample_rate: 250 MHz, amplitude: 20 mV, limits: {amplitude_vpp: 2.0}}
    detector: {driver: keysight-infiniivision, resource: "TCPIP::10.0.0.21::INSTR", channel: 1}
    coil:     {field_per_volt: 1e-4 T/V, pickup: 1 mV}

Every instrument block takes ``driver``, ``resource`` (VISA; none for virtual instruments),
``timeout`` (a time, default 10 s, at most :data:`MAX_TIMEOUT_S`) and ``limits`` (keys of
:data:`drivers.settings.BENCH_LIMITS`; a bare number is in the unit the key names; positive
and finite), plus the keys the driver declares in its ``OPTIONS``. Values are validated
against the driver's declared settings with the bench limits applied, so an unsafe value is
refused here, with file, line, key and value, before any instrument is touched. A resource
string must be VISA syntax (PyVISA's own parser; a socket port a number from 1 to 65535).
A ``magnetometer`` block (:mod:`drivers.magnetometer`) is the calibration chain of a bench that
measures magnetisation: required with a teslameter detector, refused beside ``coil.pickup``.

:func:`check_protocol_fits` compiles every sweep point and phase step of a protocol against
the bench AWG's model constraints (memory, length granularity, sample-rate range, DAC) and
the bench file's sample rate, so that a waveform the AWG cannot hold is an input error
(exit 2) found before connecting; with it the checks of :mod:`drivers.preflight` (drive
frequencies below the AWG's Nyquist frequency, pulses above half a DAC step, a receiver that
can demodulate the carrier, a virtual trace of bounded length).

:func:`load_bench` reads a built-in bench (``drivers/benches/<name>.yaml``) or a path;
:func:`open_bench` connects the instruments (or a dry-run recorder) and returns a
:class:`Bench`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvisa.rname

from spin_echo.drivers.config import BenchSpec, Coil, InstrumentConfig
from spin_echo.drivers.dry_run import DryRunTransport
from spin_echo.drivers.interface import Bench, BenchError
from spin_echo.drivers.magnetometer import MagnetometerChain, check_chain, parse_magnetometer
from spin_echo.drivers.preflight import check_drive, check_receiver
from spin_echo.drivers.receiver import default_bandwidth_hz
from spin_echo.drivers.settings import BENCH_LIMITS
from spin_echo.drivers.virtual import VirtualAwg, VirtualDetector, open_virtual
from spin_echo.drivers.visa.keysight_awg import Keysight33500B, Keysight33600A
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision
from spin_echo.drivers.visa.lakeshore_teslameter import LakeShoreF41, LakeShoreF71
from spin_echo.drivers.visa.scpi import DEFAULT_BACKEND, open_transport
from spin_echo.drivers.visa.srs_lockin import SR830, SR860
from spin_echo.drivers.visa.tektronix_awg import TektronixAWG5200, TektronixAWG70000
from spin_echo.drivers.visa.tektronix_scope import TektronixScope
from spin_echo.sequences import Protocol, compile_waveform
from spin_echo.sequences.errors import CompileError
from spin_echo.sequences.yamlio import MapNode, Node, load_yaml

__all__ = [
    "DRIVERS",
    "MAX_TIMEOUT_S",
    "Bench",
    "check_protocol_fits",
    "check_resource",
    "list_benches",
    "load_bench",
    "open_bench",
]

#: Driver classes by the name a bench file uses.
DRIVERS: dict[str, Any] = {
    cls.DRIVER: cls
    for cls in (
        Keysight33500B,
        Keysight33600A,
        TektronixAWG5200,
        TektronixAWG70000,
        KeysightInfiniiVision,
        TektronixScope,
        SR830,
        SR860,
        LakeShoreF41,
        LakeShoreF71,
        VirtualAwg,
        VirtualDetector,
    )
}

_BUILTIN_DIR = Path(__file__).with_name("benches")
_ROLES = ("awg", "detector", "lockin")
_COMMON_KEYS = ("driver", "resource", "timeout", "limits")
#: Default I/O timeout, seconds.
DEFAULT_TIMEOUT_S = 10.0
#: Longest I/O timeout a bench file may set, seconds.
MAX_TIMEOUT_S = 3600.0


def list_benches() -> list[str]:
    """Names of the built-in benches."""
    return sorted(p.stem for p in _BUILTIN_DIR.glob("*.yaml"))


def _source(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    builtin = _BUILTIN_DIR / f"{text}.yaml"
    if "/" not in text and not text.endswith((".yaml", ".yml")) and builtin.is_file():
        return builtin
    path = Path(text)
    if path.is_file():
        return path
    raise BenchError(
        f"no such bench file or built-in bench; built-in benches: {', '.join(list_benches())}",
        file=text,
    )


def _limits(node: Node | None) -> dict[str, float]:
    if node is None:
        return {}
    limits: dict[str, float] = {}
    for key, value in node.as_map().items():
        if key not in BENCH_LIMITS:
            raise value.error(f"unknown limit; allowed limits are {', '.join(BENCH_LIMITS)}")
        raw = value.plain()
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = float(raw)
        else:
            number = value.quantity(BENCH_LIMITS[key])
        if not (math.isfinite(number) and number > 0):
            raise value.error("a limit must be a positive finite number")
        limits[key] = number
    return limits


def _option(cls: Any, key: str, node: Node) -> float | int | str:
    option = cls.OPTIONS[key]
    if option.kind == "integer":
        return node.integer()
    if option.kind == "choice":
        word = node.as_str() if not isinstance(node.plain(), int) else str(node.plain())
        for choice in option.choices:
            if word.upper() == choice.upper():
                return choice
        raise node.error(f"must be one of {', '.join(option.choices)}")
    value = node.quantity(option.kind)
    if not math.isfinite(value):
        raise node.error(f"must be a finite {option.kind}")
    return value


def _positive(node: Node, kind: str) -> float:
    value = node.quantity(kind, positive=True)
    if not math.isfinite(value):
        raise node.error(f"must be a finite {kind.replace('_', ' ')}")
    return value


def check_resource(node: Node) -> str:
    """Return the VISA resource string of ``node``, or raise a located error if it is not one.

    The syntax is PyVISA's (``TCPIP::10.0.0.20::INSTR``, ``TCPIP::10.0.0.20::5025::SOCKET``,
    ``GPIB0::12::INSTR``, ``USB0::...::INSTR``, ``ASRL1::INSTR``); a socket port must be a
    number from 1 to 65535.
    """
    text = node.as_str()
    expected = "expected VISA syntax such as TCPIP::10.0.0.20::INSTR or TCPIP::host::5025::SOCKET"
    try:
        parsed = pyvisa.rname.parse_resource_name(text)
    except pyvisa.rname.InvalidResourceName:
        raise node.error(f"not a VISA resource string; {expected}") from None
    port = getattr(parsed, "port", None)
    if port is not None and not (str(port).isdigit() and 1 <= int(port) <= 65535):
        raise node.error(f"socket port {port!r} must be a number from 1 to 65535; {expected}")
    return text


def _instrument(role: str, node: Node, backend: str) -> InstrumentConfig:
    block = node.as_map()
    name = block["driver"].as_str()
    cls = DRIVERS.get(name)
    if cls is None or role != cls.ROLE:
        names = sorted(n for n, c in DRIVERS.items() if role == c.ROLE)
        raise block["driver"].error(f"unknown {role} driver; known: {', '.join(names)}")
    virtual = getattr(cls, "VIRTUAL", False)
    required = [k for k, option in cls.OPTIONS.items() if option.default is None]
    block.check_keys((*_COMMON_KEYS, *cls.OPTIONS), required=required)
    if virtual and "resource" in block:
        raise block["resource"].error("a virtual instrument has no VISA resource")
    resource = None if virtual else check_resource(block["resource"])
    timeout_node = block.get("timeout")
    timeout_s = DEFAULT_TIMEOUT_S if timeout_node is None else _positive(timeout_node, "time")
    if not timeout_s <= MAX_TIMEOUT_S:
        raise timeout_node.error(f"must be at most {MAX_TIMEOUT_S:g} s")
    limits = _limits(block.get("limits"))
    options: dict[str, float | int | str] = {}
    for key, option in cls.OPTIONS.items():
        value_node = block.get(key)
        value = option.default if value_node is None else _option(cls, key, value_node)
        why = (
            None
            if option.setting is None
            else cls.SETTINGS[option.setting].violation(value, limits)
        )
        if why is not None:
            where = value_node if value_node is not None else block
            raise where.error(
                why if value_node is not None else f"default {key} = {value!r}: {why}"
            )
        options[key] = value
    cross_check = getattr(cls, "cross_check", None)
    why = cross_check(options) if cross_check is not None else None
    if why is not None:
        raise block.error(why)
    return InstrumentConfig(
        role=role,
        driver=name,
        resource=resource,
        timeout_s=timeout_s,
        limits=limits,
        options=options,
        backend=backend,
    )


def _backend(root: MapNode, source: Path) -> str:
    node = root.get("visa_backend")
    if node is None:
        return DEFAULT_BACKEND
    text = node.as_str()
    path, at, library = text.rpartition("@")
    if not at:
        raise node.error("expected a PyVISA backend such as '@py' or 'file.yaml@sim'")
    if path and not Path(path).is_absolute():
        path = str(source.parent / path)
    return f"{path}@{library}"


def load_bench(name_or_path: str | Path, *, text: str | None = None) -> BenchSpec:
    """Read and validate a bench file (a built-in name such as ``virtual``, or a path).

    With ``text``, that YAML is read instead and ``name_or_path`` only names it in messages
    (relative paths in it are then relative to the working folder).

    Raises
    ------
    BenchError
        For an unknown name, unreadable or malformed file, unknown driver or key, or a value
        outside the driver's model limits or the bench's own ``limits`` (exit status 2).
    """
    source = _source(name_or_path) if text is None else Path(str(name_or_path))
    root = load_yaml(source, text=text, error_class=BenchError)
    root.check_keys(
        ("name", "description", "visa_backend", *_ROLES, "coil", "receiver", "magnetometer"),
        required=("name", "awg", "detector"),
    )
    backend = _backend(root, source)
    awg = _instrument("awg", root["awg"], backend)
    detector = _instrument("detector", root["detector"], backend)
    lockin = _instrument("lockin", root["lockin"], backend) if "lockin" in root else None
    if (awg.resource is None) != (detector.resource is None):
        raise root.error("a bench is either all virtual or all VISA instruments, not a mix")
    coil = Coil()
    coil_node = root.get("coil")
    if coil_node is not None:
        block = coil_node.as_map()
        block.check_keys(("field_per_volt", "pickup"))
        fpv, pickup = block.get("field_per_volt"), block.get("pickup")
        coil = Coil(
            field_per_volt_t=None if fpv is None else _positive(fpv, "field_per_volt"),
            pickup_v=None if pickup is None else _positive(pickup, "voltage"),
        )
    bandwidth = noise = None
    receiver = root.get("receiver")
    if receiver is not None:
        block = receiver.as_map()
        block.check_keys(("bandwidth", "noise"), required=())
        if "bandwidth" in block:
            bandwidth = _positive(block["bandwidth"], "frequency")
        if "noise" in block:
            noise = _positive(block["noise"], "voltage")
    return BenchSpec(
        magnetometer=_magnetometer(root, detector, coil),
        source=str(name_or_path),
        name=root["name"].as_str(),
        text=source.read_text(encoding="utf-8") if text is None else text,
        awg=awg,
        detector=detector,
        lockin=lockin,
        coil=coil,
        receiver_bandwidth_hz=bandwidth,
        receiver_noise_v=noise,
    )


def _magnetometer(
    root: MapNode, detector: InstrumentConfig, coil: Coil
) -> MagnetometerChain | None:
    """Parse the ``magnetometer`` block; refuse one the detector cannot use, or none it needs."""
    node = root.get("magnetometer")
    units = DRIVERS[detector.driver].TRACE_UNITS
    if node is None:
        if units != "V":
            raise root["detector"].error(
                f"a {detector.driver} reads {units}: the bench needs a magnetometer block "
                "(tesla_per_unit, per) to turn its readings into magnetisation"
            )
        return None
    chain = parse_magnetometer(node)
    check_chain(chain, node, units)
    if coil.pickup_v is not None:
        raise root["coil"].error(
            "coil.pickup calibrates a pickup coil; a bench with a magnetometer block is "
            "calibrated by that block (give one or the other)"
        )
    return chain


def check_protocol_fits(spec: BenchSpec, protocol: Protocol) -> None:
    """Compile every sweep point and phase step for the bench AWG's model; refuse a misfit.

    Uses the driver's model constraints (memory, minimum length and granularity, sample-rate
    range with the bench's limit, DAC resolution) and the bench file's sample rate, without
    contacting any instrument: what the AWG cannot play is an input error (exit 2) before a
    connection is opened. (An instrument that reports tighter limits when connected is still
    checked again, by the driver, before each upload.)

    Raises
    ------
    BenchError
        Naming the bench file, the ``awg`` block, the sweep point and what does not fit.
    ProtocolError
        For a pulse the AWG cannot play: at the pulse's line in the protocol file, naming the
        bench and the sweep point.
    """
    config = spec.awg
    model = DRIVERS[config.driver].MODEL
    constraints = model.constraints(config.limits.get("sample_rate_hz"))
    rate = float(config.options["sample_rate"])
    # the virtual detector records at the AWG's rate; a VISA scope's rate is its own
    trace_rate = rate if DRIVERS[spec.detector.driver] is VirtualDetector else None
    for _, values in protocol.iter_points():
        point = ", ".join(f"{k} = {v:.6g}" for k, v in values.items())
        at = f" at {point}" if point else ""
        for step in range(len(protocol.phase_cycle)):
            seq = protocol.sequence(values, step)
            try:
                waveform = compile_waveform(seq, constraints, rate)
                check_drive(seq, constraints, rate)
            except CompileError as err:
                bench = f"{config.driver}, {model.memory} samples of memory, {rate:g} Sa/s"
                if (err.key or "").startswith("sequence["):  # a pulse: at its line
                    where = f"bench {spec.source or spec.name}: awg {bench}{at}"
                    raise protocol.located(err, f" ({where})") from None
                raise BenchError(
                    f"protocol {protocol.name!r}{at} does not fit this AWG ({bench}): "
                    + (f"{err.key}: {err.message}" if err.key else err.message),
                    file=spec.source or spec.name,
                    key="awg",
                ) from None
            if spec.magnetometer is not None:
                continue
            bandwidth = spec.receiver_bandwidth_hz or default_bandwidth_hz(seq.carrier_hz)
            reason = check_receiver(waveform, bandwidth, trace_rate)
            if reason is not None:
                raise BenchError(
                    f"protocol {protocol.name!r}{at} cannot be detected on this bench: {reason}",
                    file=spec.source or spec.name,
                    key="receiver.bandwidth" if spec.receiver_bandwidth_hz else "detector",
                )


def _open_visa(config: InstrumentConfig, emit: Callable[[str], None] | None) -> Any:
    cls = DRIVERS[config.driver]
    if emit is not None:
        transport = DryRunTransport(config.role, emit)
        driver = cls(config, transport)
        transport.responder = driver
    else:
        driver = cls(config, open_transport(config))
    try:
        driver.connect()
    except BaseException:
        driver.close()
        raise
    return driver


def open_bench(
    spec: BenchSpec,
    *,
    sample: Any = None,
    seed: int | None = None,
    dry_run: Callable[[str], None] | None = None,
) -> Bench:
    """Connect the instruments of ``spec`` and return the :class:`Bench`.

    Parameters
    ----------
    spec
        A bench from :func:`load_bench`.
    sample
        The :class:`simulator.Sample` behind a virtual bench (required there, unused by VISA
        benches).
    seed
        Noise seed of a virtual detector; the bench file's when None.
    dry_run
        When given, VISA instruments are not contacted: every SCPI command they would be sent
        is passed to this callable as one line (``print`` for ``--dry-run``).

    Raises
    ------
    BenchError
        A virtual bench without a sample, or a dry run of a virtual bench.
    InstrumentError
        An instrument cannot be reached, is not the declared model, or reports an error.
    """
    if spec.is_virtual:
        if dry_run is not None:
            raise BenchError(
                "--dry-run prints SCPI traffic; the virtual bench sends none", value=spec.name
            )
        return open_virtual(spec, sample=sample, seed=seed)
    opened: list[Any] = []
    try:
        for config in (spec.awg, spec.detector, spec.lockin):
            if config is not None:
                opened.append(_open_visa(config, dry_run))
    except BaseException:
        for driver in opened:
            driver.close()
        raise
    return Bench(spec, *opened)
