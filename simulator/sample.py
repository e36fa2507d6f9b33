r"""Samples: grains and their environments, read from YAML (SPEC.md, "Sample").

A sample file describes the ensemble of giant-spin packets and what acts on them. Keys
(every one documented here; an unknown key is an error naming file, line and key):

``name`` (required), ``description``
    Identification; ``description`` is the one-line text ``spin-echo protocols`` lists.
``spin``
    The giant spin S (a multiple of 1/2). The tunnelling amplitude carries
    :math:`|\cos\pi S|` (zero for half-integer S, Kramers) and the phonon rate uses S.
``g``
    Landé factor (recorded; signals are normalised, so it sets no scale here).
``Omega0``
    The paper's bare attempt frequency :math:`\Omega_o` (e.g. ``40 GHz`` for ferritin), used
    by the phonon rate (paper Eq. 12).
``tunnel_splitting`` (required)
    Distribution of :math:`\Delta_o` (see :mod:`simulator.distributions`), with
    :math:`H/h = 2\Delta_o\tau_x + \epsilon\tau_z`; must be positive.
``bias``
    Distribution of the static bias :math:`\epsilon`. Required without
    ``environment.nuclear``; with it, an optional extra static bias (dipolar fields of other
    grains, field inhomogeneity) added to the nuclear bias.
``bias_sampling: {width: W, fraction: F, center: C}``
    Optional importance sampling of the bias: a fraction F (0 <= F < 1) of the packets is drawn
    from a Cauchy density of half-width W about C (default 0 Hz), the rest from the physical
    density, and every packet carries the compensating weight
    :math:`p(\epsilon) / [(1-F) p(\epsilon) + F\,c(\epsilon)]` (at most :math:`1/(1-F)`), so that
    weighted averages are those of the physical density. Use it when only packets near
    resonance respond (a bias spread much wider than the Rabi frequency).
``orientation``
    ``{distribution: fixed, theta: X}`` or ``{distribution: isotropic}`` (default fixed 0).
``packets`` (default 4000), ``seed`` (default 0)
    Number of packets (at most :data:`simulator.limits.MAX_PACKETS`) and seed of every random
    draw.
``temperature`` (default 0 K)
    Sets the initial thermal state of each packet, the nuclear thermal factor and the rates.
``environment.nuclear: {N, omega0, delta_omega, lambda, lambda_prime, temperature, dynamic}``
    The nuclear spin bath of paper Eqs. (2)-(6): N nuclei with hyperfine coupling ``omega0``,
    spread ``delta_omega`` (default 0), :math:`\lambda` (default 0) and :math:`\lambda'`
    (default 0, at most :math:`\lambda`), and the nuclear spin temperature of the thermal
    factor :math:`e^{-\epsilon/T}` of Eq. (4) (default: unpolarised nuclei). ``dynamic``
    (true/false, default false): false draws each packet's channel M, y and phase once (a
    static distribution, refocused by a pi pulse); true redraws them at every pulse after the
    first, as the nuclear spins co-flip with the grain (:func:`simulator.bath.redraw_channels`;
    rotating frame, without spin diffusion). See :mod:`simulator.bath`.
``environment.spin_diffusion: {T2, width}``
    Nuclear spin diffusion: the bias of each packet drifts (Ornstein-Uhlenbeck) at rate 1/T2
    over ``width`` (default :math:`\mu\omega_o = N^{1/2}\delta\omega` of the nuclear block).
``environment.electrons: {alpha}``
    Ohmic coupling :math:`\alpha` to electrons (paper Eqs. 9-11): a dephasing rate.
``environment.phonons: {debye_temperature, anisotropy}``
    Phonon relaxation (paper Eq. 12); needs ``spin`` and ``Omega0``.
``relaxation: {T1, T2}``
    Phenomenological Lindblad relaxation; T2 <= 2 T1.

Every number must lie in its kind's physical range (:data:`sequences.quantity.RANGES`); a few
keys have tighter bounds (:data:`KEY_LIMITS`). README "Limits" lists both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import format_quantity, parse_quantity
from spin_echo.sequences.yamlio import MapNode, Node, load_yaml, read_document
from spin_echo.simulator.bath import NuclearBath
from spin_echo.simulator.distributions import (
    Distribution,
    Orientation,
    parse_distribution,
    parse_orientation,
)
from spin_echo.simulator.ensemble import BiasSampling, Ensemble, sample_ensemble
from spin_echo.simulator.limits import MAX_PACKETS, check_packets

__all__ = [
    "KEY_LIMITS",
    "MAX_SEED",
    "SAMPLES_DIR",
    "BiasSampling",
    "NuclearBath",
    "Phonons",
    "Sample",
    "SampleError",
    "SpinDiffusion",
    "key_kind",
    "list_samples",
    "load_sample",
]

#: Largest magnitude of the sample keys bounded tighter than their kind's range: the giant spin,
#: the Lande factor and the nuclear-bath couplings (lambda sets the number of channels M drawn,
#: about 2 lambda + 12 (2 lambda)^(1/2); 10^9 would need 30 GiB).
KEY_LIMITS: dict[str, float] = {
    "spin": 1e6,
    "g": 100.0,
    "environment.nuclear.lambda": 1e3,
    "environment.nuclear.lambda_prime": 1e3,
}
#: Largest seed (stored as a signed 64-bit integer in records).
MAX_SEED = 2**63 - 1

#: Directory of the built-in samples.
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

_TOP_KEYS = (
    "name", "description", "spin", "g", "Omega0", "tunnel_splitting", "bias", "bias_sampling",
    "orientation", "packets", "seed", "temperature", "environment", "relaxation",
)  # fmt: skip
_ENV_KEYS = {
    "nuclear": (
        "N",
        "omega0",
        "delta_omega",
        "lambda",
        "lambda_prime",
        "temperature",
        "dynamic",
    ),
    "spin_diffusion": ("T2", "width"),
    "electrons": ("alpha",),
    "phonons": ("debye_temperature", "anisotropy"),
}
# Kind of every scalar key a fit or an override may address (dotted path -> quantity kind).
_KINDS: dict[str, str] = {
    "spin": "dimensionless", "g": "dimensionless", "Omega0": "energy",
    "temperature": "temperature", "packets": "int", "seed": "int",
    "bias_sampling.width": "energy", "bias_sampling.fraction": "dimensionless",
    "bias_sampling.center": "energy", "orientation.theta": "angle",
    "environment.nuclear.N": "int", "environment.nuclear.omega0": "energy",
    "environment.nuclear.delta_omega": "energy", "environment.nuclear.lambda": "dimensionless",
    "environment.nuclear.lambda_prime": "dimensionless",
    "environment.nuclear.temperature": "temperature",
    "environment.spin_diffusion.T2": "time", "environment.spin_diffusion.width": "energy",
    "environment.electrons.alpha": "dimensionless",
    "environment.phonons.debye_temperature": "temperature",
    "environment.phonons.anisotropy": "energy", "relaxation.T1": "time", "relaxation.T2": "time",
}  # fmt: skip
for _block in ("tunnel_splitting", "bias"):
    for _key in ("value", "mean", "median", "low", "high", "width"):
        _KINDS[f"{_block}.{_key}"] = "energy"
    _KINDS[f"{_block}.sigma"] = "dimensionless"


class SampleError(InputError):
    """A sample file or a sample override is malformed."""


@dataclass(frozen=True)
class SpinDiffusion:
    """Nuclear spin diffusion: bias drift at rate 1/T2 over ``width_hz``."""

    t2_s: float
    width_hz: float


@dataclass(frozen=True)
class Phonons:
    """Phonon bath of paper Eq. (12)."""

    debye_temperature_k: float
    anisotropy_hz: float


@dataclass(frozen=True)
class Sample:
    """A sample: distributions of packet parameters and environments (SI, energies in Hz).

    Build with :func:`load_sample`; see the module docstring for the meaning of each field.
    ``text`` is the YAML the sample was read from (or regenerated after overrides).
    """

    name: str
    tunnel_splitting: Distribution
    bias: Distribution | None
    orientation: Orientation
    packets: int
    seed: int
    temperature_k: float
    text: str
    source: str
    description: str = ""
    spin: float | None = None
    g: float | None = None
    omega0_big_hz: float | None = None
    bias_sampling: BiasSampling | None = None
    nuclear: NuclearBath | None = None
    diffusion: SpinDiffusion | None = None
    electron_alpha: float | None = None
    phonons: Phonons | None = None
    t1_s: float | None = None
    t2_s: float | None = None

    def to_yaml(self) -> str:
        """Return the sample as YAML text that :func:`load_sample` reads back to this sample."""
        return self.text

    def ensemble(self, packets: int | None = None, seed: int | None = None) -> Ensemble:
        """Draw the packet ensemble (see :func:`simulator.ensemble.sample_ensemble`).

        Parameters
        ----------
        packets
            Number of packets; the sample's ``packets`` when None.
        seed
            Seed of the draw; the sample's ``seed`` when None.
        """
        if packets is not None:
            packets = check_packets(packets)
        return sample_ensemble(self, packets=packets, seed=seed)

    def value(self, key: str) -> float:
        """Return the value of a dotted key (e.g. ``"relaxation.T2"``) in SI (energies in Hz).

        Raises
        ------
        SampleError
            If ``key`` is not a numeric key of the format or is absent from this sample.
        """
        kind = key_kind(key)
        doc = yaml.safe_load(self.text)
        node: Any = doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise SampleError("the sample does not set this key", file=self.source, key=key)
            node = node[part]
        if kind == "int":
            return float(node)
        return parse_quantity(node, kind)

    def with_overrides(self, overrides: dict[str, str | float]) -> Sample:
        """Return a copy with dotted keys replaced (``{"relaxation.T2": "5 us"}``).

        Floats are SI values (Hz for energies). Missing blocks are created. The result is
        validated like a file; an error names the override (file ``--set``), or, for a key the
        overrides left alone but made invalid, that key in the sample's file with the overrides
        (no line: the file's lines are not those of the re-written text).
        """
        doc = yaml.safe_load(self.text)
        for key, value in overrides.items():
            kind = key_kind(key)
            parts = key.split(".")
            node = doc
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise SampleError("is not a block", file="--set", key=key, value=value)
                node = child
            node[parts[-1]] = _override_text(key, kind, value)
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        try:
            return _parse(load_yaml(self.source, text=text, error_class=SampleError), text)
        except SampleError as err:
            if err.key in overrides:
                raise SampleError(err.message, file="--set", key=err.key, value=err.value) from None
            # a key the overrides made invalid: its line in the re-written text is not the file's
            given = ", ".join(f"{key}={value}" for key, value in overrides.items())
            raise SampleError(
                f"{err.message} (with --set {given})",
                file=self.source,
                key=err.key,
                value=err.value,
            ) from None

    def with_values(self, **values: str | float) -> Sample:
        """Return :meth:`with_overrides` of the keywords (``**{"relaxation.T2": "15 us"}``)."""
        return self.with_overrides(values)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> Sample:
        """Parse sample YAML ``text`` as :func:`load_sample` would; ``source`` for messages."""
        return _parse(load_yaml(source, text=text, error_class=SampleError), text)


def key_kind(key: str) -> str:
    """Return the quantity kind of a numeric sample key (``"relaxation.T2"`` -> ``"time"``).

    Kinds are those of :data:`sequences.quantity.KINDS`, plus ``"int"`` for counts and seeds.

    Raises
    ------
    SampleError
        If ``key`` is not a numeric key a fit or an override may address.
    """
    if key not in _KINDS:
        raise SampleError(
            f"not a numeric sample key; known keys: {', '.join(sorted(_KINDS))}", key=key
        )
    return _KINDS[key]


def _override_text(key: str, kind: str, value: str | float) -> Any:
    if kind == "int":
        try:
            number = float(value)
        except ValueError:
            raise SampleError(
                "must be a whole number", file="--set", key=key, value=value
            ) from None
        if not number.is_integer():
            raise SampleError("must be a whole number", file="--set", key=key, value=value)
        return int(number)
    if isinstance(value, str):
        return value
    if kind in ("dimensionless",):
        return float(value)
    return format_quantity(float(value), kind)


def list_samples() -> list[tuple[str, str]]:
    """Return ``(name, description)`` of every built-in sample, sorted by name."""
    result = []
    for path in sorted(SAMPLES_DIR.glob("*.yaml")):
        sample = load_sample(path)
        result.append((sample.name, sample.description))
    return result


def load_sample(name_or_path: str | Path) -> Sample:
    """Read a sample: a built-in name (``simulator/samples/NAME.yaml``) or a YAML path.

    Raises
    ------
    SampleError
        Naming file, line, key and value, for any malformed or unknown entry.
    """
    text = str(name_or_path)
    builtin = SAMPLES_DIR / f"{text}.yaml"
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        if not builtin.is_file():
            names = ", ".join(p.stem for p in sorted(SAMPLES_DIR.glob("*.yaml")))
            raise SampleError(f"no built-in sample of this name; built-in: {names}", value=text)
        path = builtin
    else:
        path = Path(name_or_path)
    text = read_document(path, error_class=SampleError)
    return _parse(load_yaml(path, text=text, error_class=SampleError), text)


def _parse(root: MapNode, text: str) -> Sample:
    root.check_keys(_TOP_KEYS, ("name", "tunnel_splitting"))
    env = _environment(root)
    nuclear = env.get("nuclear")
    bias = root.get("bias")
    if bias is None and nuclear is None:
        root["bias"]
    fields: dict[str, Any] = {
        "name": root["name"].as_str(),
        "tunnel_splitting": parse_distribution(root["tunnel_splitting"], positive=True),
        "bias": None if bias is None else parse_distribution(bias),
        "orientation": Orientation(),
        "packets": 4000,
        "seed": 0,
        "temperature_k": 0.0,
        "text": text,
        "source": root.file,
        "nuclear": nuclear,
    }
    if "description" in root:
        fields["description"] = root["description"].as_str()
    if "spin" in root:
        spin = _bounded(root["spin"], "spin", positive=True)
        if not (2 * spin).is_integer():
            raise root["spin"].error("must be a multiple of 1/2")
        fields["spin"] = spin
    if "g" in root:
        fields["g"] = _bounded(root["g"], "g", positive=True)
    if "Omega0" in root:
        fields["omega0_big_hz"] = root["Omega0"].quantity("energy", positive=True)
    if "orientation" in root:
        fields["orientation"] = parse_orientation(root["orientation"])
    if "packets" in root:
        fields["packets"] = root["packets"].integer(minimum=1, maximum=MAX_PACKETS)
    if "seed" in root:
        fields["seed"] = root["seed"].integer(minimum=0, maximum=MAX_SEED)
    if "temperature" in root:
        fields["temperature_k"] = root["temperature"].quantity("temperature", nonnegative=True)
    if "bias_sampling" in root:
        node = root["bias_sampling"]
        fields["bias_sampling"] = _bias_sampling(node.as_map())
        if nuclear is not None:
            if nuclear.group_width_hz <= 0:
                raise node.error("needs environment.nuclear.delta_omega > 0 (a bias density)")
        elif not fields["bias"].has_density:
            raise node.error("needs a bias with a density (gaussian, lognormal or uniform)")
    fields.update(_rates(root, env))
    return Sample(**fields)


def _bounded(node: Node, key: str, *, positive: bool = False) -> float:
    """Read a plain number of ``key`` (>= 0, or > 0) bounded by ``KEY_LIMITS[key]``."""
    value = node.quantity("dimensionless", positive=positive, nonnegative=not positive)
    if value > KEY_LIMITS[key]:
        raise node.error(f"must be at most {KEY_LIMITS[key]:g}")
    return value


def _environment(root: MapNode) -> dict[str, Any]:
    result: dict[str, Any] = {}
    node = root.get("environment")
    if node is None:
        return result
    env = node.as_map()
    env.check_keys(_ENV_KEYS)
    blocks = {key: block.as_map() for key, block in env.items()}
    for key, block in blocks.items():
        block.check_keys(_ENV_KEYS[key])
    if "nuclear" in blocks:
        block = blocks["nuclear"]
        n_spins = block["N"].integer(minimum=1, maximum=10**12)
        omega0 = block["omega0"].quantity("energy", positive=True)
        spread = block.get("delta_omega")
        lam = block.get("lambda")
        lam_prime = block.get("lambda_prime")
        bath = NuclearBath(
            n_spins,
            omega0,
            0.0 if spread is None else spread.quantity("energy", nonnegative=True),
            0.0 if lam is None else _bounded(lam, "environment.nuclear.lambda"),
            0.0 if lam_prime is None else _bounded(lam_prime, "environment.nuclear.lambda_prime"),
            None
            if "temperature" not in block
            else block["temperature"].quantity("temperature", positive=True),
            "dynamic" in block and block["dynamic"].as_bool(),
        )
        if bath.lam_prime > bath.lam:
            raise block["lambda_prime"].error(f"must be at most lambda ({bath.lam!r})")
        result["nuclear"] = bath
    if "spin_diffusion" in blocks:
        block = blocks["spin_diffusion"]
        t2 = block["T2"].quantity("time", positive=True)
        if "width" in block:
            width = block["width"].quantity("energy", positive=True)
        elif "nuclear" in result and result["nuclear"].group_width_hz > 0:
            width = result["nuclear"].group_width_hz
        else:
            raise block.error(
                "needs 'width' (or environment.nuclear with N and delta_omega > 0, whose "
                "group width N^(1/2) delta_omega is the default)"
            )
        result["spin_diffusion"] = SpinDiffusion(t2, width)
        if "nuclear" in result and result["nuclear"].dynamic:
            raise blocks["nuclear"]["dynamic"].error(
                "a dynamic nuclear bath is simulated without spin diffusion; remove "
                "environment.spin_diffusion or set environment.nuclear.dynamic: false"
            )
    if "electrons" in blocks:
        result["electrons"] = blocks["electrons"]["alpha"].quantity(
            "dimensionless", nonnegative=True
        )
    if "phonons" in blocks:
        block = blocks["phonons"]
        for needed in ("spin", "Omega0"):
            if needed not in root:
                raise block.error(f"phonons need the top-level key {needed!r}")
        result["phonons"] = Phonons(
            block["debye_temperature"].quantity("temperature", positive=True),
            block["anisotropy"].quantity("energy", positive=True),
        )
    return result


def _bias_sampling(block: MapNode) -> BiasSampling:
    block.check_keys(("width", "fraction", "center"), ("width", "fraction"))
    fraction = block["fraction"].quantity("dimensionless", nonnegative=True)
    if fraction >= 1:
        raise block["fraction"].error("must be below 1 (some packets follow the physical density)")
    center = block.get("center")
    return BiasSampling(
        block["width"].quantity("energy", positive=True),
        fraction,
        0.0 if center is None else center.quantity("energy"),
    )


def _rates(root: MapNode, env: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "diffusion": env.get("spin_diffusion"),
        "electron_alpha": env.get("electrons"),
        "phonons": env.get("phonons"),
    }
    node = root.get("relaxation")
    if node is None:
        return fields
    block = node.as_map()
    block.check_keys(("T1", "T2"))
    t1 = block["T1"].quantity("time", positive=True) if "T1" in block else None
    t2 = block["T2"].quantity("time", positive=True) if "T2" in block else None
    if t1 is not None and t2 is not None and t2 > 2 * t1:
        raise block["T2"].error(
            f"must be at most 2*T1 = {format_quantity(2 * t1, 'time')} (a Lindblad evolution "
            "with T2 > 2 T1 is not positive)"
        )
    fields["t1_s"], fields["t2_s"] = t1, t2
    return fields
