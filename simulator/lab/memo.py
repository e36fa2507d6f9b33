r"""Whole-pulse maps kept between calls: a pulse met again costs one lookup.

A lab-frame pulse map (:mod:`simulator.lab.pulse` for a timeline's segments,
:func:`simulator.lab.sampled.driven_map` for a run of AWG samples) depends only on the packets,
the relaxation and the drive. In a sweep the same pulse recurs: every phase step of a point
shares the pulses the phase cycle does not change, and a protocol whose pulses sit on the
carrier's period grid (the built-in ``hahn-echo``) repeats them at every point; the virtual
bench plays the same samples in every waveform. :class:`MapMemo` keeps the maps, keyed by the
drive (any hashable description of it) and a digest of everything a packet's map depends on
(:func:`packet_digest`), bounded in bytes, least recently used first out.

A map from the memo is the array that was computed, so a result is the same bit for bit
whether the map was found or computed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from spin_echo.simulator.bloch import PacketFrame, Relaxation

__all__ = ["SHARED_MAPS", "MapMemo", "packet_digest"]


def packet_digest(frame: PacketFrame, relax: Relaxation) -> bytes:
    """Return a digest of the packets' parameters and the relaxation (what a map depends on)."""
    digest = hashlib.blake2b(digest_size=20)
    for values in (frame.energy_hz, frame.cos_eta, frame.sin_eta, frame.coupling, frame.z_eq):
        digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
    digest.update(np.array([relax.gamma1, relax.gamma2, len(frame.energy_hz)]).tobytes())
    return digest.digest()


class MapMemo:
    """Maps kept per (drive, packets), bounded in bytes, thread-safe.

    Parameters
    ----------
    max_bytes
        Memory the maps may hold together; the least recently used are forgotten.
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._maps: OrderedDict[tuple[Hashable, bytes], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        drive: Hashable,
        frame: PacketFrame,
        relax: Relaxation,
        build: Callable[[], np.ndarray],
    ) -> np.ndarray:
        """Return the map of ``drive`` for these packets, from ``build()`` if not kept.

        The returned array must not be modified (it may be returned again).
        """
        key = (drive, packet_digest(frame, relax))
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        built = build()
        built.flags.writeable = False
        if built.nbytes <= self.max_bytes:
            with self._lock:
                if key not in self._maps:
                    self._maps[key] = built
                    self._bytes += built.nbytes
                while self._bytes > self.max_bytes:
                    _, old = self._maps.popitem(last=False)
                    self._bytes -= old.nbytes
        return built

    def clear(self) -> None:
        """Forget every map."""
        with self._lock:
            self._maps.clear()
            self._bytes = 0


#: The memo the lab-frame propagators use unless given another.
SHARED_MAPS = MapMemo()
