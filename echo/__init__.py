"""What the scientist does: run a protocol on a bench, store, analyse, compare, plot; the CLI."""

__version__ = "0.1.0"
