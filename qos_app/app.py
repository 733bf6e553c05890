"""QosApp: the basic chain's application behind the ABCI (``qos_chain.abci.Application``).

A tx goes through, in order (each failure has a stable code, see ``errors.py``):
1. decode + ``validate_basic`` (stateless: chain id, limits, signatures) and every message
   decoded and validated by the module that owns its ``type_url``;
2. in ``check_tx``: nonce not below the sender's committed nonce (replay) and at most
   ``MAX_NONCE_AHEAD`` above it; the fee payer can pay the fee;
3. in ``finalize_block``: nonce equals the sender's next nonce, the fee is paid, the nonce
   is consumed, and then the messages run in a tx cache that is discarded on failure.

Step 1 is a pure function of the tx bytes (and the chain id and module set, fixed per
app), so its successful result is kept in a bounded cache keyed by the SHA-256 of the exact
bytes: a tx is decoded and its signatures verified once per node, at admission, and the
proposal check, rechecks and execution reuse that work. Failures are never cached, and
every state-dependent check (nonce, fee, timeout, the messages themselves) still runs each
time. This relies on ``Module.validate`` being stateless (a function of the message only).

Modules (bank now; identity, credentials and pins later) plug in through ``Module``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from qos_app.accounts import get_balance, get_nonce, nonce_entry
from qos_app.bank import FEE_COLLECTOR, BankModule, transfer
from qos_app.context import CacheKV, Ctx
from qos_app.errors import CODES, CODESPACE, AppError, TxFailed, TxInvalid, register_codes
from qos_app.store import MerkleStore
from qos_app.tx import Tx, decode_tx, validate_basic
from qos_chain import codec
from qos_chain.abci import (
    AppInfo,
    CheckTxKind,
    CheckTxResult,
    FinalizeBlock,
    FinalizeBlockResult,
    InitChain,
    InitChainResult,
    PrepareProposal,
    ProcessProposal,
    QueryResult,
)
from qos_chain.address import Address, address_from_text
from qos_chain.errors import DecodeError, InvalidAddress
from qos_chain.types import TxResult

MAX_NONCE_AHEAD = 256
VALID_TX_CACHE = 20_000  # decoded + verified txs kept (the mempool holds at most 5,000)
VALID_TX_CACHE_BYTES = 32 << 20  # ... and at most this many bytes of txs (~2x in memory)


class Module(Protocol):
    name: str
    msg_types: dict[str, type]
    codes: dict[str, int]  # the module's error code names -> numbers (its own range)

    def validate(self, msg: object) -> None:
        """Stateless checks of one message: must depend on ``msg`` alone (results of
        decode + validate are cached per tx bytes, see the module docstring)."""

    def handle(self, ctx: Ctx, msg: object) -> None: ...

    def init_genesis(self, kv: CacheKV, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Account:
    address: Address
    balance: int
    nonce: int


class QosApp:
    def __init__(
        self, db: Database, chain_id: str, modules: Sequence[Module] | None = None
    ) -> None:
        self.chain_id = chain_id
        self.store = MerkleStore(db)
        self.modules: list[Module] = list(modules) if modules is not None else [BankModule()]
        self._routes: dict[str, Module] = {}
        for m in self.modules:
            register_codes(m.codes)
            for url in m.msg_types:
                if url in self._routes:
                    raise ValueError(f"message type {url} registered twice")
                self._routes[url] = m
        self._pending_height = 0
        # sha256(tx bytes) -> (decoded, validated tx and messages; tx size), FIFO
        self._valid: dict[bytes, tuple[tuple[Tx, tuple[tuple[Module, object], ...]], int]] = {}
        self._valid_bytes = 0
        self.valid_cache_size = VALID_TX_CACHE
        self.valid_cache_bytes = VALID_TX_CACHE_BYTES

    # ------------------------------------------------------------------ helpers

    def _decode_and_validate(self, raw: bytes) -> tuple[Tx, tuple[tuple[Module, object], ...]]:
        """Decode + every stateless check, remembered by the hash of ``raw`` (the proposal
        check and execution). ``check_tx`` remembers a tx only once its state checks pass
        too, so txs it refuses never occupy the cache."""
        key = hashlib.sha256(raw).digest()
        hit = self._valid.get(key)
        if hit is not None:
            return hit[0]
        result = self._decode_and_validate_uncached(raw)
        self._remember(key, len(raw), result)
        return result

    def _remember(
        self, key: bytes, size: int, result: tuple[Tx, tuple[tuple[Module, object], ...]]
    ) -> None:
        """FIFO, bounded by entries and by the bytes of the txs it holds."""
        cache = self._valid
        if key in cache:
            return
        cache[key] = (result, size)
        self._valid_bytes += size
        while cache and (
            len(cache) > self.valid_cache_size or self._valid_bytes > self.valid_cache_bytes
        ):
            _, dropped = cache.pop(next(iter(cache)))
            self._valid_bytes -= dropped

    def forget_txs(self, txs: Sequence[bytes]) -> None:
        """Drop cached validation of txs that will not be checked again (committed)."""
        for raw in txs:
            entry = self._valid.pop(hashlib.sha256(raw).digest(), None)
            if entry is not None:
                self._valid_bytes -= entry[1]

    def _decode_and_validate_uncached(
        self, raw: bytes
    ) -> tuple[Tx, tuple[tuple[Module, object], ...]]:
        tx = decode_tx(raw)
        validate_basic(tx, self.chain_id)
        msgs: list[tuple[Module, object]] = []
        for i, m in enumerate(tx.body.msgs):
            module = self._routes.get(m.type_url)
            if module is None:
                raise TxInvalid(f"unknown message type {m.type_url!r}", code="unknown_message_type")
            try:
                msg: object = codec.decode(module.msg_types[m.type_url], m.value)
            except DecodeError as exc:
                raise TxInvalid(f"message {i}: {exc.message}", code="invalid_message") from exc
            module.validate(msg)
            msgs.append((module, msg))
        return tx, tuple(msgs)

    @staticmethod
    def _fail(err: AppError) -> CheckTxResult:
        return CheckTxResult(code=CODES.get(err.code, 1), log=err.message, codespace=CODESPACE)

    @staticmethod
    def _result(err: AppError, events: tuple[Any, ...] = ()) -> TxResult:
        return TxResult(CODES.get(err.code, 1), CODESPACE, err.message, 0, events)

    def account(self, address: Address) -> Account:
        return Account(
            address, get_balance(self.store.get, address), get_nonce(self.store.get, address)
        )

    # ------------------------------------------------------------------ ABCI

    def info(self) -> AppInfo:
        return AppInfo(self.store.height, self.store.app_hash)

    def init_chain(self, req: InitChain) -> InitChainResult:
        if req.chain_id != self.chain_id:
            raise ValueError(f"genesis chain id {req.chain_id!r} != app chain id {self.chain_id!r}")
        state = json.loads(req.app_state or b"{}")
        if not isinstance(state, dict):
            raise ValueError("app_state must be a JSON object")
        kv = CacheKV(self.store.get)
        for m in self.modules:
            m.init_genesis(kv, state.get(m.name, {}))
        unknown = set(state) - {m.name for m in self.modules}
        if unknown:
            raise ValueError(f"app_state has unknown modules: {sorted(unknown)}")
        app_hash = self.store.stage(kv.writes, 0)
        return InitChainResult(app_hash, ())

    def check_tx(self, tx: bytes, kind: CheckTxKind) -> CheckTxResult:
        try:
            key = hashlib.sha256(tx).digest()
            hit = self._valid.get(key)
            validated = hit[0] if hit is not None else self._decode_and_validate_uncached(tx)
            parsed = validated[0]
            b = parsed.body
            committed = get_nonce(self.store.get, b.sender)
            if b.nonce < committed:
                raise TxFailed(
                    f"nonce {b.nonce} already used (next is {committed})", code="nonce_too_low"
                )
            if b.nonce > committed + MAX_NONCE_AHEAD:
                raise TxFailed(
                    f"nonce {b.nonce} is more than {MAX_NONCE_AHEAD} ahead of {committed}",
                    code="nonce_too_high",
                )
            if b.timeout_height is not None and b.timeout_height <= self.store.height:
                raise TxFailed(f"tx timed out at height {b.timeout_height}", code="tx_timed_out")
            payer = b.fee.payer or b.sender
            if b.fee.amount and get_balance(self.store.get, payer) < b.fee.amount:
                raise TxFailed("fee payer cannot pay the fee", code="insufficient_fee_funds")
        except AppError as err:
            return self._fail(err)
        self._remember(key, len(tx), validated)
        return CheckTxResult(code=0, sender=b.sender, nonce=b.nonce, next_nonce=committed)

    def prepare_proposal(self, req: PrepareProposal) -> tuple[bytes, ...]:
        out: list[bytes] = []
        size = 0
        for tx in req.txs:
            if size + len(tx) > req.max_tx_bytes:
                break
            out.append(tx)
            size += len(tx)
        return tuple(out)

    def process_proposal(self, req: ProcessProposal) -> bool:
        for tx in req.txs:
            try:
                self._decode_and_validate(tx)
            except AppError:
                return False
        return True

    def finalize_block(self, req: FinalizeBlock) -> FinalizeBlockResult:
        h = req.header
        block_kv = CacheKV(self.store.get)
        results = [self._deliver(block_kv, raw, h.chain_id, h.height, h.time_ns) for raw in req.txs]
        app_hash = self.store.stage(block_kv.writes, h.height)
        self._pending_height = h.height
        self.forget_txs(req.txs)
        return FinalizeBlockResult(tuple(results), app_hash)

    def _deliver(
        self, block_kv: CacheKV, raw: bytes, chain_id: str, height: int, time_ns: int
    ) -> TxResult:
        try:
            tx, msgs = self._decode_and_validate(raw)
        except AppError as err:
            return self._result(err)
        b = tx.body
        expected = get_nonce(block_kv.get, b.sender)
        if b.nonce != expected:
            code = "nonce_too_low" if b.nonce < expected else "nonce_too_high"
            return self._result(TxFailed(f"nonce {b.nonce}, expected {expected}", code=code))
        if b.timeout_height is not None and height > b.timeout_height:
            return self._result(TxFailed("tx timed out", code="tx_timed_out"))
        fee_kv = CacheKV(block_kv.get)
        try:
            if b.fee.amount:
                transfer(
                    fee_kv,
                    b.fee.payer or b.sender,
                    FEE_COLLECTOR,
                    b.fee.amount,
                    code="insufficient_fee_funds",
                )
        except AppError as err:
            return self._result(err)
        fee_kv.set(*nonce_entry(b.sender, b.nonce + 1))
        fee_kv.write_into(block_kv)  # nonce and fee are consumed even if the msgs fail
        ctx = Ctx(CacheKV(block_kv.get), chain_id, height, time_ns, b.sender)
        try:
            for module, msg in msgs:
                module.handle(ctx, msg)
        except AppError as err:
            return self._result(err)
        ctx.kv.write_into(block_kv)
        return TxResult(0, "", "", len(msgs), tuple(ctx.events))

    def commit(self) -> None:
        self.store.commit()

    def query(self, path: str, data: bytes, height: int | None = None) -> QueryResult:
        if path == "account":
            try:
                addr = address_from_text(data.decode())
            except (InvalidAddress, UnicodeDecodeError) as exc:
                return QueryResult(
                    code=CODES["invalid_message"], value=b"", height=self.store.height, log=str(exc)
                )
            acct = self.account(addr)
            value = json.dumps({"balance": acct.balance, "nonce": acct.nonce}).encode()
            return QueryResult(code=0, value=value, height=self.store.height)
        return QueryResult(code=1, value=b"", height=self.store.height, log=f"unknown path {path}")
