"""What an experiment is: quantities, pulses, sequences, protocols, and their compilers."""

from sequences.errors import CompileError, InputError, ProtocolError, SpinEchoError
from sequences.timeline import AwgConstraints, DetectWindow, Timeline, Waveform

__all__ = [
    "AwgConstraints",
    "CompileError",
    "DetectWindow",
    "InputError",
    "ProtocolError",
    "SpinEchoError",
    "Timeline",
    "Waveform",
]
