"""ChainState: what the engine knows after committing a block (CometBFT's ``State``).

It is derived from genesis plus committed blocks and is stored in the same atomic write as
each block, so a restart resumes exactly at the last committed height.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from qos_chain import codec
from qos_chain.codec import SInt
from qos_chain.consensus.proposer import ProposerState
from qos_chain.genesis import Genesis
from qos_chain.merkle import EMPTY_ROOT
from qos_chain.types import ValidatorSet


@codec.register(20)
@dataclass(frozen=True, slots=True)
class ChainState:
    chain_id: str
    initial_height: int
    last_block_height: int  # initial_height - 1 before the first block
    last_block_hash: bytes
    last_block_time_ns: int
    validators: ValidatorSet  # validators for the next block
    next_validators: ValidatorSet
    last_validators: ValidatorSet  # validators that signed last_block (its commit)
    app_hash: bytes  # app hash after last_block (goes into the next header)
    last_results_hash: bytes
    block_max_bytes: int
    block_max_txs: int
    proposer_priorities: tuple[SInt, ...]  # for ``validators`` at ``next_height``, round 0
    proposer_chosen: int | None

    @property
    def proposers(self) -> ProposerState:
        return ProposerState(
            self.next_height,
            self.validators,
            tuple(self.proposer_priorities),
            self.proposer_chosen,
        )

    @property
    def next_height(self) -> int:
        return self.last_block_height + 1

    @classmethod
    def from_genesis(cls, genesis: Genesis, app_hash: bytes) -> ChainState:
        vals = ValidatorSet.of(genesis.validators)
        prop = ProposerState.initial(vals, genesis.initial_height)
        return cls(
            chain_id=genesis.chain_id,
            initial_height=genesis.initial_height,
            last_block_height=genesis.initial_height - 1,
            last_block_hash=b"",
            last_block_time_ns=genesis.genesis_time_ns,
            validators=vals,
            next_validators=vals,
            last_validators=ValidatorSet(()),
            app_hash=app_hash,
            last_results_hash=EMPTY_ROOT,
            block_max_bytes=genesis.consensus.block_max_bytes,
            block_max_txs=genesis.consensus.block_max_txs,
            proposer_priorities=tuple(SInt(p) for p in prop.priorities),
            proposer_chosen=prop.chosen,
        )

    def advanced(
        self,
        *,
        height: int,
        block_hash: bytes,
        time_ns: int,
        app_hash: bytes,
        results_hash: bytes,
        next_validators: ValidatorSet,
    ) -> ChainState:
        prop = self.proposers.next_height(self.next_validators)  # validators of height + 1
        return replace(
            self,
            proposer_priorities=tuple(SInt(p) for p in prop.priorities),
            proposer_chosen=prop.chosen,
            last_block_height=height,
            last_block_hash=block_hash,
            last_block_time_ns=time_ns,
            last_validators=self.validators,
            validators=self.next_validators,
            next_validators=next_validators,
            app_hash=app_hash,
            last_results_hash=results_hash,
        )
