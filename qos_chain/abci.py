"""The application boundary: how the engine drives a deterministic application.

Shaped like CometBFT's ABCI 2.0 (``Info``, ``InitChain``, ``CheckTx``, ``PrepareProposal``,
``ProcessProposal``, ``FinalizeBlock``, ``Commit``, ``Query``), synchronous and in-process:

* ``check_tx`` validates a tx against the latest committed state for the mempool; it
  reports the tx's ``sender`` and ``nonce`` so the (app-agnostic) mempool can order txs per
  sender without understanding them.
* ``prepare_proposal``/``process_proposal`` let the app shape and vet a proposed block.
* ``finalize_block`` executes a decided block and returns per-tx results, validator
  updates and the new app hash; it must not persist anything yet.
* ``commit`` persists what ``finalize_block`` (at genesis: ``init_chain``) computed. The
  engine calls it inside the same database transaction that stores the block, so block
  and state land atomically.
* ``info`` tells the engine what height the app has committed; at start-up the engine
  replays stored blocks the app has not seen (CometBFT's handshake).

Determinism rules for every app: use only the request (block time from the header), no
clock, randomness, network, floats or set iteration order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from qos_chain.types import Header, TxResult, Validator


class CheckTxKind(Enum):
    NEW = "new"  # a tx arriving from a client or peer
    RECHECK = "recheck"  # a mempool tx re-validated after a commit


@dataclass(frozen=True, slots=True)
class AppInfo:
    last_block_height: int
    last_app_hash: bytes


@dataclass(frozen=True, slots=True)
class InitChain:
    chain_id: str
    time_ns: int
    validators: tuple[Validator, ...]
    app_state: bytes  # the app's genesis section, canonical JSON bytes


@dataclass(frozen=True, slots=True)
class InitChainResult:
    app_hash: bytes
    validators: tuple[Validator, ...]  # empty = keep the genesis validators


@dataclass(frozen=True, slots=True)
class CheckTxResult:
    code: int
    log: str = ""
    codespace: str = ""
    sender: bytes = b""  # mempool ordering key; empty = unordered
    nonce: int = 0
    next_nonce: int = 0  # the sender's next nonce in committed state
    priority: int = 0
    gas_wanted: int = 0

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True, slots=True)
class PrepareProposal:
    height: int
    time_ns: int
    proposer: bytes
    txs: tuple[bytes, ...]  # mempool txs in order, already within max_tx_bytes
    max_tx_bytes: int


@dataclass(frozen=True, slots=True)
class ProcessProposal:
    header: Header
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class FinalizeBlock:
    header: Header
    txs: tuple[bytes, ...]
    misbehavior: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class ValidatorUpdate:
    public_key: bytes
    power: int  # 0 removes the validator


@dataclass(frozen=True, slots=True)
class FinalizeBlockResult:
    tx_results: tuple[TxResult, ...]
    app_hash: bytes
    validator_updates: tuple[ValidatorUpdate, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class QueryResult:
    code: int
    value: bytes
    height: int
    log: str = ""


class Application(Protocol):
    def info(self) -> AppInfo: ...

    def init_chain(self, req: InitChain) -> InitChainResult: ...

    def check_tx(self, tx: bytes, kind: CheckTxKind) -> CheckTxResult: ...

    def prepare_proposal(self, req: PrepareProposal) -> tuple[bytes, ...]: ...

    def process_proposal(self, req: ProcessProposal) -> bool: ...

    def finalize_block(self, req: FinalizeBlock) -> FinalizeBlockResult: ...

    def commit(self) -> None: ...

    def query(self, path: str, data: bytes, height: int | None = None) -> QueryResult: ...
