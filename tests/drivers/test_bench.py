"""Bench files: parsing, validation against driver settings and bench limits, errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from spin_echo.drivers.bench import load_bench
from spin_echo.drivers.interface import BenchError
from spin_echo.sequences.errors import InputError

LAB = textwrap.dedent(
    """\
    name: lab-a
    awg:
      driver: keysight-33600a
      resource: "TCPIP::10.0.0.20::INSTR"
      sample_rate: 250 MHz
      amplitude: 20 mV
      timeout: 5 s
      limits: {amplitude_vpp: 2.0, sample_rate_hz: 500 MHz}
    detector:
      driver: keysight-infiniivision
      resource: "TCPIP::10.0.0.21::INSTR"
      channel: 2
      byte_order: msb
    coil: {field_per_volt: 1e-4 T/V, pickup: 1 mV}
    receiver: {bandwidth: 2 MHz}
    """
)


def write(tmp_path, text):
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def test_a_lab_bench_parses_to_si(tmp_path):
    spec = load_bench(write(tmp_path, LAB))
    assert spec.name == "lab-a"
    assert spec.text == LAB
    assert not spec.is_virtual
    awg = spec.awg
    assert (awg.driver, awg.resource, awg.timeout_s) == (
        "keysight-33600a",
        "TCPIP::10.0.0.20::INSTR",
        5.0,
    )
    assert awg.limits == {"amplitude_vpp": 2.0, "sample_rate_hz": 500e6}
    assert awg.options == {
        "channel": 1,
        "sample_rate": 250e6,
        "amplitude": 0.02,
        "offset": 0.0,
        "load": "50",
        "trigger": "BUS",
    }
    assert awg.backend == "@py"
    assert spec.detector.options["channel"] == 2
    assert spec.detector.options["byte_order"] == "MSB"
    assert spec.detector.timeout_s == 10.0
    assert spec.coil.field_per_volt_t == 1e-4
    assert spec.coil.pickup_v == pytest.approx(1e-3, rel=1e-15)
    assert spec.receiver_bandwidth_hz == 2e6
    assert spec.lockin is None
    assert awg.label == "awg (keysight-33600a at TCPIP::10.0.0.20::INSTR)"


ERRORS = {
    "amplitude-above-limit": (
        ("amplitude: 20 mV", "amplitude: 3 V"),
        "lab.yaml:6: awg.amplitude = '3 V': must be between 0.001 and 2 Vpp (model limits "
        "between 0.001 and 10 Vpp, tightened by the bench)",
    ),
    "rate-above-limit": (
        ("sample_rate: 250 MHz", "sample_rate: 800 MHz"),
        "lab.yaml:5: awg.sample_rate = '800 MHz': must be between 1e-06 and 5e+08 Sa/s",
    ),
    "unknown-key": (
        ("timeout: 5 s", "timout: 5 s"),
        "lab.yaml:7: awg.timout: unknown key 'timout'",
    ),
    "unknown-driver": (
        ("driver: keysight-33600a", "driver: keysight-33250a"),
        "lab.yaml:3: awg.driver = 'keysight-33250a': unknown awg driver; known: keysight-33500b, "
        "keysight-33600a",
    ),
    "detector-as-awg": (
        ("driver: keysight-33600a", "driver: keysight-infiniivision"),
        "unknown awg driver",
    ),
    "missing-resource": (
        ('  resource: "TCPIP::10.0.0.20::INSTR"\n', ""),
        "awg.resource: missing required key 'resource'",
    ),
    "missing-amplitude": (("  amplitude: 20 mV\n", ""), "awg.amplitude: missing required key"),
    "unknown-limit": (("amplitude_vpp: 2.0", "power_dbm: 2.0"), "unknown limit"),
    "negative-limit": (("amplitude_vpp: 2.0", "amplitude_vpp: -2.0"), "must be a positive finite"),
    "limit-wrong-unit": (("amplitude_vpp: 2.0", "amplitude_vpp: 2 MHz"), "must be a voltage"),
    "bad-timeout": (("timeout: 5 s", "timeout: -1 s"), "must be a positive time"),
    "bad-choice": (("byte_order: msb", "byte_order: middle"), "must be one of LSB, MSB"),
    "bad-channel": (("channel: 2", "channel: 7"), "channel = 7: must be one of 1, 2, 3, 4"),
    "level": (
        (
            "amplitude: 20 mV\n  timeout: 5 s\n  limits: {amplitude_vpp: 2.0,",
            "amplitude: 9 V\n  offset: 1 V\n  timeout: 5 s\n  limits: {amplitude_vpp: 10,",
        ),
        "exceeds the 5 V output range",
    ),
    "unknown-top-key": (("receiver:", "reciever:"), "unknown key 'reciever'"),
    "bad-coil": (("1e-4 T/V", "1e-4 T"), "coil.field_per_volt"),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_bench_file_errors_name_file_line_key_value(tmp_path, case):
    (old, new), message = ERRORS[case]
    assert old in LAB
    path = write(tmp_path, LAB.replace(old, new, 1))
    with pytest.raises(BenchError) as info:
        load_bench(path)
    assert isinstance(info.value, InputError)
    text = str(info.value)
    assert text.startswith(f"{path}:")
    assert message.replace("lab.yaml", str(path)) in text


def test_rate_above_model_names_the_model_limit(tmp_path):
    path = write(tmp_path, LAB.replace("500 MHz}", "5 GHz}").replace("250 MHz", "2 GHz"))
    with pytest.raises(BenchError, match=r"must be between 1e-06 and 1e\+09 Sa/s"):
        load_bench(path)


def test_unknown_bench_name_lists_built_ins():
    with pytest.raises(BenchError, match="no such bench file or built-in bench"):
        load_bench("no-such-bench")


def test_visa_backend_path_is_relative_to_the_bench_file(tmp_path):
    path = write(tmp_path, "visa_backend: sim/x.yaml@sim\n" + LAB)
    spec = load_bench(path)
    assert spec.awg.backend == f"{tmp_path}/sim/x.yaml@sim"


def test_yaml_errors_are_bench_errors(tmp_path):
    with pytest.raises(BenchError, match="YAML syntax error"):
        load_bench(write(tmp_path, "name: [unclosed\n"))


def test_tektronix_bench_with_lockin(tmp_path):
    text = textwrap.dedent(
        """\
        name: lab-b
        awg: {driver: tektronix-awg5200, resource: "TCPIP::10.0.0.30::INSTR",
              sample_rate: 2.5 GHz, amplitude: 0.5 V, trigger_input: btr}
        detector: {driver: tektronix-mso, resource: "TCPIP::10.0.0.31::INSTR", points: 5000,
                   range: 0.2 V}
        lockin: {driver: srs-sr830, resource: "GPIB0::8::INSTR", phase: 90 deg}
        """
    )
    spec = load_bench(write(tmp_path, text))
    assert spec.awg.options["trigger_input"] == "BTR"
    assert spec.detector.options["points"] == 5000
    assert spec.lockin.options["phase"] == pytest.approx(np.pi / 2, rel=1e-15)
    bad = text.replace("amplitude: 0.5 V", "amplitude: 1 V")
    with pytest.raises(BenchError, match=r"awg.amplitude = '1 V': must be between 0.025 and 0.75"):
        load_bench(write(tmp_path, bad))


RESOURCES = {
    "tcpip-instr": ("TCPIP::10.0.0.20::INSTR", None),
    "tcpip-socket": ("TCPIP::10.0.0.20::5025::SOCKET", None),
    "gpib": ("GPIB0::12::INSTR", None),
    "usb": ("USB0::0x0957::0x2807::MY123::INSTR", None),
    "words": ("not a resource", "not a VISA resource string"),
    "bare-host": ("10.0.0.20", "not a VISA resource string"),
    "truncated": ("TCPIP::", "not a VISA resource string"),
    "port-word": ("TCPIP::10.0.0.20::port::SOCKET", "socket port 'port'"),
    "port-zero": ("TCPIP::10.0.0.20::0::SOCKET", "socket port '0'"),
    "port-too-big": ("TCPIP::10.0.0.20::70000::SOCKET", "socket port '70000'"),
}


@pytest.mark.parametrize(("resource", "why"), RESOURCES.values(), ids=RESOURCES.keys())
def test_resource_strings_are_visa_syntax(tmp_path, resource, why):
    text = LAB.replace('"TCPIP::10.0.0.20::INSTR"', f'"{resource}"')
    if why is None:
        assert load_bench(write(tmp_path, text)).awg.resource == resource
        return
    with pytest.raises(BenchError, match=why) as info:
        load_bench(write(tmp_path, text))
    assert info.value.key == "awg.resource" and info.value.line == 4


LONG = textwrap.dedent(
    """\
    name: long
    parameters: {carrier: 4 MHz, tau: 3 ms}
    sequence:
      - pulse: {angle: pi/2, duration: 500 ns}
      - delay: tau
      - pulse: {angle: pi, duration: 1 us}
      - delay: tau
      - detect: {duration: 4 us, points: 64}
    repetition_time: 10 ms
    full_scale_rabi: 1 MHz
    """
)


def test_a_protocol_longer_than_the_awg_memory_is_refused_before_connecting(tmp_path):
    from spin_echo.drivers.bench import check_protocol_fits
    from spin_echo.sequences import Protocol

    small = load_bench(write(tmp_path, LAB.replace("keysight-33600a", "keysight-33500b")))
    protocol = Protocol.from_yaml(LONG)
    # 6.0055 ms at 250 MSa/s = 1 501 375 samples; the 33500B holds 1 000 000 (33600A: 4 000 000)
    with pytest.raises(BenchError, match=r"needs 1501375 samples.*at most 1000000") as info:
        check_protocol_fits(small, protocol)
    assert info.value.file == str(tmp_path / "lab.yaml") and info.value.key == "awg"
    check_protocol_fits(load_bench(write(tmp_path, LAB)), protocol)
    shorter = protocol.with_overrides({"tau": "1.9 ms"})  # 3.8055 ms: 951 375 samples
    check_protocol_fits(small, shorter)


def _exception_classes() -> list[type]:
    import importlib
    import pkgutil

    from spin_echo.sequences.errors import SpinEchoError

    for room in ("sequences", "simulator", "drivers", "echo"):
        package = importlib.import_module(f"spin_echo.{room}")
        for module in pkgutil.walk_packages(package.__path__, f"spin_echo.{room}."):
            if module.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(module.name)
            except ImportError:  # an optional back end (numba) that is not installed
                continue
    found, todo = set(), [SpinEchoError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def _example(cls: type) -> BaseException:
    import inspect

    args, kwargs = [], {}
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    for parameter in parameters:
        value = 7 if parameter.name == "line" else f"<{parameter.name}>"
        if parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        elif parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            args.append(value)
    return cls(*(args or ["<message>"]), **kwargs)


EXCEPTIONS = _exception_classes()


def test_every_exception_class_is_found():
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"InstrumentError", "BenchError", "RecordError", "ProtocolError"} <= names
    assert len(EXCEPTIONS) >= 12


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=[cls.__name__ for cls in EXCEPTIONS])
def test_every_exception_survives_pickling_with_its_context(cls):
    import pickle

    error = _example(cls)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert str(back) == str(error)
    assert back.args == error.args
    assert vars(back) == vars(error)
