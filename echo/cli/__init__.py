"""The ``spin-echo`` command line: :func:`main` and one module per sub-command."""

from spin_echo.echo.cli.main import main

__all__ = ["main"]
