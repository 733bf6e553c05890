"""Block execution: the one entry point that commits a block (CometBFT's ``BlockExecutor``).

``create_proposal`` builds a block from mempool txs through ``prepare_proposal``;
``apply_block`` validates a decided block and its commit, runs ``finalize_block``, and then
inside a single ``db.atomic()`` lets the app persist its state (``commit``) and saves the
block, commit, tx results and new :class:`ChainState`. Either all of it lands or none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from qos_chain import codec
from qos_chain.abci import (
    Application,
    FinalizeBlock,
    FinalizeBlockResult,
    PrepareProposal,
    ProcessProposal,
)
from qos_chain.errors import InvalidBlock, StoreError
from qos_chain.merkle import merkle_root
from qos_chain.state import ChainState
from qos_chain.store import BlockStore
from qos_chain.types import Block, Commit, Header, Validator, ValidatorSet
from qos_chain.validation import evidence_root, tx_root, validate_block, verify_commit


@dataclass(frozen=True, slots=True)
class AppliedBlock:
    block: Block
    commit: Commit
    result: FinalizeBlockResult
    state: ChainState


def results_hash(result: FinalizeBlockResult) -> bytes:
    return merkle_root([codec.encode(r) for r in result.tx_results])


def _encoded_results(result: FinalizeBlockResult) -> list[bytes]:
    return [codec.encode(r) for r in result.tx_results]


class BlockExecutor:
    def __init__(self, db: Database, store: BlockStore, app: Application) -> None:
        self.db = db
        self.store = store
        self.app = app

    def create_proposal(
        self,
        state: ChainState,
        *,
        time_ns: int,
        proposer: bytes,
        txs: tuple[bytes, ...],
        last_commit: Commit | None,
        evidence: tuple[bytes, ...] = (),
    ) -> Block:
        height = state.next_height
        budget = max(0, state.block_max_bytes - 64 * 1024)  # room for header + commit
        picked = self.app.prepare_proposal(
            PrepareProposal(height, time_ns, proposer, txs[: state.block_max_txs], budget)
        )
        header = Header(
            chain_id=state.chain_id,
            height=height,
            time_ns=time_ns,
            proposer=proposer,
            parent_hash=state.last_block_hash,
            last_commit_hash=b"" if last_commit is None else last_commit.hash(),
            tx_root=tx_root(picked),
            evidence_root=evidence_root(evidence),
            validators_hash=state.validators.hash(),
            next_validators_hash=state.next_validators.hash(),
            app_hash=state.app_hash,
            last_results_hash=state.last_results_hash,
        )
        return Block(header, picked, evidence, last_commit)

    def process_proposal(self, state: ChainState, block: Block) -> bool:
        try:
            validate_block(state, block)
        except InvalidBlock:
            return False
        return self.app.process_proposal(ProcessProposal(block.header, block.txs))

    def apply_block(self, state: ChainState, block: Block, commit: Commit) -> AppliedBlock:
        validate_block(state, block)
        verify_commit(state.chain_id, state.validators, commit, block.hash(), block.header.height)
        return self._execute(state, block, commit)

    def replay_block(self, block: Block) -> bytes:
        """Re-run a stored block into an app that is behind the store (the handshake).

        The chain state is already past this block; only the app catches up. Returns the
        app hash, which the caller checks against the next header / the chain state.
        """
        result = self.app.finalize_block(FinalizeBlock(block.header, block.txs, block.evidence))
        with self.db.atomic():
            self.app.commit()
        return result.app_hash

    def _execute(self, state: ChainState, block: Block, commit: Commit) -> AppliedBlock:
        result = self.app.finalize_block(FinalizeBlock(block.header, block.txs, block.evidence))
        if len(result.tx_results) != len(block.txs):
            raise StoreError("app returned a result count that differs from the tx count")
        encoded = _encoded_results(result)  # once: for the results hash and the store
        new_state = state.advanced(
            height=block.header.height,
            block_hash=block.hash(),
            time_ns=block.header.time_ns,
            app_hash=result.app_hash,
            results_hash=merkle_root(encoded),
            next_validators=_apply_updates(state.next_validators, result),
        )
        with self.db.atomic():
            self.app.commit()
            self.store.save_block(
                block, commit, result.tx_results, new_state, encoded_results=encoded
            )
        return AppliedBlock(block, commit, result, new_state)


def _apply_updates(vals: ValidatorSet, result: FinalizeBlockResult) -> ValidatorSet:
    if not result.validator_updates:
        return vals
    by_key = {v.public_key: v for v in vals.validators}
    for u in result.validator_updates:
        if u.power == 0:
            by_key.pop(u.public_key, None)
        else:
            by_key[u.public_key] = Validator(u.public_key, u.power)
    if not by_key:
        raise InvalidBlock("validator updates would empty the validator set")
    return ValidatorSet.of(list(by_key.values()))
