"""Stateless and stateful block checks, and commit verification.

``validate_block`` checks a block against the :class:`ChainState` it extends (CometBFT's
``state/validation.go``); ``verify_commit`` checks that validators with more than 2/3 of
the voting power precommitted the block (signatures over ``sign_bytes`` of the canonical
vote, domain ``qos/vote/v1``).
"""

from __future__ import annotations

from qos_chain import codec
from qos_chain.errors import InvalidBlock
from qos_chain.merkle import merkle_root
from qos_chain.sign import DOMAIN_VOTE, is_valid, sign_bytes
from qos_chain.state import ChainState
from qos_chain.types import (
    Block,
    CanonicalVote,
    Commit,
    CommitFlag,
    ValidatorSet,
    VoteType,
)


def tx_root(txs: tuple[bytes, ...]) -> bytes:
    return merkle_root(list(txs))


def evidence_root(evidence: tuple[bytes, ...]) -> bytes:
    return merkle_root(list(evidence))


def commit_sign_bytes(chain_id: str, commit: Commit, index: int) -> bytes:
    sig = commit.signatures[index]
    block_hash = commit.block_hash if sig.flag == CommitFlag.COMMIT else b""
    vote = CanonicalVote(VoteType.PRECOMMIT, commit.height, commit.round, block_hash, sig.time_ns)
    return sign_bytes(DOMAIN_VOTE, chain_id, vote)


def verify_commit(
    chain_id: str, validators: ValidatorSet, commit: Commit, block_hash: bytes, height: int
) -> None:
    """Raise :class:`InvalidBlock` unless +2/3 of ``validators`` signed ``block_hash``."""
    if commit.height != height:
        raise InvalidBlock(f"commit is for height {commit.height}, expected {height}")
    if commit.block_hash != block_hash:
        raise InvalidBlock("commit is for a different block")
    if len(commit.signatures) != len(validators.validators):
        raise InvalidBlock("commit signature count differs from the validator set size")
    power = 0
    for i, (sig, val) in enumerate(zip(commit.signatures, validators.validators, strict=True)):
        if sig.flag == CommitFlag.ABSENT:
            if sig.signature or sig.validator:
                raise InvalidBlock(f"absent commit sig {i} carries data")
            continue
        if sig.validator != val.address:
            raise InvalidBlock(f"commit sig {i} is from the wrong validator")
        if not is_valid(val.public_key, commit_sign_bytes(chain_id, commit, i), sig.signature):
            raise InvalidBlock(f"commit sig {i} does not verify")
        if sig.flag == CommitFlag.COMMIT:
            power += val.power
    if power < validators.quorum():
        raise InvalidBlock(f"commit has {power} power, needs {validators.quorum()}")


def validate_block(state: ChainState, block: Block) -> None:
    """Check ``block`` extends ``state``; raise :class:`InvalidBlock` with the reason."""
    h = block.header
    if h.chain_id != state.chain_id:
        raise InvalidBlock(f"wrong chain id {h.chain_id!r}")
    if h.height != state.next_height:
        raise InvalidBlock(f"height {h.height}, expected {state.next_height}")
    if h.parent_hash != state.last_block_hash:
        raise InvalidBlock("parent hash does not match the last block")
    if h.height > state.initial_height and h.time_ns <= state.last_block_time_ns:
        raise InvalidBlock("block time does not increase")
    if h.app_hash != state.app_hash:
        raise InvalidBlock("app hash does not match the state after the last block")
    if h.last_results_hash != state.last_results_hash:
        raise InvalidBlock("last results hash mismatch")
    if h.validators_hash != state.validators.hash():
        raise InvalidBlock("validators hash mismatch")
    if h.next_validators_hash != state.next_validators.hash():
        raise InvalidBlock("next validators hash mismatch")
    if state.validators.index_of(h.proposer) is None:
        raise InvalidBlock("proposer is not a validator")
    if h.tx_root != tx_root(block.txs):
        raise InvalidBlock("tx root mismatch")
    if h.evidence_root != evidence_root(block.evidence):
        raise InvalidBlock("evidence root mismatch")
    if len(block.txs) > state.block_max_txs:
        raise InvalidBlock("too many txs")
    if len(codec.encode(block)) > state.block_max_bytes:
        raise InvalidBlock("block exceeds max bytes")
    if h.height == state.initial_height:
        if block.last_commit is not None or h.last_commit_hash != b"":
            raise InvalidBlock("first block must not carry a last commit")
    else:
        if block.last_commit is None:
            raise InvalidBlock("missing last commit")
        if h.last_commit_hash != block.last_commit.hash():
            raise InvalidBlock("last commit hash mismatch")
        verify_commit(
            state.chain_id,
            state.last_validators,
            block.last_commit,
            state.last_block_hash,
            state.last_block_height,
        )
