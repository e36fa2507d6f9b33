"""Commands that look at records in the lab: ``watch``, ``info`` and ``records``.

``watch`` is the live view of a record being written, ``info`` one record's provenance and
progress, ``records`` a folder's catalogue. They live in their own folder because ``echo/cli``
holds one module per command and the architecture test allows at most 15 modules in a folder
(``tests/test_architecture.py``); their rows in :data:`spin_echo.echo.cli.main.COMMANDS` name
``spin_echo.echo.cli.lab.<module>``.
"""
