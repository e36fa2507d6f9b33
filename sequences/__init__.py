"""What an experiment is: quantities, pulses, sequences, protocols, and their compilers."""

from sequences.compile import compile_timeline, compile_waveform
from sequences.errors import CompileError, InputError, ProtocolError, SpinEchoError
from sequences.model import Delay, Detect, Pulse, Sequence
from sequences.protocol import (
    Parameter,
    PhaseStep,
    Protocol,
    SweepAxis,
    combine_phase_cycle,
    list_protocols,
    load_protocol,
)
from sequences.shapes import Chirp, Gaussian, Rect, Sech, Shape
from sequences.timeline import AwgConstraints, DetectWindow, Timeline, Waveform

__all__ = [
    "AwgConstraints",
    "Chirp",
    "CompileError",
    "Delay",
    "Detect",
    "DetectWindow",
    "Gaussian",
    "InputError",
    "Parameter",
    "PhaseStep",
    "Protocol",
    "ProtocolError",
    "Pulse",
    "Rect",
    "Sech",
    "Sequence",
    "Shape",
    "SpinEchoError",
    "SweepAxis",
    "Timeline",
    "Waveform",
    "combine_phase_cycle",
    "compile_timeline",
    "compile_waveform",
    "list_protocols",
    "load_protocol",
]
