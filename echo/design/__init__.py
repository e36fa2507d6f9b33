"""Experiment design: predicted signal, noise, signal-to-noise, verdict and optimisation."""
