"""What a sample does: ensembles of giant-spin packets, environments, propagators."""
