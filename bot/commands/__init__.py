"""CLI command groups: each module registers its subcommands with `register(subparsers)`.

A handler takes the parsed arguments and returns an exit code (0 ok, 1 failure, 2 bad input).
"""
