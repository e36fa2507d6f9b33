"""The lab frame: the full drive with its carrier, exact (frame), its maps and pulse maps."""
