"""``spin-echo budget SAMPLE``: the paper's decoherence budget of a sample, as a table.

For each mechanism of Prokof'ev & Stamp (1995) -- degeneracy blocking, nuclear co-flipping,
spin diffusion, electrons, phonons -- one row with the quantity, its value, the criterion for
coherence and the verdict (:mod:`simulator.budget.table`); ``--json`` prints the same as JSON.
The text ends with the ``spin-echo design`` command that asks the same sample the bench's
question (signal against noise).
"""

from __future__ import annotations

import argparse
import json

from spin_echo.simulator import load_sample
from spin_echo.simulator.budget.table import budget_inputs, decoherence_budget, format_budget

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``budget`` sub-command."""
    parser = sub.add_parser(
        "budget",
        description=(
            "Evaluate the decoherence budget of Prokof'ev & Stamp (1995) for a sample: the "
            "fraction A of grains not degeneracy-blocked, lambda and lambda', spin diffusion "
            "(Eq. 8), electrons (Eqs. 10-11) and phonons (Eq. 12), each with its criterion and "
            "verdict."
        ),
    )
    parser.add_argument("sample", metavar="SAMPLE", help="built-in sample name or YAML path")
    parser.add_argument("--json", action="store_true", help="print the budget as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the budget of ``args.sample``; return the exit status."""
    budget = decoherence_budget(budget_inputs(load_sample(args.sample)))
    if args.json:
        print(json.dumps(budget.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_budget(budget))
        print(
            f"\nThese are the paper's closed forms. Whether an echo of this sample stands out of "
            f"a bench's noise, and with how many shots: spin-echo design hahn-echo --sample "
            f"{args.sample} --bench virtual"
        )
    return 0
