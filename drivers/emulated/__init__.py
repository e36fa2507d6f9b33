"""Emulated SCPI instruments on 127.0.0.1, and the virtual lab that wires them to a sample."""
