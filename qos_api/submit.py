"""The one path every submit mutation takes: base64 -> optional message-kind check -> the
node port -> TransactionAccepted | TransactionRejected; and the batch submissions
(``submitTransactions`` and ``POST /txs``), which cross to the node once per batch."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qos_api.context import Info
from qos_api.errors import ApiError
from qos_api.ports import MAX_BATCH_BYTES, MAX_BATCH_TXS, NodePort, SubmitAccepted, SubmitResult
from qos_api.types import SubmitTransactionResult, TransactionAccepted, TransactionRejected

Check = Callable[[bytes], tuple[str, str] | None]
"""Returns (code, message) when the tx carries the wrong kind of messages, else None."""

TXS_PATH = "/txs"


class BatchTooLarge(ApiError):
    """A batch submission over ``MAX_BATCH_TXS`` txs or ``MAX_BATCH_BYTES`` bytes."""

    code = "batch_too_large"


def _decode(signed_tx: str) -> bytes | None:
    try:
        return base64.b64decode(signed_tx, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_batch(raws: Sequence[bytes | None], count: int) -> None:
    """Raise :class:`BatchTooLarge` for a batch beyond the documented bounds."""
    if count > MAX_BATCH_TXS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_TXS} txs, got {count}")
    size = sum(len(r) for r in raws if r is not None)
    if size > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_BYTES} bytes of txs, got {size}")


async def submit_signed(
    info: Info, signed_tx: str, check: Check | None = None
) -> SubmitTransactionResult:
    raw = _decode(signed_tx)
    if raw is None:
        return TransactionRejected(
            code="invalid_encoding", message="signedTx is not valid standard base64"
        )
    if check is not None:
        problem = check(raw)
        if problem is not None:
            return TransactionRejected(code=problem[0], message=problem[1])
    result = await info.context.port.submit_tx(raw)
    if isinstance(result, SubmitAccepted):
        return TransactionAccepted(hash=result.tx_hash.hex())
    return TransactionRejected(code=result.code, message=result.message)


async def submit_signed_many(info: Info, signed_txs: list[str]) -> list[SubmitTransactionResult]:
    """``submitTransactions``: one result per entry, in order; an entry that is not base64
    is rejected (``invalid_encoding``) and the others are still submitted."""
    raws = [_decode(s) for s in signed_txs]
    check_batch(raws, len(raws))
    valid = [r for r in raws if r is not None]
    results = iter(await info.context.port.submit_txs(valid))
    out: list[SubmitTransactionResult] = []
    for raw in raws:
        if raw is None:
            out.append(
                TransactionRejected(
                    code="invalid_encoding", message="signedTx is not valid standard base64"
                )
            )
            continue
        result = next(results)
        if isinstance(result, SubmitAccepted):
            out.append(TransactionAccepted(hash=result.tx_hash.hex()))
        else:
            out.append(TransactionRejected(code=result.code, message=result.message))
    return out


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _result_json(result: SubmitResult) -> dict[str, Any]:
    if isinstance(result, SubmitAccepted):
        return {"accepted": True, "hash": result.tx_hash.hex()}
    return {"accepted": False, "code": result.code, "message": result.message}


def txs_endpoint(port: NodePort) -> Callable[[Request], Any]:
    """``POST /txs`` with ``{"txs": [base64, ...]}``: the whole batch reaches the node in
    one call; ``200 {"results": [...]}`` with one result per tx, in order. A malformed
    request (not JSON, wrong shape, an entry that is not base64) is a 400 and nothing is
    submitted; an oversize batch a 413 (``batch_too_large``)."""

    async def submit_txs(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
            return _error(400, "invalid_request", 'the body must be JSON {"txs": [base64, ...]}')
        txs = body.get("txs") if isinstance(body, dict) else None
        if not isinstance(txs, list) or not all(isinstance(t, str) for t in txs):
            return _error(400, "invalid_request", '"txs" must be a list of base64 strings')
        if len(txs) > MAX_BATCH_TXS:  # before decoding anything
            return _error(413, "batch_too_large", f"a batch holds at most {MAX_BATCH_TXS} txs")
        raws: list[bytes] = []
        for i, text in enumerate(txs):
            raw = _decode(text)
            if raw is None:
                return _error(400, "invalid_encoding", f"txs[{i}] is not valid standard base64")
            raws.append(raw)
        try:
            check_batch(raws, len(raws))
        except BatchTooLarge as exc:
            return _error(413, exc.code, exc.message)
        results = await port.submit_txs(raws)
        return JSONResponse({"results": [_result_json(r) for r in results]})

    return submit_txs


def submit_routes(port: NodePort) -> list[Route]:
    return [Route(TXS_PATH, txs_endpoint(port), methods=["POST"])]
