"""LocalNodePort: the API's :class:`~qos_api.ports.NodePort` for a ChainNode on this loop.

* Reads go to separate read-only SQLite connections (WAL lets them run beside the single
  writer), one per worker thread of a small pool, so a slow query never stalls the loop
  that drives consensus. With an in-memory database (``read_db_path=None``) there is no
  second connection to open: reads then use the node's own store and app, on the loop.
* Identity reads (``resolve_did``, ``did_history``, ``identities``, ``did_state``) run a
  :class:`~qos_identity.resolver.Resolver` over the worker's read-only connection
  (``sqlite_reader``) inside one read transaction, so a call sees one committed snapshot.
* Writes (``submit_tx``) call the node directly: it is the single writer and lives on the
  calling loop. Refusals become :class:`SubmitRejected` with a stable code.
* Subscriptions: one node listener fans each committed block out to per-subscriber bounded
  queues. The listener never blocks or raises: a subscriber whose queue is full is dropped
  and its iterator raises :class:`SubscriberTooSlow`. A listener call from another thread
  than the subscriber's loop is handed over with ``call_soon_threadsafe`` (order kept).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from qos_api.ports import (
    AccountInfo,
    BlockInfo,
    ConsensusStateInfo,
    EvidenceInfo,
    NetworkStatsView,
    NodePort,
    NodeStatus,
    PeerView,
    SubmitAccepted,
    SubmitRejected,
    SubscriberTooSlow,
    TxInfo,
    ValidatorInfo,
)
from qos_app.accounts import BALANCE_PREFIX, NONCE_PREFIX, get_balance, get_nonce
from qos_app.app import QosApp
from qos_app.errors import CODESPACE, NAMES, AppError
from qos_chain import codec
from qos_chain.address import Address, address_to_text
from qos_chain.consensus.votes import DuplicateVoteEvidence
from qos_chain.db import open_database
from qos_chain.errors import DecodeError, MempoolError
from qos_chain.execution import AppliedBlock
from qos_chain.node import ChainNode, SubmitResult, TxRejected
from qos_chain.store import BlockStore
from qos_chain.types import TxResult
from qos_fs.module import EVENT_CREATED, EVENT_REMOVED
from qos_fs.service import FileService
from qos_fs.state import PinRecord, pins_page
from qos_identity.credentials.reader import (
    CredentialPage,
    CredentialReader,
    CredentialView,
    sqlite_reverse_scan,
)
from qos_identity.credentials.state import IssuerRecord, SchemaRecord, status_index_key
from qos_identity.credentials.status_list import build_status_list_credential
from qos_identity.credentials.verify import (
    PresentationReport,
    VerificationReport,
    identity_documents,
    verify_credential,
    verify_presentation,
)
from qos_identity.resolver import (
    IdentityPage,
    ResolutionResult,
    Resolver,
    VersionInfo,
    sqlite_reader,
)
from qos_identity.state import DidState
from qos_node.wiring import invocation_keys

log = logging.getLogger("qos.node.port")

T = TypeVar("T")

SUBSCRIBER_QUEUE_SIZE = 256
READ_THREADS = 4
_NUMERIC_CODE = re.compile(r"^([a-z0-9_]+):(\d+)$")


def read_account(db: Database, address: bytes) -> tuple[int, int]:
    """``(balance, nonce)`` of ``address`` from the committed app state, in one statement
    (one snapshot), without loading the app's Merkle tree."""
    rows = db.conn.execute(
        "SELECT key, value FROM app_state WHERE key IN (?, ?)",
        (BALANCE_PREFIX + address, NONCE_PREFIX + address),
    ).fetchall()
    values = {bytes(k): bytes(v) for k, v in rows}
    return get_balance(values.get, address), get_nonce(values.get, address)


def rejection_code(code: str) -> str:
    """The app's code name for a ``"qos:<n>"`` code; any other code unchanged."""
    m = _NUMERIC_CODE.match(code)
    if m and m.group(1) == CODESPACE:
        return NAMES.get(int(m.group(2)), code)
    return code


