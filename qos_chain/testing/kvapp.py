"""KVApp: a toy deterministic key/value application used by engine tests.

A tx is ``key=value`` (UTF-8, key non-empty, at most 1 KiB). State is kept in memory, so
after a restart the engine's handshake replays every stored block into it, which is what
the tests exercise. The app hash is the Merkle root over sorted ``key\\x00value`` entries.
"""

from __future__ import annotations

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
from qos_chain.merkle import merkle_root
from qos_chain.types import Event, EventAttribute, TxResult

MAX_KV_TX = 1024


def _parse(tx: bytes) -> tuple[str, str] | None:
    if len(tx) > MAX_KV_TX:
        return None
    try:
        text = tx.decode("utf-8")
    except UnicodeDecodeError:
        return None
    key, sep, value = text.partition("=")
    if not sep or not key:
        return None
    return key, value


class KVApp:
    def __init__(self) -> None:
        self.committed: dict[str, str] = {}
        self._pending: dict[str, str] | None = None
        self.height = 0
        self._pending_height = 0
        self.app_hash = merkle_root([])

    def _hash(self, state: dict[str, str]) -> bytes:
        return merkle_root([f"{k}\x00{state[k]}".encode() for k in sorted(state)])

    def info(self) -> AppInfo:
        return AppInfo(self.height, self.app_hash)

    def init_chain(self, req: InitChain) -> InitChainResult:
        self._pending = dict(self.committed)  # the engine commits genesis state next
        self._pending_height = 0
        return InitChainResult(self.app_hash, ())

    def check_tx(self, tx: bytes, kind: CheckTxKind) -> CheckTxResult:
        if _parse(tx) is None:
            return CheckTxResult(code=1, log="tx must be key=value", codespace="kv")
        return CheckTxResult(code=0)

    def prepare_proposal(self, req: PrepareProposal) -> tuple[bytes, ...]:
        return tuple(tx for tx in req.txs if _parse(tx) is not None)

    def process_proposal(self, req: ProcessProposal) -> bool:
        return all(_parse(tx) is not None for tx in req.txs)

    def finalize_block(self, req: FinalizeBlock) -> FinalizeBlockResult:
        state = dict(self.committed)
        results = []
        for tx in req.txs:
            kv = _parse(tx)
            if kv is None:
                results.append(TxResult(1, "kv", "tx must be key=value", 0, ()))
                continue
            state[kv[0]] = kv[1]
            attrs = (EventAttribute("key", kv[0]),)
            results.append(TxResult(0, "", "", 1, (Event("kv.set", attrs),)))
        self._pending = state
        self._pending_height = req.header.height
        return FinalizeBlockResult(tuple(results), self._hash(state))

    def commit(self) -> None:
        if self._pending is None:
            raise RuntimeError("commit without finalize_block")
        self.committed = self._pending
        self.height = self._pending_height
        self.app_hash = self._hash(self.committed)
        self._pending = None

    def query(self, path: str, data: bytes, height: int | None = None) -> QueryResult:
        if path != "key":
            return QueryResult(code=1, value=b"", height=self.height, log="unknown path")
        value = self.committed.get(data.decode("utf-8", "replace"))
        if value is None:
            return QueryResult(code=2, value=b"", height=self.height, log="not found")
        return QueryResult(code=0, value=value.encode(), height=self.height)
