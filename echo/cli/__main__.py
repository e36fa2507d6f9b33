"""``python -m spin_echo.echo.cli.main``: the ``spin-echo`` command."""

import sys

from spin_echo.echo.cli.main import main

sys.exit(main())
