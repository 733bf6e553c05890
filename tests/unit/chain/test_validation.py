"""Tests for qos_chain.validation: validate_block refuses every tampering, verify_commit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from qos_chain.errors import InvalidBlock
from qos_chain.state import ChainState
from qos_chain.types import Block, Commit, CommitFlag, CommitSig, Validator, ValidatorSet
from qos_chain.validation import commit_sign_bytes, validate_block, verify_commit
from qos_node.testing import make_test_node

BOB = b"\xb0" * 20


@dataclass(frozen=True)
class Chain:
    chain_id: str
    s0: ChainState  # genesis state (extended by b1)
    s1: ChainState  # state after b1 (extended by b2)
    b1: Block
    b2: Block
    c2: Commit  # commit of b2
    key: SigningKey  # the single validator's key


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    t = make_test_node(tmp_path_factory.mktemp("validation"))
    s0 = t.node.state
    t.node.submit_tx(t.transfer(BOB, 5), t.now())
    t.produce()
    s1 = t.node.state
    t.node.submit_tx(t.transfer(BOB, 6), t.now())
    t.produce()
    store = t.bundle.store
    b1, b2, c2 = store.block(1), store.block(2), store.commit(2)
    assert b1 is not None
    assert b2 is not None
    assert c2 is not None
    key_data = json.loads(Path(t.bundle.home.validator_key).read_text())
    key = SigningKey(bytes.fromhex(key_data["private_key"]))
    t.bundle.db.close()
    return Chain(t.chain_id, s0, s1, b1, b2, c2, key)


def header(block: Block, **changes: Any) -> Block:
    return replace(block, header=replace(block.header, **changes))


def with_last_commit(block: Block, commit: Commit) -> Block:
    """Swap the last commit and keep the header's last_commit_hash consistent."""
    return replace(
        block, last_commit=commit, header=replace(block.header, last_commit_hash=commit.hash())
    )


def test_valid_chain_passes(chain: Chain) -> None:
    validate_block(chain.s0, chain.b1)
    validate_block(chain.s1, chain.b2)
    verify_commit(chain.chain_id, chain.s1.validators, chain.c2, chain.b2.hash(), 2)
    assert len(chain.b2.txs) == 1
    assert chain.b2.last_commit is not None


def _flip(sig: bytes) -> bytes:
    return bytes([sig[0] ^ 1]) + sig[1:]


Tamper = Callable[[Chain], tuple[ChainState, Block]]

