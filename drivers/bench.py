"""Bench files: parse and validate them, and open their instruments.

A bench file names the instruments a protocol runs on (``../shared/SPEC.md``)::

    name: lab-a
    awg:      {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR",
               sample_rate: 250 MHz, amplitude: 20 mV, limits: {amplitude_vpp: 2.0}}
    detector: {driver: keysight-infiniivision, resource: "TCPIP::10.0.0.21::INSTR", channel: 1}
    coil:     {field_per_volt: 1e-4 T/V, pickup: 1 mV}

Every instrument block takes ``driver``, ``resource`` (VISA; none for virtual instruments),
``timeout`` (a time, default 10 s) and ``limits`` (keys of
:data:`drivers.settings.BENCH_LIMITS`; a bare number is in the unit the key names), plus the
keys the driver declares in its ``OPTIONS``. Values are validated against the driver's
declared settings with the bench limits applied, so an unsafe value is refused here, with
file, line, key and value, before any instrument is touched.

:func:`load_bench` reads a built-in bench (``drivers/benches/<name>.yaml``) or a path;
:func:`open_bench` connects the instruments (or a dry-run recorder) and returns a
:class:`Bench`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from spin_echo.drivers.config import BenchSpec, Coil, InstrumentConfig
from spin_echo.drivers.dry_run import DryRunTransport
from spin_echo.drivers.interface import Awg, BenchError, Detector, LockIn
from spin_echo.drivers.settings import BENCH_LIMITS
from spin_echo.drivers.virtual import VirtualAwg, VirtualDetector, open_virtual
from spin_echo.drivers.visa.keysight_awg import Keysight33500B, Keysight33600A
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision
from spin_echo.drivers.visa.scpi import DEFAULT_BACKEND, open_transport
from spin_echo.drivers.visa.srs_lockin import SR830, SR860
from spin_echo.drivers.visa.tektronix_awg import TektronixAWG5200, TektronixAWG70000
from spin_echo.drivers.visa.tektronix_scope import TektronixScope
from spin_echo.sequences.yamlio import MapNode, Node, load_yaml

__all__ = ["DRIVERS", "Bench", "list_benches", "load_bench", "open_bench"]

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
        VirtualAwg,
        VirtualDetector,
    )
}

_BUILTIN_DIR = Path(__file__).with_name("benches")
_ROLES = ("awg", "detector", "lockin")
_COMMON_KEYS = ("driver", "resource", "timeout", "limits")
#: Default I/O timeout, seconds.
DEFAULT_TIMEOUT_S = 10.0


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
        if not number > 0:
            raise value.error("a limit must be positive")
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
    return node.quantity(option.kind)


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
    resource = None if virtual else block["resource"].as_str()
    timeout_node = block.get("timeout")
    timeout_s = (
        DEFAULT_TIMEOUT_S if timeout_node is None else timeout_node.quantity("time", positive=True)
    )
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


def load_bench(name_or_path: str | Path) -> BenchSpec:
    """Read and validate a bench file (a built-in name such as ``virtual``, or a path).

    Raises
    ------
    BenchError
        For an unknown name, unreadable or malformed file, unknown driver or key, or a value
        outside the driver's model limits or the bench's own ``limits`` (exit status 2).
    """
    source = _source(name_or_path)
    root = load_yaml(source, error_class=BenchError)
    root.check_keys(
        ("name", "description", "visa_backend", *_ROLES, "coil", "receiver"),
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
            field_per_volt_t=None if fpv is None else fpv.quantity("field_per_volt", positive=True),
            pickup_v=None if pickup is None else pickup.quantity("voltage", positive=True),
        )
    bandwidth = None
    receiver = root.get("receiver")
    if receiver is not None:
        block = receiver.as_map()
        block.check_keys(("bandwidth",), required=("bandwidth",))
        bandwidth = block["bandwidth"].quantity("frequency", positive=True)
    return BenchSpec(
        name=root["name"].as_str(),
        text=source.read_text(encoding="utf-8"),
        awg=awg,
        detector=detector,
        lockin=lockin,
        coil=coil,
        receiver_bandwidth_hz=bandwidth,
    )


@dataclass
class Bench:
    """The connected instruments of a bench; a context manager that closes them.

    Attributes
    ----------
    spec
        The bench file it was opened from.
    awg, detector
        The instruments every run uses.
    lockin
        Optional lock-in amplifier.
    """

    spec: BenchSpec
    awg: Awg
    detector: Detector
    lockin: LockIn | None = None

    @property
    def realtime(self) -> bool:
        """True for hardware (shots must respect the repetition time); False when virtual."""
        return not self.spec.is_virtual

    def close(self) -> None:
        """Close every instrument (each even if another fails to close)."""
        for instrument in (self.awg, self.detector, self.lockin):
            if instrument is not None:
                instrument.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
