"""``qos keys``: create, import and inspect the local encrypted keyring.

The keyring is ``<home>/keyring`` (see :mod:`qos_wallet.keystore`). Passwords come from the
``QOS_PASSWORD`` environment variable if it is set, else from a hidden prompt (asked twice
when a key is created). Every error prints one line ``Error: <message> [<code>]`` to stderr
and exits with status 1.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from qos_chain.errors import QosError
from qos_node.cli import CliContext, cli
from qos_wallet.errors import InvalidMnemonic, KeyExists
from qos_wallet.keystore import KdfParams, KeyInfo, Keystore
from qos_wallet.slip10 import DEFAULT_PATH, parse_path

PASSWORD_ENV = "QOS_PASSWORD"  # noqa: S105  (an env var name, not a password)
KDF_ENV = "QOS_KDF"

P = ParamSpec("P")
R = TypeVar("R")


class KeysCliError(click.ClickException):
    """A one-line user error: ``Error: <message> [<code>]``, exit status 1."""

    exit_code = 1

    def __init__(self, message: str, code: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code


def _translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn QOS and OS errors into :class:`KeysCliError` (no tracebacks)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except QosError as exc:
            raise KeysCliError(exc.message, exc.code) from exc
        except OSError as exc:
            raise KeysCliError(f"{exc.strerror or exc}: {exc.filename}", "io_error") from exc

    return wrapper


def _kdf_from_env() -> KdfParams:
    value = os.environ.get(KDF_ENV, "").strip().lower()
    if value in ("", "interactive"):
        return KdfParams.interactive()
    if value == "min":
        return KdfParams.minimum()
    raise KeysCliError(f"{KDF_ENV} must be 'interactive' or 'min', got {value!r}", "usage_error")


def _keystore(obj: CliContext) -> Keystore:
    return Keystore(obj.home, kdf=_kdf_from_env())


def _password(*, confirm: bool) -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        words = str(click.prompt("Mnemonic (words separated by spaces)", hide_input=True))
    else:
        words = sys.stdin.readline()
    if not words.strip():
        raise InvalidMnemonic("no mnemonic given")
    return words


def _precheck(store: Keystore, name: str, path: str) -> None:
    """Fail on a taken or invalid name or a bad path before asking for secrets."""
    if store.exists(name):
        raise KeyExists(f"a key named {name!r} already exists")
    parse_path(path)


def _print_info(info: KeyInfo, *, public_key: bool) -> None:
    click.echo(f"name:       {info.name}")
    click.echo(f"address:    {info.address_text}")
    if public_key:
        click.echo(f"public_key: {info.public_key.hex()}")
    click.echo(f"path:       {info.path}")


@cli.group("keys")
def keys() -> None:
    """Manage the local encrypted keyring (<home>/keyring).

    Passwords are read from QOS_PASSWORD if set, else from a hidden prompt.
    QOS_KDF=min selects the minimum argon2id cost: for tests only, never for real keys.
    """


@keys.command("new")
@click.argument("name")
@click.option("--path", "path", default=DEFAULT_PATH, show_default=True, help="SLIP-0010 path.")
@click.option(
    "--show-mnemonic/--no-show-mnemonic",
    default=True,
    show_default=True,
    help="Print the new 24-word mnemonic (it is shown only this once).",
)
@click.pass_obj
@_translate_errors
def new_key(obj: CliContext, name: str, path: str, show_mnemonic: bool) -> None:
    """Create a key NAME from a fresh 24-word mnemonic."""
    store = _keystore(obj)
    _precheck(store, name, path)
    password = _password(confirm=True)
    info, words = store.create(name, password, path=path)
    if show_mnemonic:
        click.echo(
            "WARNING: write down these 24 words and keep them offline. They are the only "
            "backup of this key and will NOT be shown again.",
            err=True,
        )
        click.echo("")
        click.echo(words)
        click.echo("")
    else:
        click.echo("Mnemonic not shown: this key has no backup.", err=True)
    _print_info(info, public_key=False)


@keys.command("import")
@click.argument("name")
@click.option("--path", "path", default=DEFAULT_PATH, show_default=True, help="SLIP-0010 path.")
@click.pass_obj
@_translate_errors
def import_key(obj: CliContext, name: str, path: str) -> None:
    """Import a key NAME from a BIP-39 mnemonic (prompt, or one line on stdin)."""
    store = _keystore(obj)
    _precheck(store, name, path)
    words = _read_mnemonic()
    password = _password(confirm=True)
    info = store.import_mnemonic(name, password, words, path)
    _print_info(info, public_key=False)


@keys.command("list")
@click.pass_obj
@_translate_errors
def list_keys(obj: CliContext) -> None:
    """List stored keys: name, address, path."""
    infos = _keystore(obj).list()
    if not infos:
        click.echo(f"no keys in {obj.home / 'keyring'}", err=True)
        return
    rows = [("NAME", "ADDRESS", "PATH")] + [(i.name, i.address_text, i.path) for i in infos]
    name_width = max(len(r[0]) for r in rows)
    addr_width = max(len(r[1]) for r in rows)
    for name, address, path in rows:
        click.echo(f"{name:<{name_width}}  {address:<{addr_width}}  {path}")


@keys.command("show")
@click.argument("name")
@click.option("--address", "address_only", is_flag=True, help="Print only the address.")
@click.pass_obj
@_translate_errors
def show_key(obj: CliContext, name: str, address_only: bool) -> None:
    """Show the address, public key (hex) and path of key NAME."""
    info = _keystore(obj).get(name)
    if address_only:
        click.echo(info.address_text)
        return
    _print_info(info, public_key=True)


@keys.command("export-public")
@click.argument("name")
@click.pass_obj
@_translate_errors
def export_public(obj: CliContext, name: str) -> None:
    """Print the public part of key NAME as JSON."""
    info = _keystore(obj).get(name)
    document = {
        "name": info.name,
        "address": info.address_text,
        "public_key": info.public_key.hex(),
        "path": info.path,
    }
    click.echo(json.dumps(document, indent=2))
