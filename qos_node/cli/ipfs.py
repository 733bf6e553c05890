"""``qos ipfs``: add, read, pin, move (CAR) and collect IPFS content.

By default every command works on the node's embedded store: blocks in the pack store
``<home>/data/ipfs/packs/`` (an older flatfs ``blocks/`` is moved into it on open), pins in
``<home>/data/ipfs.db``. With
``--ipfs-api http://127.0.0.1:5001`` (or ``QOS_IPFS_API``) they work on a Kubo (or js-ipfs)
daemon instead; files are still chunked by our importer, so the CIDs are the same either way,
and every block read back from the daemon is verified. Errors print one line
``Error: <message> [<code>]`` and exit 1.

Encrypted files (``qos_ipfs.encryption``): ``add --encrypt-to DID`` (repeatable) or
``--recipient-key z6LS...`` encrypts the file to each recipient's X25519 ``keyAgreement``
key before it is imported, so the store only ever holds ciphertext (the CID printed is the
ciphertext's); DIDs are resolved through the node's REST resolver (``GET
/1.0/identifiers/DID`` on ``--api``), ``did:key`` locally. ``get``/``cat --decrypt-with
NAME`` decrypts with the X25519 key of the ``qos keys`` key NAME (derived from its ed25519
seed, as did:key derives its keyAgreement key).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from qos_chain.errors import QosError
from qos_node.cli import CliContext, cli
from qos_node.cli.errors import CliError

if TYPE_CHECKING:  # qos_ipfs is imported lazily, so `qos --help` stays fast
    from qos_ipfs.backend import IpfsBackend
    from qos_ipfs.cid import CID
    from qos_ipfs.encryption import Recipient
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
    def __init__(self, home: Path, api: str | None, cli: CliContext | None = None) -> None:
        self.home = home
        self.api = api or None
        self.cli = cli or CliContext(home=home, api="")
        """The ``qos`` options (``--api``: the node API that resolves DIDs; the keyring)."""

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


_DECRYPT_WITH = click.option(
    "--decrypt-with",
    "decrypt_with",
    default=None,
    metavar="NAME",
    help="Decrypt an encrypted file with the X25519 key of the `qos keys` key NAME.",
)


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
    ctx.obj = IpfsContext(parent.home, ipfs_api, parent)


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
@click.option(
    "--encrypt-to",
    "encrypt_to",
    multiple=True,
    metavar="DID",
    help="Encrypt to this DID's keyAgreement key (repeatable; DID#fragment picks a key).",
)
@click.option(
    "--recipient-key",
    "recipient_keys",
    multiple=True,
    metavar="MULTIKEY",
    help="Encrypt to this X25519 (z6LS...) or ed25519 (z6Mk...) key; no resolution.",
)
@pass_ipfs
@_translate_errors
def add_cmd(
    obj: IpfsContext,
    files: tuple[Path, ...],
    cid_version: int | None,
    profile_name: str | None,
    only_hash: bool,
    pin: bool,
    encrypt_to: tuple[str, ...],
    recipient_keys: tuple[str, ...],
) -> None:
    """Add FILES; print one CID per file, in order."""
    from qos_ipfs.backend import only_hash as hash_only

    profile = _profile(cid_version, profile_name)
    show_bar = sys.stderr.isatty()
    if encrypt_to or recipient_keys:
        if only_hash:
            raise CliError(
                "--only-hash cannot be combined with encryption (every encryption differs)",
                "usage_error",
            )
        recipients = _recipients(obj, encrypt_to, recipient_keys)
        _add_encrypted(obj, files, profile, pin, recipients, show_bar)
        return
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
@_DECRYPT_WITH
@pass_ipfs
@_translate_errors
def cat_cmd(
    obj: IpfsContext, cid: str, offset: int, length: int | None, decrypt_with: str | None
) -> None:
    """Write the file CID (or a byte range of it) to stdout."""
    root = _parse_cid(cid)
    out = sys.stdout.buffer
    if decrypt_with is not None:
        if offset or length is not None:
            raise CliError("--offset/--length cannot be used with --decrypt-with", "usage_error")
        key = _decryption_key(obj, decrypt_with)
        with obj.backend() as backend:
            for piece in _decrypt(backend.cat(root), key):
                out.write(piece)
        out.flush()
        return
    with obj.backend() as backend:
        for piece in backend.cat(root, offset, length):
            out.write(piece)
    out.flush()


@ipfs.command("get")
@click.argument("cid")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@_DECRYPT_WITH
@pass_ipfs
@_translate_errors
def get_cmd(obj: IpfsContext, cid: str, output: Path, decrypt_with: str | None) -> None:
    """Save the file CID to OUTPUT (written to a temp file, then renamed). With
    --decrypt-with, OUTPUT appears only once the whole file decrypted and authenticated."""
    root = _parse_cid(cid)
    key = _decryption_key(obj, decrypt_with) if decrypt_with is not None else None
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with obj.backend() as backend, tmp.open("wb") as out:
            pieces = backend.cat(root)
            for piece in pieces if key is None else _decrypt(pieces, key):
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


# ---------------------------------------------------------------------------- encryption


def _add_encrypted(
    obj: IpfsContext,
    files: tuple[Path, ...],
    profile: Profile,
    pin: bool,
    recipients: list[Recipient],
    show_bar: bool,
) -> None:
    from qos_ipfs.encryption import encrypting_reader

    with obj.backend() as backend:
        for path in files:
            with path.open("rb") as plain, _progress(path, show_bar) as progress:
                stream = encrypting_reader(plain, recipients, progress=progress)
                result = backend.add(stream, profile, pin=pin)
            click.echo(result.root.encode())


def _recipients(obj: IpfsContext, dids: tuple[str, ...], keys: tuple[str, ...]) -> list[Recipient]:
    """One recipient per --encrypt-to DID (its keyAgreement X25519 key) and per
    --recipient-key multikey."""
    from qos_identity.credentials.crypto_box import key_agreement_key
    from qos_identity.multikey import KeyType, decode_multikey, ed25519_to_x25519, encode_multikey
    from qos_ipfs.encryption import Recipient

    out: list[Recipient] = []
    try:
        for text in keys:
            key = decode_multikey(text.strip())
            x = key.public_key
            if key.key_type is KeyType.ED25519:
                x = ed25519_to_x25519(x)
            xmk = encode_multikey(KeyType.X25519, x)
            out.append(Recipient(f"did:key:{text.strip()}#{xmk}", x))
        for did_url in dids:
            did, _, fragment = did_url.strip().partition("#")
            doc = _resolve_document(obj, did)
            kid = f"{did}#{fragment}" if fragment else None
            ref, public_key = key_agreement_key(doc, kid)
            out.append(Recipient(ref, public_key))
    except QosError as exc:
        raise CliError.of(exc) from exc
    if len({r.public_key for r in out}) != len(out):
        raise CliError("two recipients have the same key", "usage_error")
    return out


def _resolve_document(obj: IpfsContext, did: str) -> Any:
    """The current DID document: did:key locally, anything else through the node's REST
    resolver (``GET /1.0/identifiers/DID``); a deactivated DID is refused."""
    import httpx

    from qos_identity.didkey import did_key_document
    from qos_identity.document import DID_KEY_PREFIX, document_from_json
    from qos_node.cli.did import RESOLUTION, _api_base

    if did.startswith(DID_KEY_PREFIX):
        return did_key_document(did)
    url = f"{_api_base(obj.cli.api)}/1.0/identifiers/{did}"
    try:
        resp = httpx.get(url, headers={"accept": RESOLUTION}, timeout=10.0)
    except httpx.HTTPError as exc:
        raise CliError(
            f"cannot resolve {did}: node API unreachable at {url} ({exc}); "
            "use --recipient-key to encrypt offline",
            "api_unreachable",
        ) from exc
    try:
        body = resp.json()
    except ValueError as exc:
        raise CliError(
            f"resolver answered HTTP {resp.status_code} without JSON", "api_error"
        ) from exc
    meta = body.get("didResolutionMetadata", {}) if isinstance(body, dict) else {}
    if resp.status_code == 410 or body.get("didDocumentMetadata", {}).get("deactivated"):
        raise CliError(f"{did} is deactivated: cannot encrypt to it", "deactivated")
    if resp.status_code != 200 or not isinstance(body.get("didDocument"), dict):
        code = meta.get("error") or f"http_{resp.status_code}"
        raise CliError(f"cannot resolve {did}: {meta.get('errorMessage') or code}", code)
    return document_from_json(body["didDocument"])


def _decryption_key(obj: IpfsContext, name: str) -> bytes:
    """The X25519 private key of the ``qos keys`` key ``name`` (from its ed25519 seed)."""
    from qos_identity.credentials.crypto_box import x25519_private_from_ed25519_seed
    from qos_node.cli.chain import _keystore, _password

    try:
        pair = _keystore(obj.cli).unlock(name, _password(name))
    except QosError as exc:
        raise CliError.of(exc) from exc
    return x25519_private_from_ed25519_seed(pair.private_seed)


def _decrypt(pieces: Iterator[bytes], key: bytes) -> Iterator[bytes]:
    from qos_ipfs.encryption import decrypt_chunks

    return decrypt_chunks(pieces, key)
