"""Build the golden codec / sign-bytes vectors in ``codec.json`` (next to this script).

Run ``PYTHONPATH=. .venv/bin/python tests/vectors/make_codec_vectors.py`` (from the
repository root) only when the encoding is
meant to change: the committed JSON is what ``tests/unit/chain/test_codec_vectors.py``
holds the codec to, so a diff in it is a consensus-breaking change to review.

Every value is fixed (no randomness, no clock); keys come from fixed ed25519 seeds, and
ed25519 signatures are deterministic, so re-running reproduces the file byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from qos_chain import codec, sign
from qos_chain.types import (
    Block,
    CanonicalProposal,
    Commit,
    CommitFlag,
    CommitSig,
    Event,
    EventAttribute,
    Header,
    Proposal,
    TxResult,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    canonical_vote,
)

OUT = Path(__file__).with_name("codec.json")

CHAIN_ID = "qos-test-1"
SEEDS = [bytes([i + 1]) * 32 for i in range(3)]
KEYS = [sign.public_key_of(seed) for seed in SEEDS]
T0 = 1_700_000_000_000_000_000  # ns


def h(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def values() -> list[tuple[str, object]]:
    """The fixed example values, in file order: (name, value)."""
    vals = [Validator(KEYS[0], 10), Validator(KEYS[1], 2**64 - 1), Validator(KEYS[2], 1)]
    vset = ValidatorSet.of(vals)
    header1 = Header(
        chain_id=CHAIN_ID,
        height=1,
        time_ns=T0,
        proposer=bytes(vset.validators[0].address),
        parent_hash=b"",
        last_commit_hash=b"",
        tx_root=h("tx_root"),
        evidence_root=h("evidence_root"),
        validators_hash=vset.hash(),
        next_validators_hash=vset.hash(),
        app_hash=b"",
        last_results_hash=b"",
    )
    sig_commit = CommitSig(CommitFlag.COMMIT, bytes(vals[0].address), T0 + 1, b"\x11" * 64)
    sig_nil = CommitSig(CommitFlag.NIL, bytes(vals[1].address), T0 + 2, b"\x22" * 64)
    sig_absent = CommitSig(CommitFlag.ABSENT, b"", 0, b"")
    commit = Commit(1, 0, header1.hash(), (sig_commit, sig_nil, sig_absent))
    header2 = Header(
        chain_id=CHAIN_ID,
        height=2,
        time_ns=T0 + 1_000_000_000,
        proposer=bytes(vset.validators[1].address),
        parent_hash=header1.hash(),
        last_commit_hash=commit.hash(),
        tx_root=h("tx_root/2"),
        evidence_root=h("evidence_root/2"),
        validators_hash=vset.hash(),
        next_validators_hash=vset.hash(),
        app_hash=h("app_hash/1"),
        last_results_hash=h("results/1"),
    )
    genesis_block = Block(header1, (), (), None)
    block = Block(header2, (b"tx-one", b"", bytes(range(200))), (b"evidence",), commit)
    vote = Vote(
        type=VoteType.PRECOMMIT,
        height=2,
        round=1,
        block_hash=block.hash(),
        time_ns=T0 + 3,
        validator=bytes(vals[0].address),
        validator_index=0,
        signature=b"\x33" * 64,
    )
    nil_prevote = Vote(VoteType.PREVOTE, 2, 0, b"", T0 + 4, bytes(vals[2].address), 2, b"")
    proposal = Proposal(2, 0, None, block.hash(), T0 + 5, b"\x44" * 64)
    proposal_pol = Proposal(2, 4, 3, block.hash(), T0 + 6, b"\x55" * 64)
    attr = EventAttribute("recipient", "qos1ünïcødé")
    event = Event("transfer", (attr, EventAttribute("amount", "100")))
    tx_ok = TxResult(0, "", "", 21_000, (event,))
    tx_failed = TxResult(5, "bank", "insufficient funds", 300, ())
    return [
        ("validator", vals[0]),
        ("validator_max_power", vals[1]),
        ("validator_set_empty", ValidatorSet(())),
        ("validator_set", vset),
        ("header_genesis", header1),
        ("header", header2),
        ("commit_sig_commit", sig_commit),
        ("commit_sig_absent", sig_absent),
        ("commit", commit),
        ("block_genesis", genesis_block),
        ("block", block),
        ("vote_precommit", vote),
        ("vote_nil_prevote", nil_prevote),
        ("canonical_vote", canonical_vote(vote)),
        ("canonical_vote_nil", canonical_vote(nil_prevote)),
        ("proposal", proposal),
        ("proposal_pol_round_3", proposal_pol),
        ("canonical_proposal", CanonicalProposal(2, 0, None, block.hash(), T0 + 5)),
        ("canonical_proposal_pol_round_3", CanonicalProposal(2, 4, 3, block.hash(), T0 + 6)),
        ("tx_result_ok", tx_ok),
        ("tx_result_failed", tx_failed),
        ("event", event),
        ("event_attribute", attr),
    ]


def signings() -> list[tuple[str, str, int, object]]:
    """(name, domain, signer seed index, object) for the sign-bytes vectors."""
    by_name = dict(values())
    return [
        ("vote", sign.DOMAIN_VOTE, 0, by_name["canonical_vote"]),
        ("vote_nil", sign.DOMAIN_VOTE, 2, by_name["canonical_vote_nil"]),
        ("proposal", sign.DOMAIN_PROPOSAL, 1, by_name["canonical_proposal"]),
        (
            "proposal_pol_round_3",
            sign.DOMAIN_PROPOSAL,
            1,
            by_name["canonical_proposal_pol_round_3"],
        ),
    ]


def build() -> dict[str, Any]:
    codec_vectors = []
    for name, value in values():
        raw = codec.encode(value)
        codec_vectors.append(
            {
                "name": name,
                "type": type(value).__name__,
                "hex": raw.hex(),
                "sha256": hashlib.sha256(raw).hexdigest(),
            }
        )
    sign_vectors = []
    for name, domain, signer, obj in signings():
        msg = sign.sign_bytes(domain, CHAIN_ID, obj)
        sign_vectors.append(
            {
                "name": name,
                "domain": domain,
                "chain_id": CHAIN_ID,
                "type": type(obj).__name__,
                "object_hex": codec.encode(obj).hex(),
                "sign_bytes_hex": msg.hex(),
                "seed_hex": SEEDS[signer].hex(),
                "public_key_hex": KEYS[signer].hex(),
                "signature_hex": sign.sign(SEEDS[signer], msg).hex(),
            }
        )
    return {
        "comment": "Generated by make_codec_vectors.py; a change here changes the protocol.",
        "codec": codec_vectors,
        "sign_bytes": sign_vectors,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=True) + "\n"


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
