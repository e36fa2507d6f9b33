"""The live view of a record while a run writes it (``spin-echo watch REC``, ``--live``).

:mod:`~spin_echo.echo.live.state` re-reads the record as it grows and draws the figure of
``spin-echo plot`` (the same analysis and drawing code); :mod:`~spin_echo.echo.live.server`
serves it as a local web page on 127.0.0.1, :mod:`~spin_echo.echo.live.window` in a
matplotlib window. The command is :mod:`spin_echo.echo.cli.lab.watch`.
"""

__all__: list[str] = []
