"""What an experiment is: quantities, pulses, sequences, protocols, and their compilers."""

from spin_echo.sequences.compile import compile_timeline, compile_waveform
from spin_echo.sequences.errors import CompileError, InputError, ProtocolError, SpinEchoError
from spin_echo.sequences.model import Delay, Detect, Pulse, Sequence
from spin_echo.sequences.protocol import (
    Parameter,
    PhaseStep,
    Protocol,
    SweepAxis,
    combine_phase_cycle,
    list_protocols,
    load_protocol,
)
from spin_echo.sequences.shapes import Chirp, Gaussian, Rect, Sech, Shape
from spin_echo.sequences.timeline import AwgConstraints, DetectWindow, Timeline, Waveform

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
