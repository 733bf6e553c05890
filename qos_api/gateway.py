"""REST: a trustless IPFS gateway, ``GET|HEAD /ipfs/{cid}`` (IPFS specs: path gateway,
trustless gateway).

* default: the UnixFS file's bytes, streamed block by block through the exporter; single
  ``Range: bytes=`` ranges -> 206 with ``Content-Range`` (416 when unsatisfiable);
  ``Content-Type`` sniffed from the first bytes (a few magic numbers, UTF-8 text, else
  ``application/octet-stream``).
* ``?format=raw`` or ``Accept: application/vnd.ipld.raw``: the single block.
* ``?format=car`` or ``Accept: application/vnd.ipld.car``: a CARv1 of the whole DAG,
  streamed (depth-first, each block once), ``application/vnd.ipld.car; version=1``.

Every answer carries ``ETag: "<cid>"`` (``"<cid>.raw"`` / ``"<cid>.car"``), ``Cache-Control:
public, max-age=29030400, immutable`` and ``X-Ipfs-Path``; ``If-None-Match`` -> 304. A bad CID
is 400, unknown content 404, content that is not a UnixFS file 422 (JSON error bodies).
Bytes are read off the event loop and never held whole in memory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from qos_api.ports import NodePort
from qos_fs.service import FileService
from qos_ipfs.cid import CID
from qos_ipfs.errors import BlockNotFound, InvalidCid, IpfsError

log = logging.getLogger("qos.api.gateway")

RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"
IMMUTABLE = "public, max-age=29030400, immutable"
SNIFF_BYTES = 512
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"reason": code, "details": message}}, status_code=status)


def sniff(head: bytes) -> str:
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    if head.lstrip().startswith((b"<!DOCTYPE html", b"<html")):
        return "text/html; charset=utf-8"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sniff boundary
            return "application/octet-stream"
    return "text/plain; charset=utf-8"


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """``(start, end_exclusive)`` of a satisfiable single range; ``None`` to serve the whole
    file (no header, multiple or malformed ranges); ``False`` when unsatisfiable."""
    if header is None:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        return False if n == 0 or size == 0 else (max(size - n, 0), size)
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _wants(request: Request) -> str:
    fmt = request.query_params.get("format", "")
    if fmt in ("raw", "car"):
        return fmt
    accept = request.headers.get("accept", "")
    if RAW in accept:
        return "raw"
    if CAR in accept:
        return "car"
    return "file" if not fmt else "bad"


def gateway_routes(port: NodePort) -> list[Route]:
    async def ipfs(request: Request) -> Response:
        svc: FileService | None = port.file_service()
        if svc is None:
            return _error(503, "SERVICE_UNAVAILABLE", "this node serves no files")
        text = request.path_params["cid"]
        try:
            cid = CID.parse(text)
        except InvalidCid as exc:
            return _error(400, "BAD_REQUEST", f"invalid CID: {exc.message}")
        wants = _wants(request)
        if wants == "bad":
            return _error(400, "BAD_REQUEST", "format must be raw or car")
        suffix = {"file": "", "raw": ".raw", "car": ".car"}[wants]
        headers = {
            "ETag": f'"{text}{suffix}"',
            "Cache-Control": IMMUTABLE,
            "X-Ipfs-Path": f"/ipfs/{text}",
            "Vary": "Accept",
        }
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        head = request.method == "HEAD"
        try:
            if wants == "raw":
                block = await run_in_threadpool(svc.block, cid)
                headers["Content-Disposition"] = f'attachment; filename="{text}.bin"'
                headers["Content-Length"] = str(len(block))
                return Response(b"" if head else block, media_type=RAW, headers=headers)
            if not await run_in_threadpool(svc.has, cid):
                return _error(404, "NOT_FOUND", f"{text} is not stored on this node")
            if wants == "car":
                headers["Content-Disposition"] = f'attachment; filename="{text}.car"'
                media = f"{CAR}; version=1"
                if head:
                    return Response(b"", media_type=media, headers=headers)
                return StreamingResponse(svc.car(cid), media_type=media, headers=headers)
            return await _file(request, svc, cid, headers, head)
        except BlockNotFound as exc:
            return _error(404, "NOT_FOUND", exc.message)
        except IpfsError as exc:
            return _error(422, "NOT_A_FILE", exc.message)

    return [Route("/ipfs/{cid}", ipfs, methods=["GET", "HEAD"])]


async def _file(
    request: Request, svc: FileService, cid: CID, headers: dict[str, str], head: bool
) -> Response:
    size = await run_in_threadpool(svc.size, cid)
    first = b"".join(await run_in_threadpool(lambda: list(svc.cat(cid, 0, SNIFF_BYTES))))
    media = sniff(first)
    headers["Accept-Ranges"] = "bytes"
    rng = parse_range(request.headers.get("range"), size)
    if rng is False:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    status = 200
    start, end = 0, size
    if isinstance(rng, tuple):
        start, end = rng
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if head:
        return Response(b"", status_code=status, media_type=media, headers=headers)
    body: Iterator[bytes] = svc.cat(cid, start, end - start)
    return StreamingResponse(body, status_code=status, media_type=media, headers=headers)