def read_snapshot(conn: sqlite3.Connection, fn: Callable[[], T]) -> T:
    """Run ``fn`` inside one read transaction (one WAL snapshot) unless one is open."""
    if conn.in_transaction:
        return fn()
    conn.execute("BEGIN")
    try:
        return fn()
    finally:
        conn.execute("COMMIT")


def load_block_info(store: BlockStore, height: int) -> BlockInfo | None:
    block = store.block(height)
    if block is None:
        return None
    return BlockInfo(block, store.commit(height), tuple(store.tx_results(height)))


@dataclass(slots=True)
class _Subscriber:
    queue: asyncio.Queue[BlockInfo | Exception | None]  # exception: raise it; None: end
    loop: asyncio.AbstractEventLoop
    thread: int
    dropped: bool = False


class LocalNodePort(NodePort):
    def __init__(
        self,
        node: ChainNode,
        app: QosApp,
        read_db_path: Path | None,
        clock: Callable[[], int] = time.time_ns,
        node_id: str = "",
        *,
        queue_size: int = SUBSCRIBER_QUEUE_SIZE,
        peers: Callable[[], list[PeerView]] | None = None,
        network_stats: Callable[[], NetworkStatsView] | None = None,
        files: FileService | None = None,
        offload_submit: bool = False,
    ) -> None:
        # offload_submit: the node lives on another thread (the trio runtime), so a submit
        # waits in a worker thread and the API's event loop keeps serving meanwhile
        self._offload_submit = offload_submit
        self._peers = peers
        self._network_stats = network_stats
        self._files = files
        # one worker applies committed pin records to the local file service, in order
        self._files_worker = (
            ThreadPoolExecutor(1, thread_name_prefix="qos-files") if files is not None else None
        )
        self._node = node
        self._app = app
        self._path = read_db_path
        self._clock = clock
        self._node_id = node_id
        self._queue_size = queue_size
        self._subs: list[_Subscriber] = []
        self._subs_changed = threading.Condition()
        self._closed = False
        self._local = threading.local()
        self._conns: list[Database] = []
        self._conns_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        if read_db_path is not None:
            self._executor = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="qos-api-read")
        node.add_listener(self._on_commit)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop fanning out blocks, drop subscribers, close the read connections."""
        self._closed = True
        self._node.remove_listener(self._on_commit)
        for sub in list(self._subs):
            self._call_in_loop(sub, partial(self._end, sub, None))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._files_worker is not None:
            self._files_worker.shutdown(wait=True)
        with self._conns_lock:
            for db in self._conns:
                db.conn.close()
            self._conns.clear()

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def wait_for_subscribers(self, n: int, timeout: float) -> bool:
        """Block the calling thread until exactly ``n`` subscribers are registered (or the
        timeout passes; returns whether it happened). For tools and tests that must not
        commit a block before a subscription is live. Never call it on the port's loop."""
        with self._subs_changed:
            return self._subs_changed.wait_for(lambda: len(self._subs) == n, timeout)

    # ------------------------------------------------------------------ reads

    def _read_store(self) -> BlockStore:
        """The calling worker thread's read-only store (opened on first use)."""
        store: BlockStore | None = getattr(self._local, "store", None)
        if store is None:
            assert self._path is not None
            db = open_database(self._path, readonly=True)
            with self._conns_lock:
                self._conns.append(db)
            store = self._local.store = BlockStore(db)
        return store

    async def _read(self, fn: Callable[[BlockStore], T]) -> T:
        if self._executor is None:
            return fn(self._node.store)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._read_store()))

    async def status(self) -> NodeStatus:
        state = self._node.state
        return NodeStatus(
            chain_id=state.chain_id,
            node_id=self._node_id,
            height=state.last_block_height,
            latest_block_hash=state.last_block_hash,
            latest_block_time_ns=state.last_block_time_ns,
            app_hash=state.app_hash,
            validator_address=address_to_text(self._node.privval.address),
            mempool_size=len(self._node.mempool),
        )

    async def consensus_state(self) -> ConsensusStateInfo:
        height, round_, step = self._node.round_state()
        return ConsensusStateInfo(height, round_, step)

    async def validators(self) -> list[ValidatorInfo]:
        vals = self._node.state.validators.validators
        return [ValidatorInfo(v.address, v.public_key, v.power) for v in vals]

    async def peers(self) -> list[PeerView]:
        return [] if self._peers is None else self._peers()

    async def network_stats(self) -> NetworkStatsView | None:
        return None if self._network_stats is None else self._network_stats()

    async def evidence(self, limit: int) -> list[EvidenceInfo]:
        def get(s: BlockStore) -> list[EvidenceInfo]:
            out = []
            for included_at, raw in s.evidence(limit):
                try:
                    ev = codec.decode(DuplicateVoteEvidence, raw)
                except DecodeError:
                    continue
                a, b = ev.vote_a, ev.vote_b
                out.append(
                    EvidenceInfo(
                        included_at,
                        a.validator,
                        a.height,
                        a.round,
                        a.type.name.lower(),
                        a.block_hash,
                        b.block_hash,
                        raw,
                    )
                )
            return out

        return await self._read(get)

    async def block_by_height(self, height: int) -> BlockInfo | None:
        return await self._read(lambda s: load_block_info(s, height))

    async def block_by_hash(self, block_hash: bytes) -> BlockInfo | None:
        def get(s: BlockStore) -> BlockInfo | None:
            block = s.block_by_hash(block_hash)
            return None if block is None else load_block_info(s, block.header.height)

        return await self._read(get)

    async def blocks(self, before_height: int | None, limit: int) -> list[BlockInfo]:
        def get(s: BlockStore) -> list[BlockInfo]:
            out = []
            for block in s.blocks_desc(before_height, limit):
                h = block.header.height
                out.append(BlockInfo(block, s.commit(h), tuple(s.tx_results(h))))
            return out

        return await self._read(get)

    async def transaction(self, tx_hash: bytes) -> TxInfo | None:
        rec = await self._read(lambda s: s.tx(tx_hash))
        return None if rec is None else TxInfo(rec.hash, rec.height, rec.index, rec.tx, rec.result)

    def _resolver(self, store: BlockStore) -> Resolver:
        resolver: Resolver | None = getattr(self._local, "resolver", None)
        if resolver is None or self._executor is None:
            resolver = Resolver(*sqlite_reader(store.db.conn))
            if self._executor is not None:
                self._local.resolver = resolver
        return resolver

    async def _identity_read(self, fn: Callable[[Resolver], T]) -> T:
        def run(s: BlockStore) -> T:
            r = self._resolver(s)
            return read_snapshot(s.db.conn, lambda: fn(r))

        return await self._read(run)

    async def resolve_did(
        self, did: str, version_id: str | None, version_time: str | None, accept: str
    ) -> ResolutionResult:
        return await self._identity_read(
            lambda r: r.resolve(did, version_id, version_time, accept=accept)
        )

    async def did_history(self, did: str) -> list[VersionInfo]:
        return await self._identity_read(lambda r: r.history(did))

    async def identities(self, controller: str, first: int, after: str | None) -> IdentityPage:
        return await self._identity_read(
            lambda r: r.identities_by_controller(controller, first, after)
        )

    async def did_state(self, did: str) -> DidState | None:
        return await self._identity_read(lambda r: r.state(did))

    # ------------------------------------------------------------------ credentials

    def _credential_reader(self, store: BlockStore) -> CredentialReader:
        reader: CredentialReader | None = getattr(self._local, "credential_reader", None)
        if reader is None or self._executor is None:
            conn = store.db.conn
            reader = CredentialReader(*sqlite_reader(conn), sqlite_reverse_scan(conn))
            if self._executor is not None:
                self._local.credential_reader = reader
        return reader

    async def _credential_read(self, fn: Callable[[CredentialReader], T]) -> T:
        """``fn`` over the worker's read-only connection, in one read transaction."""

        def run(s: BlockStore) -> T:
            r = self._credential_reader(s)
            return read_snapshot(s.db.conn, lambda: fn(r))

        return await self._read(run)

    async def credential(self, cid: str) -> CredentialView | None:
        return await self._credential_read(lambda r: r.get_credential(cid))

    async def credentials(
        self,
        *,
        subject: str | None,
        issuer: str | None,
        schema: str | None,
        type: str | None,
        status: str | None,
        valid_at: int | None,
        first: int,
        after: str | None,
        order_by: str,
    ) -> CredentialPage:
        return await self._credential_read(
            lambda r: r.credentials(
                subject=subject,
                issuer=issuer,
                schema=schema,
                type=type,
                status=status,
                valid_at=valid_at,
                first=first,
                after=after,
                order_by=order_by,
            )
        )

    async def credentials_at(self, issuer: str, indexes: Sequence[int]) -> list[CredentialView]:
        def get(r: CredentialReader) -> list[CredentialView]:
            out = []
            for i in indexes:
                digest = r.get(status_index_key(issuer, i))
                view = None if digest is None else r.get_credential(digest.hex())
                if view is not None:
                    out.append(view)
            return out

        return await self._credential_read(get)

    async def credential_schema(self, schema_id: str) -> SchemaRecord | None:
        return await self._credential_read(lambda r: r.schema(schema_id))

    async def credential_issuer(self, did: str) -> IssuerRecord:
        return await self._credential_read(
            lambda r: IssuerRecord(
                r.next_status_index(did), r.status_sequence(did), r.anchored_count(did)
            )
        )

    async def status_list(
        self, base_url: str, issuer: str, purpose: str, list_id: int
    ) -> dict[str, Any] | None:
        def get(r: CredentialReader) -> dict[str, Any] | None:
            if list_id >= r.list_count(issuer):
                return None
            return build_status_list_credential(r, base_url, issuer, purpose, list_id)

        return await self._credential_read(get)

    async def verify_credential(self, credential: Any) -> VerificationReport:
        now = self._clock() // 10**9
        return await self._credential_read(
            lambda r: verify_credential(credential, identity_documents(r.get), r, now)
        )

    async def verify_presentation(
        self, presentation: Any, challenge: str, domain: str
    ) -> PresentationReport:
        now = self._clock() // 10**9
        return await self._credential_read(
            lambda r: verify_presentation(
                presentation,
                challenge,
                domain,
                documents=identity_documents(r.get),
                reader=r,
                now=now,
            )
        )

    async def account(self, address: bytes) -> AccountInfo:
        if self._executor is None:
            acct = self._app.account(Address(address))
            return AccountInfo(address, acct.balance, acct.nonce)
        balance, nonce = await self._read(lambda s: read_account(s.db, address))
        return AccountInfo(address, balance, nonce)

    # ------------------------------------------------------------------ writes

    async def submit_tx(self, raw: bytes) -> SubmitAccepted | SubmitRejected:
        try:
            if self._offload_submit:
                result = await asyncio.to_thread(self._node.submit_tx, raw, self._clock())
            else:
                result = self._node.submit_tx(raw, self._clock())
        except (MempoolError, TxRejected, AppError) as exc:
            return SubmitRejected(rejection_code(exc.code), exc.message)
        except Exception:
            log.exception("submit_tx failed unexpectedly")
            return SubmitRejected("internal", "internal error")
        return SubmitAccepted(result.tx_hash)

    async def submit_txs(self, raws: Sequence[bytes]) -> list[SubmitAccepted | SubmitRejected]:
        """One trip to the node for the whole batch (one SQLite write for its admissions)."""
        if not raws:
            return []
        batch = list(raws)
        try:
            if self._offload_submit:
                results = await asyncio.to_thread(self._node.submit_txs, batch, self._clock())
            else:
                results = self._node.submit_txs(batch, self._clock())
        except Exception:
            log.exception("submit_txs failed unexpectedly")
            return [SubmitRejected("internal", "internal error") for _ in batch]
        out: list[SubmitAccepted | SubmitRejected] = []
        for r in results:
            if isinstance(r, SubmitResult):
                out.append(SubmitAccepted(r.tx_hash))
            elif isinstance(r, MempoolError | TxRejected):
                out.append(SubmitRejected(rejection_code(r.code), r.message))
            else:
                log.error("submit_txs: unexpected refusal %r", r)
                out.append(SubmitRejected("internal", "internal error"))
        return out

    # ------------------------------------------------------------------ subscriptions

    async def subscribe_blocks(self) -> AsyncIterator[BlockInfo]:
        if self._closed:
            raise SubscriberTooSlow("the node port is closed")
        sub = _Subscriber(
            asyncio.Queue(self._queue_size), asyncio.get_running_loop(), threading.get_ident()
        )
        with self._subs_changed:
            self._subs.append(sub)
            self._subs_changed.notify_all()
        try:
            while True:
                item = await sub.queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._remove(sub)

    def _remove(self, sub: _Subscriber) -> None:
        with self._subs_changed:
            if sub in self._subs:
                self._subs.remove(sub)
                self._subs_changed.notify_all()

    def _on_commit(self, applied: AppliedBlock) -> None:
        if self._closed:
            return
        self._track_pins(applied.result.tx_results)
        if not self._subs:
            return
        info = BlockInfo(applied.block, applied.commit, applied.result.tx_results)
        for sub in list(self._subs):
            self._call_in_loop(sub, partial(self._deliver, sub, info))

    def _call_in_loop(self, sub: _Subscriber, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the subscriber's loop thread (right now if we are in it)."""
        if sub.thread == threading.get_ident():
            fn()
            return
        try:
            sub.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # its loop is closed: nobody is listening any more
            sub.dropped = True
            self._remove(sub)

    def _deliver(self, sub: _Subscriber, info: BlockInfo) -> None:
        if sub.dropped:
            return
        try:
            sub.queue.put_nowait(info)
        except asyncio.QueueFull:
            log.warning("dropping a block subscriber that fell behind")
            self._end(
                sub,
                SubscriberTooSlow(
                    f"subscriber fell more than {self._queue_size} blocks behind and was "
                    "disconnected; resume with the blocks query"
                ),
            )

    def _end(self, sub: _Subscriber, reason: Exception | None) -> None:
        """Disconnect ``sub`` (in its loop): drop its backlog, wake it with ``reason``."""
        if sub.dropped:
            return
        sub.dropped = True
        self._remove(sub)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(reason)

    # ------------------------------------------------------------------ files

    def file_service(self) -> FileService | None:
        return self._files

    async def chain_pins(
        self,
        owner: str | None,
        cid: bytes | None,
        after: bytes | None,
        limit: int,
        name: str | None = None,
    ) -> list[tuple[bytes, PinRecord]]:
        def get(s: BlockStore) -> list[tuple[bytes, PinRecord]]:
            getter, scan = sqlite_reader(s.db.conn)
            return read_snapshot(
                s.db.conn,
                lambda: pins_page(
                    getter, scan, owner=owner, cid=cid, after=after, limit=limit, name=name
                ),
            )

        return await self._read(get)

    async def did_invocation_keys(self, did: str) -> dict[str, bytes] | None:
        return await self._read(lambda s: invocation_keys(sqlite_reader(s.db.conn)[0], did))

    def _track_pins(self, results: tuple[TxResult, ...]) -> None:
        """Hand committed pin records to the file service (its worker pins or unpins)."""
        if self._files is None or self._files_worker is None:
            return
        for result in results:
            if not result.ok:
                continue
            for e in result.events:
                if e.type not in (EVENT_CREATED, EVENT_REMOVED):
                    continue
                attrs = {a.key: a.value for a in e.attributes}
                fn = (
                    self._files.on_chain_pin
                    if e.type == EVENT_CREATED
                    else self._files.on_chain_unpin
                )
                future = self._files_worker.submit(fn, attrs["owner"], bytes.fromhex(attrs["cid"]))
                future.add_done_callback(_log_failure)

    def files_idle(self, timeout: float = 30.0) -> None:
        """Block until every committed pin record handed over so far was applied."""
        if self._files_worker is not None:
            self._files_worker.submit(lambda: None).result(timeout)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("applying an on-chain pin failed", exc_info=exc)
