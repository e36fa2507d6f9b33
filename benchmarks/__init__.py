"""Benchmarks of spin-echo: run them as ``python -m benchmarks.NAME`` from the repository root."""
