"""Sub-commands of ``spin-echo``: each module has ``register(subparsers)`` and ``run(args)``."""
