"""ChainNode: the single writer. It wires the engine, mempool, executor, store and signer.

The node is synchronous and clock-free: a driver (``qos_node.service``) calls
``submit_tx(tx, now)`` and ``step(now)`` and sleeps until the returned deadline. Nothing
else writes the database. Start-up (``start``) runs the handshake: init the chain from
genesis on first start, reload the last committed :class:`ChainState`, replay stored
blocks into an app that is behind, and re-admit durable mempool txs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qos_chain import codec
from qos_chain.abci import Application, CheckTxKind, CheckTxResult, InitChain
from qos_chain.consensus.events import (
    Committed,
    Event,
    ProduceBlock,
    ScheduleWake,
    Tick,
    TxsAvailable,
)
from qos_chain.consensus.solo import SoloConfig, SoloEngine
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.consensus.wal import ConsensusWal
from qos_chain.consensus.wire import MAX_TX_BATCH_TXS, BlockWithCommit, split_tx_payload
from qos_chain.errors import ChainError, DecodeError, MempoolError, StoreError
from qos_chain.execution import AppliedBlock, BlockExecutor
from qos_chain.genesis import Genesis
from qos_chain.mempool.pool import Mempool
from qos_chain.privval import FilePrivValidator
from qos_chain.replica import BftDriver, NetEffect, PublishTx, SendConsensus, Verdict
from qos_chain.state import ChainState
from qos_chain.store import BlockStore
from qos_chain.types import Block, Commit, CommitFlag, CommitSig, Proposal, Vote, VoteType, tx_hash

log = logging.getLogger("qos.chain")


STATE_DEPENDENT_TX_CODES = frozenset(
    {
        "nonce_too_low",
        "nonce_too_high",
        "insufficient_funds",
        "insufficient_fee_funds",
        "tx_timed_out",
    }
)
"""check_tx refusals an honest peer can cause (the state moved on since it sent the tx);
every other refusal of a peer's tx (decode, signature, stateless validation) counts
against the peer (ChainNode.receive_tx)."""


@dataclass(frozen=True, slots=True)
class ReceivedTxs:
    """What became of a peer's TX payload (ChainNode.receive_tx)."""

    admitted: int
    invalid: int


class TxRejected(ChainError):
    """The app refused a tx in check_tx; ``code`` is the app's error code name."""

    code = "tx_rejected"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    tx_hash: bytes
    check: CheckTxResult


CommitListener = Callable[[AppliedBlock], None]


