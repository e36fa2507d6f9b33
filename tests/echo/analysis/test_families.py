"""Protocol families come from structure: every built-in protocol, renamed copies, near misses."""

from __future__ import annotations

import pytest

from spin_echo.echo.analysis.families import FAMILIES, classify_protocol
from spin_echo.sequences import Protocol, list_protocols, load_protocol

EXPECTED = {
    "hahn-echo": ("hahn-echo", "tau"),
    "hahn-echo-exorcycle": ("hahn-echo", "tau"),
    "stimulated-echo": ("stimulated-echo", "T_mix"),
    "inversion-recovery": ("inversion-recovery", "T_rec"),
    "cpmg": ("cpmg", "tau"),
    "nutation": ("nutation", "t_p"),
    "fid": ("fid", "carrier"),
    "hole-burning": ("hole-burning", "probe_offset"),
}


def renamed(name, new_name="anything-else", **replace):
    text = load_protocol(name).to_yaml().replace(f"name: {name}", f"name: {new_name}", 1)
    for old, new in replace.items():
        assert old.replace("_", " ") in text
        text = text.replace(old.replace("_", " "), new)
    return Protocol.from_yaml(text)


def test_every_builtin_protocol_has_an_expected_family():
    assert {name for name, _ in list_protocols()} == set(EXPECTED)
    assert set(FAMILIES) == {family for family, _ in EXPECTED.values()}


@pytest.mark.parametrize("name", EXPECTED)
def test_builtin_and_renamed_copy_get_the_same_family(name):
    family = classify_protocol(load_protocol(name))
    assert (family.name, family.axis) == EXPECTED[name]
    assert classify_protocol(renamed(name)) == family


def test_pulse_order_decides_hahn_versus_inversion_recovery():
    """pi - tau - pi/2 with a tau sweep is an inversion recovery, whatever it is called."""
    text = load_protocol("hahn-echo").to_yaml()
    swapped = text.replace("angle: pi/2\n", "angle: X\n").replace("angle: pi\n", "angle: pi/2\n")
    family = classify_protocol(Protocol.from_yaml(swapped.replace("angle: X\n", "angle: pi\n")))
    assert family.name == "inversion-recovery"


def test_stimulated_echo_swept_in_tau_is_not_a_mixing_time_decay():
    text = load_protocol("stimulated-echo").to_yaml()
    head, _, tail = text.partition("sweep:\n")
    tail = tail[tail.index("phase_cycle:") :]
    protocol = Protocol.from_yaml(f"{head}sweep:\n  tau: {{values: [3 us, 4 us]}}\n{tail}")
    family = classify_protocol(protocol)
    assert family.name == ""
    assert family.reason.endswith("(pi/2, pi/2, pi/2), 1 detection window with 'tau' swept")


def test_two_dimensional_hole_burning_finds_the_pump_axis():
    text = load_protocol("hole-burning").to_yaml()
    text = text.replace("sweep:\n", "sweep:\n  pump_amplitude: {values: [0, 0.05]}\n", 1)
    family = classify_protocol(Protocol.from_yaml(text))
    assert (family.name, family.axis, family.pump_axis) == (
        "hole-burning", "probe_offset", "pump_amplitude"
    )
