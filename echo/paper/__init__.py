"""The reproduction of Prokof'ev & Stamp (1995): spectra, dynamics, and the report."""