class ChainNode:
    def __init__(
        self,
        *,
        genesis: Genesis,
        store: BlockStore,
        app: Application,
        executor: BlockExecutor,
        mempool: Mempool,
        privval: FilePrivValidator,
        solo: SoloConfig,
        check_code_names: Callable[[CheckTxResult], str] | None = None,
        timeouts: TimeoutConfig | None = None,
        wal: ConsensusWal | None = None,
        min_tx_bytes: int = 1,
    ) -> None:
        self.genesis = genesis
        self.store = store
        self.app = app
        self.executor = executor
        self.mempool = mempool
        self.privval = privval
        self._solo_config = solo
        self._code_name = check_code_names or (lambda r: f"{r.codespace}:{r.code}")
        # a peer's TX payload holding a shorter tx is refused (QOS: MIN_SIGNED_TX_BYTES)
        self.min_tx_bytes = min_tx_bytes
        self._listeners: list[CommitListener] = []
        self._seq = 0
        self._state: ChainState | None = None
        self._engine: SoloEngine | None = None
        self._wake_at: int | None = None
        self.last_commit: Commit | None = None
        self._txs_new = False
        self.on_work: Callable[[], None] | None = None  # the driver's wake-up hook
        self.pending_evidence: list[bytes] = []  # verified evidence for the next proposal
        self.outbox: list[NetEffect] = []  # network effects for the runtime to perform
        self.bft: BftDriver | None = None
        self.timeouts = timeouts
        self.wal = wal

    # ------------------------------------------------------------------ lifecycle

    @property
    def state(self) -> ChainState:
        if self._state is None:
            raise ChainError("node not started")
        return self._state

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CommitListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def start(self, now: int) -> None:
        self.store.migrate()
        self._seq = self.store.max_pending_seq()  # acks keep their arrival order across restarts
        state = self.store.load_state()
        if state is None:
            state = self._init_chain()
        self._state = state
        self._handshake(state)
        if state.last_block_height >= state.initial_height:
            self.last_commit = self.store.commit(state.last_block_height)
            if self.last_commit is None:
                raise StoreError(f"commit for height {state.last_block_height} is missing")
        if self.can_produce():
            self._engine = SoloEngine(self._solo_config, state.next_height, now)
        else:  # several validators, or we follow as a full node: Tendermint
            self.bft = BftDriver(
                self,
                self.timeouts,
                busy_wait_ns=self._solo_config.min_block_interval_ns,
                wal=self.wal,
            )
            self.bft.start(now)
        self._readmit_pending()
        log.info("started at height %d", state.last_block_height)

    def _init_chain(self) -> ChainState:
        g = self.genesis
        res = self.app.init_chain(
            InitChain(g.chain_id, g.genesis_time_ns, g.validators, g.app_state)
        )
        state = ChainState.from_genesis(g, res.app_hash)
        with self.executor.db.atomic():
            self.app.commit()
            self.store.save_state(state)
        return state

    def _handshake(self, state: ChainState) -> None:
        app_height = self.app.info().last_block_height
        store_height = state.last_block_height
        if app_height > store_height:
            raise StoreError(f"app is at height {app_height}, ahead of the store {store_height}")
        start = max(app_height + 1, state.initial_height)
        for block in self.store.iter_blocks(start, store_height):
            app_hash = self.executor.replay_block(block)
            nxt = self.store.block(block.header.height + 1)
            want = state.app_hash if nxt is None else nxt.header.app_hash
            if app_hash != want:
                raise StoreError(f"replay of block {block.header.height} diverged (app hash)")
        if self.app.info().last_app_hash != state.app_hash:
            raise StoreError("app hash after handshake differs from the chain state")

    def _readmit_pending(self) -> None:
        dropped = []
        for tx in self.store.pending():
            try:
                self._admit(tx, CheckTxKind.RECHECK)
            except ChainError:
                dropped.append(tx_hash(tx))
        if dropped:
            self.store.remove_pending(dropped)
        if len(self.mempool):
            self._txs_new = True

    # ------------------------------------------------------------------ txs

    def submit_tx(self, tx: bytes, now: int) -> SubmitResult:
        """Check and admit a tx; once this returns, the tx is durable (survives kill -9)."""
        result = self.submit_txs([tx], now)[0]
        if isinstance(result, ChainError):
            raise result
        return result

    def submit_txs(self, txs: Sequence[bytes], now: int) -> list[SubmitResult | ChainError]:
        """Check and admit txs in order (a later tx may extend an earlier one's nonce);
        one result per tx: its :class:`SubmitResult`, or the refusal (``MempoolError`` or
        :class:`TxRejected`). The admitted txs are made durable in one SQLite transaction
        before this returns; if that write fails, none of them stays admitted and the
        error is raised."""
        results = self._admit_many(txs, CheckTxKind.NEW)
        admitted = [tx for tx, r in zip(txs, results, strict=True) if isinstance(r, SubmitResult)]
        if admitted:
            self.outbox.extend(PublishTx(tx) for tx in admitted)
            self._txs_new = True
            if self.on_work is not None:
                self.on_work()
        return results

    def _admit_many(
        self, txs: Sequence[bytes], kind: CheckTxKind, *, durable: bool = True
    ) -> list[SubmitResult | ChainError]:
        """Admit ``txs`` in order; with ``durable`` (txs acknowledged to a client) the
        admitted ones are persisted in one SQLite transaction before this returns, and if
        that fails none of them stays in the pool. Txs from peers are kept in memory only:
        nobody was promised them, and the node that acknowledged them persisted them (it
        proposes them itself, and re-admits them after a restart)."""
        results: list[SubmitResult | ChainError] = []
        rows: list[tuple[bytes, int, bytes]] = []
        try:
            for tx in txs:
                try:
                    result = self._admit(tx, kind)
                except ChainError as exc:
                    results.append(exc)
                    continue
                self._seq += 1
                rows.append((result.tx_hash, self._seq, tx))
                results.append(result)
            if durable:
                self.store.add_pending_many(rows)
        except BaseException:  # nothing admitted here may stay in the pool unpersisted
            for h, _, _ in reversed(rows):
                self.mempool.remove(h)
            raise
        return results

    def _admit(self, tx: bytes, kind: CheckTxKind) -> SubmitResult:
        """Check a tx and add it to the in-memory pool (the caller persists it)."""
        if len(tx) > self.mempool.config.max_tx_bytes:
            raise MempoolError(
                f"tx of {len(tx)} bytes exceeds {self.mempool.config.max_tx_bytes}",
                code="tx_too_large",
            )
        h = tx_hash(tx)
        if h in self.mempool:
            raise MempoolError("tx is already in the mempool", code="tx_already_in_mempool")
        check = self.app.check_tx(tx, kind)
        if not check.ok:
            raise TxRejected(
                check.log or "rejected by the application", code=self._code_name(check)
            )
        self.mempool.add(tx, check, check.next_nonce)
        return SubmitResult(h, check)

    # ------------------------------------------------------------------ driving

    def step(self, now: int) -> int | None:
        """Let time pass; produce a block if due. Returns the next deadline (ns) or None."""
        if self.bft is not None:
            if self._txs_new:
                self._txs_new = False
                self.bft.on_txs(now)
            self.bft.on_timer(now)
            return self.bft.next_deadline()
        if self._txs_new:
            self._txs_new = False
            self._dispatch(TxsAvailable(), now)
        self._dispatch(Tick(), now)
        return self._wake_at

    # ------------------------------------------------------------------ network input

    def take_outbox(self) -> list[NetEffect]:
        out = list(self.outbox)
        self.outbox.clear()
        return out

    def check_consensus(self, payload: bytes) -> Verdict:
        if self.bft is None:
            return Verdict.IGNORE
        return self.bft.check_consensus(payload)

    def check_tx_message(self, payload: bytes) -> Verdict:
        """Cheap stateless vetting of a gossiped tx (or TxBatch) before it is relayed:
        REJECT a malformed batch, one of more than ``MAX_TX_BATCH_TXS`` txs (refused before
        it is decoded) and one holding a tx over the mempool's size limit or under
        ``min_tx_bytes``."""
        try:
            txs = split_tx_payload(payload, MAX_TX_BATCH_TXS)
        except DecodeError:
            return Verdict.REJECT
        lo, hi = self.min_tx_bytes, self.mempool.config.max_tx_bytes
        if not txs or any(not lo <= len(tx) <= hi for tx in txs):
            return Verdict.REJECT
        if all(tx_hash(tx) in self.mempool for tx in txs):
            return Verdict.IGNORE
        return Verdict.ACCEPT

    def receive_consensus(self, payload: bytes, peer: str, now: int) -> None:
        if self.bft is not None:
            self.bft.on_consensus(payload, peer, now)

    def receive_tx(self, payload: bytes, now: int) -> ReceivedTxs:
        """Txs sent by a peer (a raw tx or a TxBatch): admitted like a client's, not
        re-published (gossip relays). Returns how many were admitted and how many were
        invalid whatever the state (malformed, badly signed: the caller penalises the
        peer); a tx refused for the state it meets (nonce, funds, a full pool, already
        known) is neither."""
        try:
            txs = split_tx_payload(payload, MAX_TX_BATCH_TXS)
        except DecodeError:
            return ReceivedTxs(0, 1)
        # not persisted: we acknowledged them to nobody, and their sender keeps them
        results = self._admit_many(txs, CheckTxKind.NEW, durable=False)
        admitted = sum(isinstance(r, SubmitResult) for r in results)
        invalid = sum(
            isinstance(r, TxRejected) and r.code not in STATE_DEPENDENT_TX_CODES for r in results
        )
        if admitted:
            self._txs_new = True
        return ReceivedTxs(admitted, invalid)

    def receive_evidence(self, payload: bytes) -> Verdict:
        if self.bft is None:
            return Verdict.IGNORE
        return self.bft.on_evidence(payload)

    def serve_blocks(self, start: int, count: int) -> list[bytes]:
        out: list[bytes] = []
        for h in range(max(start, 1), start + count):
            block = self.store.block(h)
            commit = self.store.commit(h)
            if block is None or commit is None:
                break
            out.append(codec.encode(BlockWithCommit(block, commit)))
        return out

    def apply_synced(self, payloads: list[bytes], now: int) -> int:
        if self.bft is not None:
            return self.bft.apply_synced(payloads, now)
        return 0

    def round_state(self) -> tuple[int, int, str]:
        """(height, round, step) of consensus for the API."""
        if self.bft is not None:
            rs = self.bft.round_state()
            return rs.height, rs.round, rs.step.name.lower()
        return self.state.next_height, 0, "solo"

    def _dispatch(self, event: Event, now: int | None) -> None:
        if self._engine is None or now is None:
            return
        queue: list[Event] = [event]
        while queue:
            effects = self._engine.handle(queue.pop(0), now)
            for eff in effects:
                if isinstance(eff, ScheduleWake):
                    self._wake_at = eff.at_ns
                elif isinstance(eff, ProduceBlock):
                    self._wake_at = None
                    applied = self._produce(eff.height, now)
                    queue.append(Committed(applied.block.header.height, len(self.mempool) > 0))

    def can_produce(self) -> bool:
        vals = self.state.validators
        idx = vals.index_of(self.privval.address)
        return idx is not None and vals.validators[idx].power >= vals.quorum()

    def build_block(self, now: int) -> Block:
        """A proposal for the next height from the mempool (time strictly increasing)."""
        state = self.state
        time_ns = max(now, state.last_block_time_ns + 1_000_000)
        txs = self.mempool.reap(state.block_max_bytes, state.block_max_txs)
        return self.executor.create_proposal(
            state,
            time_ns=time_ns,
            proposer=self.privval.address,
            txs=txs,
            last_commit=self.last_commit,
            evidence=tuple(self.pending_evidence),
        )

    def _produce(self, height: int, now: int) -> AppliedBlock:
        state = self.state
        if height != state.next_height:
            raise ChainError(f"asked to produce {height}, next is {state.next_height}")
        if not self.can_produce():
            raise ChainError("this validator alone does not hold +2/3 voting power")
        chain_id = state.chain_id
        block = self.build_block(now)
        time_ns = block.header.time_ns
        bhash = block.hash()
        last = self.privval.last
        rnd = last.round + 1 if last.height == height else 0
        self.privval.sign_proposal(chain_id, Proposal(height, rnd, None, bhash, time_ns, b""))
        me = state.validators.index_of(self.privval.address)
        assert me is not None
        for vt in (VoteType.PREVOTE, VoteType.PRECOMMIT):
            vote = self.privval.sign_vote(
                chain_id, Vote(vt, height, rnd, bhash, time_ns, self.privval.address, me, b"")
            )
        sigs = tuple(
            CommitSig(CommitFlag.COMMIT, v.address, time_ns, vote.signature)
            if i == me
            else CommitSig(CommitFlag.ABSENT, b"", 0, b"")
            for i, v in enumerate(state.validators.validators)
        )
        return self.commit_block(block, Commit(height, rnd, bhash, sigs))

    def commit_block(self, block: Block, commit: Commit) -> AppliedBlock:
        """Validate and apply a decided block with its +2/3 commit (the only commit path)."""
        applied = self.executor.apply_block(self.state, block, commit)
        self._state = applied.state
        self.last_commit = commit
        included = set(block.evidence)
        self.pending_evidence = [e for e in self.pending_evidence if e not in included]
        self._recheck(block.txs)
        if self.bft is None:  # solo: followers learn blocks from us
            self.outbox.append(SendConsensus(codec.encode(BlockWithCommit(block, commit))))
        for listener in self._listeners:
            try:
                listener(applied)
            except Exception:  # a listener must never stop the chain
                log.exception("commit listener failed")
        return applied

    def _recheck(self, committed: tuple[bytes, ...]) -> None:
        def recheck(tx: bytes) -> tuple[CheckTxResult, int]:
            res = self.app.check_tx(tx, CheckTxKind.RECHECK)
            return res, res.next_nonce

        dropped = self.mempool.update(committed, recheck)
        if dropped:
            self.store.remove_pending([h for h, _ in dropped])
