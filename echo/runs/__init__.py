"""Runs: a protocol simulated or played on a bench, point by point into a record."""