TAMPERINGS: dict[str, tuple[Tamper, str]] = {
    "chain_id": (lambda c: (c.s1, header(c.b2, chain_id="other")), "wrong chain id"),
    "height_ahead": (lambda c: (c.s1, header(c.b2, height=3)), "height 3, expected 2"),
    "height_behind": (lambda c: (c.s1, header(c.b2, height=1)), "height 1, expected 2"),
    "parent_hash": (lambda c: (c.s1, header(c.b2, parent_hash=b"\x00" * 32)), "parent hash"),
    "time_equal": (
        lambda c: (c.s1, header(c.b2, time_ns=c.s1.last_block_time_ns)),
        "block time does not increase",
    ),
    "time_earlier": (
        lambda c: (c.s1, header(c.b2, time_ns=c.s1.last_block_time_ns - 1)),
        "block time does not increase",
    ),
    "app_hash": (lambda c: (c.s1, header(c.b2, app_hash=b"\x01" * 32)), "app hash"),
    "results_hash": (
        lambda c: (c.s1, header(c.b2, last_results_hash=b"\x01" * 32)),
        "last results hash mismatch",
    ),
    "validators_hash": (
        lambda c: (c.s1, header(c.b2, validators_hash=b"\x01" * 32)),
        "^validators hash mismatch",
    ),
    "next_validators_hash": (
        lambda c: (c.s1, header(c.b2, next_validators_hash=b"\x01" * 32)),
        "next validators hash mismatch",
    ),
    "proposer": (
        lambda c: (c.s1, header(c.b2, proposer=b"\x01" * 20)),
        "proposer is not a validator",
    ),
    "tx_added": (lambda c: (c.s1, replace(c.b2, txs=(*c.b2.txs, b"extra"))), "tx root mismatch"),
    "tx_removed": (lambda c: (c.s1, replace(c.b2, txs=())), "tx root mismatch"),
    "tx_root": (lambda c: (c.s1, header(c.b2, tx_root=b"\x01" * 32)), "tx root mismatch"),
    "evidence": (
        lambda c: (c.s1, replace(c.b2, evidence=(b"ev",))),
        "evidence root mismatch",
    ),
    "too_many_txs": (lambda c: (replace(c.s1, block_max_txs=0), c.b2), "too many txs"),
    "too_many_bytes": (
        lambda c: (replace(c.s1, block_max_bytes=100), c.b2),
        "block exceeds max bytes",
    ),
    "missing_last_commit": (
        lambda c: (c.s1, replace(c.b2, last_commit=None)),
        "missing last commit",
    ),
    "extra_last_commit_on_first_block": (
        lambda c: (c.s0, replace(c.b1, last_commit=c.c2)),
        "first block must not carry a last commit",
    ),
    "last_commit_hash_on_first_block": (
        lambda c: (c.s0, header(c.b1, last_commit_hash=b"\x01" * 32)),
        "first block must not carry a last commit",
    ),
    "last_commit_hash": (
        lambda c: (c.s1, header(c.b2, last_commit_hash=b"\x01" * 32)),
        "last commit hash mismatch",
    ),
    "bad_commit_signature": (
        lambda c: (c.s1, with_last_commit(c.b2, _tamper_sig(c.b2, _flip))),
        "does not verify",
    ),
    "commit_too_little_power": (
        lambda c: (c.s1, with_last_commit(c.b2, _absent(c.b2))),
        "commit has 0 power",
    ),
    "commit_for_other_block": (
        lambda c: (c.s1, with_last_commit(c.b2, replace(_lc(c.b2), block_hash=b"\x02" * 32))),
        "different block",
    ),
    "commit_for_other_height": (
        lambda c: (c.s1, with_last_commit(c.b2, replace(_lc(c.b2), height=2))),
        "commit is for height 2, expected 1",
    ),
}


def _lc(block: Block) -> Commit:
    assert block.last_commit is not None
    return block.last_commit


def _tamper_sig(block: Block, f: Callable[[bytes], bytes]) -> Commit:
    lc = _lc(block)
    s = lc.signatures[0]
    return replace(lc, signatures=(replace(s, signature=f(s.signature)),))


def _absent(block: Block) -> Commit:
    return replace(_lc(block), signatures=(CommitSig(CommitFlag.ABSENT, b"", 0, b""),))


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_validate_block_refuses_tampering(chain: Chain, name: str) -> None:
    tamper, message = TAMPERINGS[name]
    state, block = tamper(chain)
    with pytest.raises(InvalidBlock, match=message) as exc:
        validate_block(state, block)
    assert exc.value.code == "invalid_block"


# --------------------------------------------------------------------------- verify_commit


def test_verify_commit_refuses_wrong_height(chain: Chain) -> None:
    with pytest.raises(InvalidBlock, match="commit is for height 2, expected 3"):
        verify_commit(chain.chain_id, chain.s1.validators, chain.c2, chain.b2.hash(), 3)


def test_verify_commit_refuses_wrong_block_hash(chain: Chain) -> None:
    with pytest.raises(InvalidBlock, match="different block"):
        verify_commit(chain.chain_id, chain.s1.validators, chain.c2, b"\x03" * 32, 2)


def test_verify_commit_refuses_wrong_chain_id(chain: Chain) -> None:
    with pytest.raises(InvalidBlock, match="does not verify"):
        verify_commit("other-chain", chain.s1.validators, chain.c2, chain.b2.hash(), 2)


@pytest.mark.parametrize("extra", [0, 2])
def test_verify_commit_refuses_signature_count(chain: Chain, extra: int) -> None:
    absent = CommitSig(CommitFlag.ABSENT, b"", 0, b"")
    sigs = (*chain.c2.signatures, *([absent] * (extra - 1))) if extra else ()
    bad = replace(chain.c2, signatures=sigs)
    with pytest.raises(InvalidBlock, match="signature count"):
        verify_commit(chain.chain_id, chain.s1.validators, bad, chain.b2.hash(), 2)


