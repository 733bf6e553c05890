"""The ``qos`` command line. Every command takes ``--home`` and ``--api``; errors print one
line to stderr and exit non-zero (1 for user errors, 2 for usage errors)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

DEFAULT_HOME = Path(os.environ.get("QOS_HOME", str(Path.home() / ".qos")))
DEFAULT_API = os.environ.get("QOS_API", "http://127.0.0.1:8000/graphql")


@dataclass(frozen=True, slots=True)
class CliContext:
    home: Path
    api: str


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_HOME,
    show_default=True,
    envvar="QOS_HOME",
    help="Node/wallet home directory.",
)
@click.option(
    "--api",
    default=DEFAULT_API,
    show_default=True,
    envvar="QOS_API",
    help="GraphQL endpoint of a running node.",
)
@click.pass_context
def cli(ctx: click.Context, home: Path, api: str) -> None:
    """QOS: identities, credentials and files anchored on a BFT chain."""
    ctx.obj = CliContext(home=home, api=api)


def _register() -> None:
    """Import the command modules; each registers its commands on ``cli``."""
    from qos_node.cli import chain, did, ipfs, keys, node, vc  # noqa: F401


def main() -> None:
    _register()
    cli(prog_name="qos")
