"""Subcommand groups of the newsarchive CLI; each module exposes register(subparsers)."""
