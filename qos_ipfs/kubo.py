"""A small client for the IPFS daemon HTTP RPC API (Kubo's ``/api/v0``; js-ipfs speaks it too).

Why not ``ipfshttpclient`` or ``aioipfs`` (measured, ARCHITECTURE.md section 5):
``ipfshttpclient`` 0.7 refuses every Kubo >= 0.8 in ``connect()`` and its ``cid_version=1``
sends ``raw-leaves=false`` (CIDs differ from ``ipfs add --cid-version=1``); ``aioipfs``
0.7.1 ``add`` breaks with aiohttp >= 3.12. The API is a dozen POST endpoints, so this module
speaks it directly on ``httpx`` (already a dependency): every call is ``POST
/api/v0/<command>?arg=...``, streaming responses are NDJSON parsed line by line, uploads are
``multipart/form-data`` streamed from an iterator (chunked transfer; no file in memory).

Boundary rules:

* Transport failures become :class:`KuboUnreachable` (connect) or :class:`KuboError`; a
  non-200 answer becomes :class:`KuboError` carrying the daemon's own ``Message``. Block
  calls turn "not found" into :class:`BlockNotFound`, pin calls "not pinned" into
  :class:`PinError`: once, here, so no httpx type escapes this module.
* **Every block that comes from the daemon is verified** against its CID before it is
  returned: ``block_get`` re-hashes (:class:`CorruptBlock` otherwise), ``block_put`` checks
  the returned key names the same multihash, ``dag_export`` re-reads the CAR it streams and
  verifies each section (and re-emits exactly the bytes it verified).
* Local reads (``block/get``, ``block/stat``) are sent with ``offline=true`` (Kubo answers
  "not found locally" at once) and ``timeout=<local_timeout>``: js-ipfs ignores ``offline``
  and would wait for the block forever, so for it a miss is reported when the timeout fires
  ("request timed out"), which we also read as not found. See docs/ipfs.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from qos_ipfs.car import encode_header, iter_car
from qos_ipfs.cid import CID, CODEC_NAMES, RAW
from qos_ipfs.errors import (
    BlockNotFound,
    CorruptBlock,
    KuboError,
    KuboUnreachable,
    MalformedCar,
    PinError,
)
from qos_ipfs.importer import Profile
from qos_ipfs.varint import encode_varint

DEFAULT_API = "http://127.0.0.1:5001"
UPLOAD_PIECE = 256 * 1024
_NOT_FOUND_MARKERS = (
    "not found",
    "could not find",
    "request timed out",  # js-ipfs: a local miss with ``timeout`` (it ignores ``offline``)
    "context deadline exceeded",  # Kubo: ``timeout`` fired
)


def api_base_url(api: str) -> str:
    """``http://host:port`` (optionally ending in ``/api/v0``) or a multiaddr
    ``/ip4/<host>/tcp/<port>`` -> ``http://host:port/api/v0/``."""
    api = api.strip()
    if api.startswith("/"):
        parts = api.strip("/").split("/")
        if len(parts) < 4 or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6"):
            raise KuboError(f"unsupported API multiaddr {api!r}")
        if parts[2] != "tcp":
            raise KuboError(f"API multiaddr {api!r} is not TCP")
        host = f"[{parts[1]}]" if parts[0] == "ip6" else parts[1]
        api = f"http://{host}:{parts[3]}"
    if not api.startswith(("http://", "https://")):
        raise KuboError(f"IPFS API address must be http(s)://host:port, got {api!r}")
    api = api.rstrip("/")
    if not api.endswith("/api/v0"):
        api += "/api/v0"
    return api + "/"


def _text(cid: CID) -> str:
    return cid.encode()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _is_not_found(message: str) -> bool:
    low = message.lower()
    return any(marker in low for marker in _NOT_FOUND_MARKERS)


def _parse_cid(value: object) -> CID:
    """A CID as the daemons print it: text, or ``{"/": text}``."""
    if isinstance(value, dict):
        value = value.get("/")
    if not isinstance(value, str):
        raise KuboError(f"daemon answered with a malformed CID {value!r}")
    return CID.parse(value)


