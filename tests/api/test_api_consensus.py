"""validators, consensusState, peers and evidence through GraphQL (a real solo node)."""

from __future__ import annotations

import json

import httpx
import pytest
from api_helpers import data
from nacl.signing import SigningKey

from qos_chain import codec
from qos_chain.consensus.votes import DuplicateVoteEvidence
from qos_chain.sign import DOMAIN_VOTE, sign_bytes
from qos_chain.types import Vote, VoteType, canonical_vote
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio


async def test_validators_and_consensus_state(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tnode.produce()
    out = await data(
        client,
        "{ status { height validatorAddress } validators { address publicKey votingPower }"
        " consensusState { height round step } peers { peerId } }",
    )
    assert out["validators"] == [
        {
            "address": out["status"]["validatorAddress"],
            "publicKey": tnode.node.privval.public_key.hex(),
            "votingPower": 10,
        }
    ]
    assert out["consensusState"] == {
        "height": out["status"]["height"] + 1,
        "round": 0,
        "step": "solo",
    }
    assert out["peers"] == []  # no network attached to this port


def _equivocation(tnode: TestNode, height: int) -> bytes:
    key_file = tnode.bundle.home.validator_key
    key = SigningKey(bytes.fromhex(json.loads(key_file.read_text())["private_key"]))
    addr = tnode.node.privval.address
    votes = []
    for block_hash in (b"\x01" * 32, b"\x02" * 32):
        v = Vote(VoteType.PREVOTE, height, 0, block_hash, 1, addr, 0, b"")
        sig = key.sign(sign_bytes(DOMAIN_VOTE, tnode.chain_id, canonical_vote(v))).signature
        votes.append(Vote(v.type, v.height, v.round, v.block_hash, v.time_ns, addr, 0, sig))
    return codec.encode(DuplicateVoteEvidence(votes[0], votes[1]))


async def test_committed_evidence_is_queryable(client: httpx.AsyncClient, tnode: TestNode) -> None:
    raw = _equivocation(tnode, 1)
    tnode.node.pending_evidence.append(raw)
    applied = tnode.produce()
    assert applied.block.evidence == (raw,)  # included in the block...
    assert tnode.node.pending_evidence == []  # ...and taken out of the pool
    out = await data(
        client,
        "{ evidence { includedAt validator height round voteType blockHashA blockHashB raw } }",
    )
    (ev,) = out["evidence"]
    assert ev["includedAt"] == applied.block.header.height
    assert ev["height"] == 1
    assert ev["voteType"] == "prevote"
    assert {ev["blockHashA"], ev["blockHashB"]} == {"01" * 32, "02" * 32}
    assert ev["raw"] == raw.hex()
    bad = await client.post("/graphql", json={"query": "{ evidence(first: 101) { height } }"})
    assert "errors" in bad.json()
