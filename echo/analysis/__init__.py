"""Analysis of records: echo extraction, noise, curve fits, compare, sample fits."""
