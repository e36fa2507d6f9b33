"""Provenance of a ``run`` record: which instruments, set how, and which software made it.

The equivalent of a QCoDeS station snapshot, stored as two attributes of every ``run`` record
beside ``bench`` (the bench file as read), each JSON text:

- ``instruments``: one object per instrument of the bench (awg, detector, lockin), with
  ``role``, ``driver``, ``resource``, ``identity`` (``manufacturer``, ``model``, ``serial``,
  ``firmware``: the ``*IDN?`` reply, parsed; virtual instruments identify as spin-echo) and
  ``settings``: every setting the driver wrote, as ``{name, unit, sent, read, query, agrees}``,
  ``read`` being what the instrument answered to the setting's query form (``SOUR1:VOLT?``)
  after the first sweep point configured it (:meth:`drivers.interface.Instrument.read_back`);
- ``versions``: ``spin-echo``, ``python``, ``numpy``, ``pyvisa`` and the VISA backend the bench
  used (``visa_backend``: ``@py`` for pyvisa-py, ``@sim`` for pyvisa-sim, ``none`` for the
  virtual bench) with its package's version.

:func:`provenance_attrs` builds them from an open bench; :func:`read_provenance` checks them
when a record is read (:func:`echo.record_info.describe_record` calls it; a malformed one is a
:class:`ProvenanceError`, an input error: exit 2).
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from spin_echo.sequences.errors import InputError

if TYPE_CHECKING:
    from spin_echo.drivers.interface import Bench

__all__ = [
    "IDENTITY_FIELDS",
    "Provenance",
    "ProvenanceError",
    "RecordedInstrument",
    "RecordedSetting",
    "provenance_attrs",
    "read_provenance",
    "software_versions",
]

#: Fields of an instrument's identity, in ``*IDN?`` order.
IDENTITY_FIELDS = ("manufacturer", "model", "serial", "firmware")

#: Packages whose versions a run record stores (distribution names).
_PACKAGES = ("spin-echo", "numpy", "pyvisa")
#: The distribution behind each VISA backend suffix.
_BACKENDS = {"@py": "pyvisa-py", "@sim": "pyvisa-sim"}


class ProvenanceError(InputError):
    """A record's ``instruments`` or ``versions`` attribute is malformed."""


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def software_versions(backend: str | None) -> dict[str, str]:
    """Return the versions a record stores: spin-echo, python, numpy, PyVISA, the VISA backend.

    Parameters
    ----------
    backend
        The bench's PyVISA backend (``"@py"``, ``"file.yaml@sim"``), None for a virtual bench.
    """
    versions = {name: _version(name) for name in _PACKAGES}
    versions["python"] = platform.python_version()
    if backend is None:
        versions["visa_backend"] = "none"
        return versions
    suffix = "@" + backend.rsplit("@", 1)[-1] if "@" in backend else backend
    versions["visa_backend"] = suffix
    if suffix in _BACKENDS:
        versions[_BACKENDS[suffix]] = _version(_BACKENDS[suffix])
    return versions


def provenance_attrs(bench: Bench) -> dict[str, str]:
    """Return the ``instruments`` and ``versions`` attributes of a record made on ``bench``.

    Call it once the instruments are configured (after the first sweep point), so that the
    settings read back are those the record's data were taken with.

    Raises
    ------
    InstrumentError
        A query failed, or a drive setting reads back beyond its resolution.
    """
    snapshots = [snapshot.as_dict() for snapshot in bench.snapshot()]
    backend = None if bench.spec.is_virtual else bench.spec.awg.backend
    return {
        "instruments": json.dumps(snapshots, allow_nan=False),
        "versions": json.dumps(software_versions(backend)),
    }


@dataclass(frozen=True)
class RecordedSetting:
    """One setting as a record stores it: written, read back, and whether the two agree."""

    name: str
    unit: str
    sent: float | int | str
    read: float | int | str
    query: str
    agrees: bool


@dataclass(frozen=True)
class RecordedInstrument:
    """One instrument as a record stores it (see the module docstring)."""

    role: str
    driver: str
    resource: str | None
    identity: dict[str, str]
    settings: tuple[RecordedSetting, ...]