def _decode_json(command: str, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise KuboError(f"{command}: daemon answered with invalid JSON") from exc
    if not isinstance(value, dict):
        raise KuboError(f"{command}: daemon answered with {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class AddResult:
    cid: CID
    name: str
    size: int
    """The ``Size`` the daemon reports (for a file: the DAG's cumulative size)."""


@dataclass(frozen=True, slots=True)
class PinInfo:
    cid: CID
    type: str
    """``recursive``, ``direct`` or ``indirect``."""


def add_params(profile: Profile, *, pin: bool = True, only_hash: bool = False) -> dict[str, str]:
    """The ``/api/v0/add`` parameters that give ``profile``'s CIDs.

    ``cid-version=1`` always goes with an explicit ``raw-leaves`` (Kubo's CLI implies raw
    leaves for v1; a client that sends ``raw-leaves=false`` gets other CIDs). There is no
    ``add`` parameter for the links-per-node limit, so only 174-link profiles map."""
    if profile.max_links != 174:
        raise KuboError(
            f"profile {profile.name!r} ({profile.max_links} links per node) has no "
            "/api/v0/add equivalent; import it locally and store blocks with block/put"
        )
    return {
        "cid-version": str(profile.cid_version),
        "raw-leaves": _bool(profile.raw_leaves),
        "chunker": f"size-{profile.chunk_size}",
        "hash": "sha2-256",
        "trickle": "false",
        "pin": _bool(pin),
        "only-hash": _bool(only_hash),
        "progress": "false",
        "wrap-with-directory": "false",
    }


class _ChunkReader(io.RawIOBase):
    """A read-only binary file over an iterator of byte pieces (for the CAR reader)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._pieces)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _multipart(boundary: str, name: str, filename: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
    yield (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="{quote(filename)}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for piece in pieces:
        if piece:
            yield bytes(piece)
    yield f"\r\n--{boundary}--\r\n".encode()


def _file_pieces(stream: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: stream.read(UPLOAD_PIECE), b"")


class KuboClient:
    """Synchronous client of one daemon. ``transport`` lets tests substitute a fake."""

    def __init__(
        self,
        api: str = DEFAULT_API,
        *,
        timeout: float = 300.0,
        local_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api = api
        self.local_timeout = local_timeout
        self._http = httpx.Client(
            base_url=api_base_url(api),
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KuboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _local(self, params: dict[str, str]) -> dict[str, str]:
        ms = max(1, int(self.local_timeout * 1000))
        return {**params, "offline": "true", "timeout": f"{ms}ms"}

    @contextmanager
    def _translate(self, command: str) -> Iterator[None]:
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise KuboUnreachable(f"no IPFS daemon answers at {self.api}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise KuboError(f"{command}: timed out waiting for the daemon") from exc
        except httpx.HTTPError as exc:
            raise KuboError(f"{command}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _error_of(command: str, status: int, body: bytes) -> KuboError:
        message = body.decode("utf-8", "replace").strip()
        try:
            parsed = json.loads(message)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("Message"), str):
            message = parsed["Message"]
        return KuboError(f"{command}: {message or f'HTTP {status}'}")

    @contextmanager
    def _stream(
        self,
        command: str,
        params: dict[str, str] | None = None,
        *,
        content: bytes | Iterable[bytes] | None = None,
        boundary: str | None = None,
    ) -> Iterator[httpx.Response]:
        headers = {}
        if boundary is not None:
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        with (
            self._translate(command),
            self._http.stream(
                "POST", command, params=params, content=content, headers=headers
            ) as resp,
        ):
            if resp.status_code != 200:
                raise self._error_of(command, resp.status_code, resp.read())
            yield resp

    def _call(
        self,
        command: str,
        params: dict[str, str] | None = None,
        *,
        content: bytes | Iterable[bytes] | None = None,
        boundary: str | None = None,
    ) -> bytes:
        with (
            self._stream(command, params, content=content, boundary=boundary) as resp,
            self._translate(command),
        ):
            return resp.read()

    def _json(self, command: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return _decode_json(command, self._call(command, params))

    def _ndjson(
        self,
        command: str,
        params: dict[str, str] | None = None,
        *,
        content: bytes | Iterable[bytes] | None = None,
        boundary: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Parse a streamed NDJSON answer one line at a time."""
        with self._stream(command, params, content=content, boundary=boundary) as resp:
            lines = resp.iter_lines()
            while True:
                with self._translate(command):
                    line = next(lines, None)
                if line is None:
                    return
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    raise KuboError(f"{command}: invalid NDJSON line {line[:80]!r}") from exc
                if not isinstance(value, dict):
                    raise KuboError(f"{command}: unexpected NDJSON value {line[:80]!r}")
                if value.get("Type") == "error" and "Message" in value:
                    raise KuboError(f"{command}: {value['Message']}")
                yield value

    def _upload(
        self, command: str, params: dict[str, str], filename: str, pieces: Iterable[bytes]
    ) -> Iterator[dict[str, Any]]:
        boundary = "qos" + secrets.token_hex(16)
        body = _multipart(boundary, "file", filename, pieces)
        return self._ndjson(command, params, content=body, boundary=boundary)

    # ------------------------------------------------------------------ node

    def version(self) -> dict[str, Any]:
        return self._json("version")

    def id(self) -> dict[str, Any]:
        return self._json("id")

    def is_js_ipfs(self) -> bool:
        return "ipfs-core" in self.version()

    # ------------------------------------------------------------------ blocks

    def block_put(self, data: bytes, codec: str = "raw") -> CID:
        """Store one block; returns the daemon's key after checking it names the bytes.

        Sends ``cid-codec`` (Kubo >= 0.13) and, for raw blocks, the legacy ``format=raw``
        too, which js-ipfs needs (it ignores ``cid-codec``). Both stores key blocks by
        multihash, so the codec of the answer does not matter; its multihash must match."""
        params = {"cid-codec": codec, "mhtype": "sha2-256", "mhlen": "32", "pin": "false"}
        if codec == "raw":
            params["format"] = "raw"
        boundary = "qos" + secrets.token_hex(16)
        body = b"".join(_multipart(boundary, "data", "block", [data]))
        answer = _decode_json(
            "block/put", self._call("block/put", params, content=body, boundary=boundary)
        )
        cid = _parse_cid(answer.get("Key"))
        expected = hashlib.sha256(data).digest()
        if cid.multihash_digest != expected:
            raise CorruptBlock(f"daemon stored the block under {cid}, which is not its hash")
        return cid

    def block_get(self, cid: CID) -> bytes:
        """The block's bytes, verified against ``cid`` (:class:`CorruptBlock` otherwise)."""
        try:
            data = self._call("block/get", self._local({"arg": _text(cid)}))
        except KuboError as exc:
            if _is_not_found(exc.message):
                raise BlockNotFound(f"block {cid} not found on the daemon") from exc
            raise
        if hashlib.sha256(data).digest() != cid.multihash_digest:
            raise CorruptBlock(f"daemon returned bytes for {cid} that do not hash to it")
        return data

    def block_stat(self, cid: CID) -> int:
        """The block's size; :class:`BlockNotFound` if the daemon does not hold it."""
        try:
            answer = self._json("block/stat", self._local({"arg": _text(cid)}))
        except KuboError as exc:
            if _is_not_found(exc.message):
                raise BlockNotFound(f"block {cid} not found on the daemon") from exc
            raise
        size = answer.get("Size")
        if not isinstance(size, int):
            raise KuboError(f"block/stat: no size in {answer!r}")
        return size

    def block_rm(self, cid: CID) -> None:
        for line in self._ndjson("block/rm", {"arg": _text(cid)}):
            error = line.get("Error")
            if error:
                low = str(error).lower()
                if "pinned" in low:
                    raise PinError(f"{cid} is pinned on the daemon: {error}")
                if _is_not_found(low):
                    raise BlockNotFound(f"block {cid} not found on the daemon")
                raise KuboError(f"block/rm: {error}")

    def refs_local(self) -> Iterator[CID]:
        """Every block the daemon holds (both daemons answer CIDv1 ``raw``)."""
        for line in self._ndjson("refs/local"):
            if line.get("Err"):
                raise KuboError(f"refs/local: {line['Err']}")
            yield _parse_cid(line.get("Ref"))

    # ------------------------------------------------------------------ pins

    def pin_add(self, cid: CID, *, recursive: bool = True) -> None:
        params = {"arg": _text(cid), "recursive": _bool(recursive), "offline": "true"}
        try:
            self._call("pin/add", params)
        except KuboError as exc:
            if "already pinned recursively" in exc.message.lower():
                raise PinError(f"{cid} is already pinned recursively") from exc
            raise

    def pin_rm(self, cid: CID) -> None:
        try:
            self._call("pin/rm", {"arg": _text(cid), "recursive": "true"})
        except KuboError as exc:
            if "not pinned" in exc.message.lower():
                raise PinError(f"{cid} is not pinned") from exc
            raise

    def pin_ls(self, pin_type: str = "all") -> Iterator[PinInfo]:
        for line in self._ndjson("pin/ls", {"type": pin_type, "stream": "true"}):
            yield PinInfo(_parse_cid(line.get("Cid")), str(line.get("Type", "")))

    def repo_gc(self) -> list[CID]:
        """Run the daemon's GC; the CIDs it removed."""
        removed = []
        for line in self._ndjson("repo/gc"):
            error = line.get("Error") or line.get("Err")
            if error:
                raise KuboError(f"repo/gc: {error}")
            if line.get("Key"):
                removed.append(_parse_cid(line["Key"]))
        return removed

    # ------------------------------------------------------------------ files, DAGs

    def add(
        self,
        pieces: Iterable[bytes] | BinaryIO,
        params: dict[str, str],
        *,
        filename: str = "file",
    ) -> AddResult:
        """``/api/v0/add`` of one file, streamed; ``params`` usually from :func:`add_params`.
        The CID is the daemon's: nothing is verified locally (use our importer for that)."""
        source = pieces if isinstance(pieces, Iterable) else _file_pieces(pieces)
        last: dict[str, Any] | None = None
        for line in self._upload("add", params, filename, source):
            if "Hash" in line:
                last = line
        if last is None:
            raise KuboError("add: the daemon answered with no CID")
        return AddResult(_parse_cid(last["Hash"]), str(last.get("Name", "")), int(last["Size"]))

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The daemon's reading of a file (not block-verified: prefer the exporter over
        :class:`~qos_ipfs.backend.KuboBlockstore`, which verifies every block)."""
        params = {"arg": _text(cid), "offset": str(offset)}
        if length is not None:
            params["length"] = str(length)
        with self._stream("cat", params) as resp:
            pieces = resp.iter_bytes()
            while True:
                with self._translate("cat"):
                    piece = next(pieces, None)
                if piece is None:
                    return
                yield piece

    def dag_import(self, pieces: Iterable[bytes], *, pin_roots: bool = True) -> list[CID]:
        """Upload a CARv1 stream; the header roots the daemon reports (pinned if asked)."""
        roots = []
        for line in self._upload("dag/import", {"pin-roots": _bool(pin_roots)}, "car", pieces):
            root = line.get("Root")
            if isinstance(root, dict):
                if root.get("PinErrorMsg"):
                    raise KuboError(f"dag/import: pinning failed: {root['PinErrorMsg']}")
                roots.append(_parse_cid(root.get("Cid")))
        return roots

    def dag_export(self, root: CID) -> Iterator[bytes]:
        """Stream ``dag/export`` as CARv1 bytes, each section verified before it is yielded
        (what is yielded is re-encoded from the verified header roots and sections)."""
        with self._stream("dag/export", {"arg": _text(root)}) as resp:
            raw = resp.iter_bytes()

            def pieces() -> Iterator[bytes]:
                while True:
                    with self._translate("dag/export"):
                        piece = next(raw, None)
                    if piece is None:
                        return
                    yield piece

            reader = io.BufferedReader(_ChunkReader(pieces()), 64 * 1024)
            try:
                roots, sections = iter_car(reader)
                header = encode_header(roots)
                yield encode_varint(len(header)) + header
                for cid, block in sections:
                    raw_cid = cid.to_bytes()
                    yield encode_varint(len(raw_cid) + len(block)) + raw_cid + block
            except MalformedCar as exc:
                raise CorruptBlock(f"dag/export of {root}: {exc.message}") from exc


def codec_name(cid: CID) -> str:
    return CODEC_NAMES[cid.codec]


def raw_v1(cid: CID) -> CID:
    return CID(1, RAW, cid.multihash)


__all__ = [
    "DEFAULT_API",
    "AddResult",
    "KuboClient",
    "PinInfo",
    "add_params",
    "api_base_url",
    "codec_name",
    "raw_v1",
]
