"""Subcommand groups of the newsarchive CLI; each module exposes register(subparsers).

The arguments several commands share are defined once here, so every command names,
defaults and explains them the same way.
"""

from __future__ import annotations

import argparse
import os

from crawler.context import DEFAULT_STORE

STORE_HELP = ("a directory or s3://bucket/prefix (default: $NEWSARCHIVE_STORE or ./archive); "
              "S3 endpoint and credentials come from the standard AWS environment/config")


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=os.environ.get("NEWSARCHIVE_STORE") or DEFAULT_STORE,
                        help=STORE_HELP)


def add_object_lock_arguments(parser: argparse.ArgumentParser) -> None:
    """--create-bucket and S3 Object Lock, for the commands that create objects."""
    parser.add_argument("--create-bucket", action="store_true",
                        help="S3: create the bucket when it does not exist")
    parser.add_argument("--object-lock-days", type=int, metavar="N",
                        help="S3: keep WARC objects immutable for N days with Object Lock (the "
                             "bucket must have Object Lock; with --create-bucket it gets it)")
    parser.add_argument("--object-lock-mode", choices=("governance", "compliance"),
                        help="S3 Object Lock mode (default governance; compliance cannot be "
                             "shortened or bypassed by anyone)")
