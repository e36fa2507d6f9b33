"""What an experiment is: quantities, pulses, sequences, protocols, and their compilers.

The names below load their module on first use (PEP 562), so importing the package, or one of
its light modules, does not import the heavy ones (the command line starts fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spin_echo.sequences.lazy import lazy_exports

if TYPE_CHECKING:
    from spin_echo.sequences.compile import compile_timeline, compile_waveform
    from spin_echo.sequences.errors import CompileError, InputError, ProtocolError, SpinEchoError
    from spin_echo.sequences.model import Delay, Detect, Pulse, Sequence
    from spin_echo.sequences.protocol import (
        Parameter,
        PhaseStep,
        Protocol,
        SweepAxis,
        combine_phase_cycle,
    )
    from spin_echo.sequences.protocol_files import list_protocols, load_protocol
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

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "AwgConstraints": "timeline",
    "Chirp": "shapes",
    "combine_phase_cycle": "parameters",
    "compile_timeline": "compile",
    "compile_waveform": "compile",
    "CompileError": "errors",
    "Delay": "model",
    "Detect": "model",
    "DetectWindow": "timeline",
    "Gaussian": "shapes",
    "InputError": "errors",
    "list_protocols": "protocol_files",
    "load_protocol": "protocol_files",
    "Parameter": "protocol",
    "PhaseStep": "protocol",
    "Protocol": "protocol",
    "ProtocolError": "errors",
    "Pulse": "model",
    "Rect": "shapes",
    "Sech": "shapes",
    "Sequence": "model",
    "Shape": "shapes",
    "SpinEchoError": "errors",
    "SweepAxis": "protocol",
    "Timeline": "timeline",
    "Waveform": "timeline",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