def test_verify_commit_refuses_wrong_validator(chain: Chain) -> None:
    s = chain.c2.signatures[0]
    bad = replace(chain.c2, signatures=(replace(s, validator=b"\x05" * 20),))
    with pytest.raises(InvalidBlock, match="wrong validator"):
        verify_commit(chain.chain_id, chain.s1.validators, bad, chain.b2.hash(), 2)


def test_verify_commit_refuses_bad_signature(chain: Chain) -> None:
    s = chain.c2.signatures[0]
    for sig in (_flip(s.signature), b"", b"\x00" * 64):
        bad = replace(chain.c2, signatures=(replace(s, signature=sig),))
        with pytest.raises(InvalidBlock, match="does not verify"):
            verify_commit(chain.chain_id, chain.s1.validators, bad, chain.b2.hash(), 2)


def test_verify_commit_refuses_signature_over_other_time(chain: Chain) -> None:
    s = chain.c2.signatures[0]
    bad = replace(chain.c2, signatures=(replace(s, time_ns=s.time_ns + 1),))
    with pytest.raises(InvalidBlock, match="does not verify"):
        verify_commit(chain.chain_id, chain.s1.validators, bad, chain.b2.hash(), 2)


def test_verify_commit_refuses_absent_sig_carrying_data(chain: Chain) -> None:
    s = chain.c2.signatures[0]
    bad = replace(chain.c2, signatures=(replace(s, flag=CommitFlag.ABSENT),))
    with pytest.raises(InvalidBlock, match="absent commit sig 0 carries data"):
        verify_commit(chain.chain_id, chain.s1.validators, bad, chain.b2.hash(), 2)


def test_verify_commit_nil_vote_counts_no_power(chain: Chain) -> None:
    s = chain.c2.signatures[0]
    nil = replace(chain.c2, signatures=(replace(s, flag=CommitFlag.NIL, signature=b""),))
    signature = chain.key.sign(commit_sign_bytes(chain.chain_id, nil, 0)).signature
    nil = replace(nil, signatures=(replace(nil.signatures[0], signature=signature),))
    with pytest.raises(InvalidBlock, match="commit has 0 power"):
        verify_commit(chain.chain_id, chain.s1.validators, nil, chain.b2.hash(), 2)


# --------------------------------------------------------------------------- quorum


def _multi_commit(n: int, signing: set[int]) -> tuple[ValidatorSet, Commit]:
    keys = [SigningKey(bytes([i + 1]) * 32) for i in range(n)]
    vals = ValidatorSet.of([Validator(bytes(k.verify_key), 10) for k in keys])
    by_addr: dict[bytes, SigningKey] = {Validator(bytes(k.verify_key), 10).address: k for k in keys}
    bh = b"\x0b" * 32
    unsigned = Commit(
        7,
        0,
        bh,
        tuple(
            CommitSig(CommitFlag.COMMIT, v.address, 99, b"")
            if i in signing
            else CommitSig(CommitFlag.ABSENT, b"", 0, b"")
            for i, v in enumerate(vals.validators)
        ),
    )
    sigs = tuple(
        replace(
            s,
            signature=by_addr[s.validator].sign(commit_sign_bytes("multi", unsigned, i)).signature,
        )
        if s.flag == CommitFlag.COMMIT
        else s
        for i, s in enumerate(unsigned.signatures)
    )
    return vals, replace(unsigned, signatures=sigs)


def test_quorum_is_more_than_two_thirds() -> None:
    vals, commit = _multi_commit(4, {0, 1, 3})
    assert vals.quorum() == 27
    verify_commit("multi", vals, commit, commit.block_hash, 7)


@pytest.mark.parametrize(("n", "signing"), [(4, {0, 2}), (3, {0, 1}), (4, set())])
def test_two_thirds_exactly_or_less_is_refused(n: int, signing: set[int]) -> None:
    vals, commit = _multi_commit(n, signing)
    with pytest.raises(InvalidBlock, match="power, needs"):
        verify_commit("multi", vals, commit, commit.block_hash, 7)


def test_commit_sigs_out_of_validator_order_are_refused() -> None:
    vals, commit = _multi_commit(4, {0, 1, 2, 3})
    swapped = replace(commit, signatures=tuple(reversed(commit.signatures)))
    with pytest.raises(InvalidBlock, match="wrong validator"):
        verify_commit("multi", vals, swapped, commit.block_hash, 7)
