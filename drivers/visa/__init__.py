"""VISA drivers of real instruments: the SCPI base and one module per instrument family."""
