"""``qos ipfs``: add, read, pin, move (CAR) and collect IPFS content.

By default every command works on the node's embedded store: blocks under
``<home>/data/ipfs/blocks/`` (flatfs layout), pins in ``<home>/data/ipfs.db``. With
``--ipfs-api http://127.0.0.1:5001`` (or ``QOS_IPFS_API``) they work on a Kubo (or js-ipfs)
daemon instead; files are still chunked by our importer, so the CIDs are the same either way,
and every block read back from the daemon is verified. Errors print one line
``Error: <message> [<code>]`` and exit 1.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from qos_chain.errors import QosError
from qos_node.cli import CliContext, cli
from qos_node.cli.errors import CliError

if TYPE_CHECKING:  # qos_ipfs is imported lazily, so `qos --help` stays fast
    from qos_ipfs.backend import IpfsBackend
    from qos_ipfs.cid import CID
    from qos_ipfs.importer import Profile

P = ParamSpec("P")
R = TypeVar("R")

PROGRESS_MIN_BYTES = 8 * 1024 * 1024
"""Files at least this large get a progress bar (on stderr, only when it is a terminal)."""


def _translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except QosError as exc:
            raise CliError.of(exc) from exc
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise CliError(f"{exc.strerror or exc}{where}", "io_error") from exc

    return wrapper


class IpfsContext:
    def __init__(self, home: Path, api: str | None) -> None:
        self.home = home
        self.api = api or None

    @contextmanager
    def backend(self) -> Iterator[IpfsBackend]:
        from qos_ipfs.backend import EmbeddedBackend, KuboBackend
        from qos_ipfs.kubo import KuboClient

        backend: IpfsBackend
        if self.api:
            backend = KuboBackend(KuboClient(self.api))
        else:
            data = self.home / "data"
            backend = EmbeddedBackend.open(data / "ipfs", data / "ipfs.db")
        try:
            yield backend
        finally:
            backend.close()


def _parse_cid(text: str) -> CID:
    from qos_ipfs.cid import CID

    return CID.parse(text.strip())


def _profile(cid_version: int | None, name: str | None) -> Profile:
    from qos_ipfs.importer import KUBO_V0, KUBO_V1, get_profile

    if name is not None:
        profile = get_profile(name)
        if cid_version is not None and cid_version != profile.cid_version:
            raise CliError(
                f"--cid-version {cid_version} contradicts --profile {name} "
                f"(CIDv{profile.cid_version})",
                "usage_error",
            )
        return profile
    return KUBO_V1 if cid_version == 1 else KUBO_V0


@cli.group("ipfs")
@click.option(
    "--ipfs-api",
    envvar="QOS_IPFS_API",
    default=None,
    metavar="URL",
    help="Use an IPFS daemon's RPC API (e.g. http://127.0.0.1:5001) instead of the "
    "embedded store in <home>/data/ipfs/.",
)
@click.pass_context
def ipfs(ctx: click.Context, ipfs_api: str | None) -> None:
    """IPFS content: Kubo-identical CIDs, pins, CAR files, garbage collection."""
    parent: CliContext = ctx.obj
    ctx.obj = IpfsContext(parent.home, ipfs_api)


pass_ipfs = click.make_pass_decorator(IpfsContext)


@ipfs.command("add")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--cid-version", type=click.IntRange(0, 1), default=None, help="0 or 1.")
@click.option(
    "--profile",
    "profile_name",
    default=None,
    help="Importer profile: kubo-v0 (default), kubo-v1, unixfs-v1-2025.",
)
@click.option("--only-hash", "-n", is_flag=True, help="Print the CIDs; store nothing.")
@click.option("--pin/--no-pin", default=True, show_default=True, help="Pin each file.")
@pass_ipfs
@_translate_errors
def add_cmd(
    obj: IpfsContext,
    files: tuple[Path, ...],
    cid_version: int | None,
    profile_name: str | None,
    only_hash: bool,
    pin: bool,
) -> None:
    """Add FILES; print one CID per file, in order."""
    from qos_ipfs.backend import only_hash as hash_only

    profile = _profile(cid_version, profile_name)
    show_bar = sys.stderr.isatty()
    if only_hash:
        for path in files:
            with path.open("rb") as stream, _progress(path, show_bar) as progress:
                click.echo(hash_only(stream, profile, progress).root.encode())
        return
    with obj.backend() as backend:
        for path in files:
            with path.open("rb") as stream, _progress(path, show_bar) as progress:
                result = backend.add(stream, profile, pin=pin, progress=progress)
            click.echo(result.root.encode())


@contextmanager
def _progress(path: Path, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    size = path.stat().st_size
    if not enabled or size < PROGRESS_MIN_BYTES:
        yield None
        return
    with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
        yield bar.update


@ipfs.command("cat")
@click.argument("cid")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--length", type=click.IntRange(min=0), default=None)
@pass_ipfs
@_translate_errors
def cat_cmd(obj: IpfsContext, cid: str, offset: int, length: int | None) -> None:
    """Write the file CID (or a byte range of it) to stdout."""
    root = _parse_cid(cid)
    out = sys.stdout.buffer
    with obj.backend() as backend:
        for piece in backend.cat(root, offset, length):
            out.write(piece)
    out.flush()


@ipfs.command("get")
@click.argument("cid")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ipfs
@_translate_errors
def get_cmd(obj: IpfsContext, cid: str, output: Path) -> None:
    """Save the file CID to OUTPUT (written to a temp file, then renamed)."""
    root = _parse_cid(cid)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with obj.backend() as backend, tmp.open("wb") as out:
            for piece in backend.cat(root):
                out.write(piece)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


@ipfs.group("pin")
def pin_group() -> None:
    """Pins: what garbage collection keeps."""


@pin_group.command("add")
@click.argument("cids", nargs=-1, required=True)
@click.option("--direct", is_flag=True, help="Pin only the block, not its DAG.")
@pass_ipfs
@_translate_errors
def pin_add(obj: IpfsContext, cids: tuple[str, ...], direct: bool) -> None:
    """Pin CIDS (recursively unless --direct); the content must be present."""
    parsed = [_parse_cid(c) for c in cids]
    with obj.backend() as backend:
        for cid in parsed:
            backend.pin(cid, recursive=not direct)
            click.echo(f"pinned {cid.encode()} {'direct' if direct else 'recursive'}")


@pin_group.command("rm")
@click.argument("cids", nargs=-1, required=True)
@pass_ipfs
@_translate_errors
def pin_rm(obj: IpfsContext, cids: tuple[str, ...]) -> None:
    """Unpin CIDS."""
    parsed = [_parse_cid(c) for c in cids]
    with obj.backend() as backend:
        for cid in parsed:
            backend.unpin(cid)
            click.echo(f"unpinned {cid.encode()}")


@pin_group.command("ls")
@pass_ipfs
@_translate_errors
def pin_ls(obj: IpfsContext) -> None:
    """List pins: ``<cid> <recursive|direct>`` per line."""
    with obj.backend() as backend:
        for pin in backend.pins():
            click.echo(f"{pin.cid.encode()} {pin.mode}")


@ipfs.group("car")
def car_group() -> None:
    """CARv1 archives (as ``ipfs dag export`` / ``ipfs dag import``)."""


@car_group.command("export")
@click.argument("cid")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ipfs
@_translate_errors
def car_export(obj: IpfsContext, cid: str, output: Path) -> None:
    """Write the DAG under CID to OUTPUT as a CARv1 file."""
    root = _parse_cid(cid)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with obj.backend() as backend, tmp.open("wb") as out:
            for piece in backend.export_car(root):
                out.write(piece)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


@car_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pin-roots/--no-pin-roots", default=True, show_default=True)
@pass_ipfs
@_translate_errors
def car_import(obj: IpfsContext, file: Path, pin_roots: bool) -> None:
    """Store every (verified) block of a CARv1 FILE; print its roots."""
    with obj.backend() as backend, file.open("rb") as stream:
        result = backend.import_car(stream, pin_roots=pin_roots)
    for root in result.roots:
        click.echo(root.encode())
    click.echo(f"imported {result.blocks} blocks", err=True)


@ipfs.command("gc")
@pass_ipfs
@_translate_errors
def gc_cmd(obj: IpfsContext) -> None:
    """Remove every block no pin keeps; print each removed CID, then a summary."""
    with obj.backend() as backend:
        result = backend.gc()
    for cid in result.removed:
        click.echo(f"removed {cid.encode()}")
    click.echo(f"removed {len(result.removed)} blocks, kept {result.kept}", err=True)