@dataclass(frozen=True)
class Provenance:
    """A record's ``instruments`` and ``versions`` (either may be absent: empty)."""

    instruments: tuple[RecordedInstrument, ...]
    versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """Return plain data (JSON-ready), as stored."""
        return {
            "instruments": [
                {
                    "role": i.role,
                    "driver": i.driver,
                    "resource": i.resource,
                    "identity": dict(i.identity),
                    "settings": [s.__dict__.copy() for s in i.settings],
                }
                for i in self.instruments
            ],
            "versions": dict(self.versions),
        }


def _json(text: Any, key: str, file: str, expected: str) -> Any:
    if not isinstance(text, str):
        raise ProvenanceError(f"must be JSON text ({expected})", file=file, key=key, value=text)
    try:
        return json.loads(text)
    except ValueError as err:
        raise ProvenanceError(
            f"is not JSON ({err}); expected {expected}", file=file, key=key
        ) from None


def _text(entry: Mapping, field: str, key: str, file: str, *, optional: bool = False) -> Any:
    value = entry.get(field)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ProvenanceError("must be text", file=file, key=f"{key}.{field}", value=value)
    return value


def _value(entry: Mapping, field: str, key: str, file: str) -> float | int | str:
    value = entry.get(field)
    ok = isinstance(value, str) or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    )
    if not ok:
        raise ProvenanceError(
            "must be a finite number or text", file=file, key=f"{key}.{field}", value=value
        )
    return value


def _setting(entry: Any, key: str, file: str) -> RecordedSetting:
    if not isinstance(entry, dict):
        raise ProvenanceError("must be an object", file=file, key=key, value=entry)
    agrees = entry.get("agrees")
    if not isinstance(agrees, bool):
        raise ProvenanceError("must be true or false", file=file, key=f"{key}.agrees", value=agrees)
    return RecordedSetting(
        name=_text(entry, "name", key, file),
        unit=_text(entry, "unit", key, file),
        sent=_value(entry, "sent", key, file),
        read=_value(entry, "read", key, file),
        query=_text(entry, "query", key, file),
        agrees=agrees,
    )


def _instrument(entry: Any, key: str, file: str) -> RecordedInstrument:
    if not isinstance(entry, dict):
        raise ProvenanceError("must be an object", file=file, key=key, value=entry)
    identity = entry.get("identity")
    if not isinstance(identity, dict):
        raise ProvenanceError("must be an object", file=file, key=f"{key}.identity", value=identity)
    fields = {name: _text(identity, name, f"{key}.identity", file) for name in IDENTITY_FIELDS}
    settings = entry.get("settings")
    if not isinstance(settings, list):
        raise ProvenanceError("must be a list", file=file, key=f"{key}.settings", value=settings)
    return RecordedInstrument(
        role=_text(entry, "role", key, file),
        driver=_text(entry, "driver", key, file),
        resource=_text(entry, "resource", key, file, optional=True),
        identity=fields,
        settings=tuple(
            _setting(item, f"{key}.settings[{n}]", file) for n, item in enumerate(settings)
        ),
    )


def read_provenance(attrs: Mapping[str, Any], file: str) -> Provenance:
    """Check and return a record's ``instruments`` and ``versions`` attributes.

    Parameters
    ----------
    attrs
        The record's attributes (absent ones give an empty :class:`Provenance`: records of
        ``simulate``, and ``run`` records written before spin-echo stored provenance).
    file
        The record's name, for messages.

    Raises
    ------
    ProvenanceError
        An attribute that is not the JSON described in the module docstring, naming the file
        and the attribute (and the entry within it) at fault.
    """
    instruments: tuple[RecordedInstrument, ...] = ()
    versions: dict[str, str] = {}
    if "instruments" in attrs:
        data = _json(attrs["instruments"], "instruments", file, "a list of instruments")
        if not isinstance(data, list):
            raise ProvenanceError(
                "must be a JSON list of instruments", file=file, key="instruments"
            )
        instruments = tuple(
            _instrument(item, f"instruments[{n}]", file) for n, item in enumerate(data)
        )
    if "versions" in attrs:
        data = _json(attrs["versions"], "versions", file, "an object of package versions")
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ProvenanceError(
                "must be a JSON object of package name -> version text", file=file, key="versions"
            )
        versions = data
    return Provenance(instruments, versions)
