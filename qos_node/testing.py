"""A real single-validator node on a manual clock, for tests (no fakes: real SQLite,
real app, real signer). Used by API, CLI and chain integration tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qos_app.app import QosApp
from qos_app.bank import MSG_SEND, MsgSend
from qos_app.tx import Fee, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.address import Address, address_from_public_key
from qos_chain.execution import AppliedBlock
from qos_chain.node import ChainNode
from qos_chain.sign import public_key_of
from qos_node.config import ConsensusConfig, Home, NodeConfig
from qos_node.init import init_home
from qos_node.wiring import NodeBundle, build_node

FAUCET_SEED = bytes(range(32))
FAUCET_FUNDS = 10**12
GENESIS_TIME_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def make_transfer(
    chain_id: str,
    seed: bytes,
    to: bytes,
    amount: int,
    nonce: int,
    *,
    fee: int = 0,
    fee_payer_seed: bytes | None = None,
    memo: str = "",
) -> bytes:
    pk = public_key_of(seed)
    payer = (
        None if fee_payer_seed is None else address_from_public_key(public_key_of(fee_payer_seed))
    )
    body = TxBody(
        chain_id=chain_id,
        sender=address_from_public_key(pk),
        nonce=nonce,
        msgs=(TypedMsg(MSG_SEND, codec.encode(MsgSend(to, amount))),),
        fee=Fee(fee, payer),
        memo=memo,
        timeout_height=None,
    )
    signers = [(pk, seed)]
    if fee_payer_seed is not None:
        signers.append((public_key_of(fee_payer_seed), fee_payer_seed))
    return codec.encode(sign_tx(body, *signers))


@dataclass
class TestNode:
    bundle: NodeBundle
    clock_ns: int
    faucet_seed: bytes = FAUCET_SEED
    _nonce: int = field(default=0)

    __test__ = False  # not a pytest test class

    @property
    def node(self) -> ChainNode:
        return self.bundle.node

    @property
    def app(self) -> QosApp:
        return self.bundle.app

    @property
    def db_path(self) -> Path:
        return self.bundle.home.db_path

    @property
    def chain_id(self) -> str:
        return self.bundle.genesis.chain_id

    @property
    def faucet_pk(self) -> bytes:
        return public_key_of(self.faucet_seed)

    @property
    def faucet_address(self) -> Address:
        return address_from_public_key(self.faucet_pk)

    def now(self) -> int:
        return self.clock_ns

    def advance(self, seconds: float) -> None:
        self.clock_ns += int(seconds * 1e9)

    def produce(self) -> AppliedBlock:
        """Advance the clock past the idle interval and step until one block commits."""
        produced: list[AppliedBlock] = []
        self.node.add_listener(produced.append)
        try:
            self.advance(self.bundle.config.consensus.block_interval)
            self.node.step(self.clock_ns)
        finally:
            self.node.remove_listener(produced.append)
        if len(produced) != 1:
            raise AssertionError(f"expected one block, got {len(produced)}")
        return produced[0]

    def transfer(self, to: bytes, amount: int, nonce: int | None = None, fee: int = 0) -> bytes:
        n = self._nonce if nonce is None else nonce
        if nonce is None:
            self._nonce += 1
        return make_transfer(self.chain_id, self.faucet_seed, to, amount, n, fee=fee)


def make_test_node(tmp_path: Path, *, config: NodeConfig | None = None) -> TestNode:
    cfg = config or NodeConfig(
        consensus=ConsensusConfig(block_interval=3.0, min_block_interval=0.0)
    )
    root = tmp_path / "home"
    faucet = address_from_public_key(public_key_of(FAUCET_SEED))
    init_home(
        root,
        chain_id="qos-test",
        config=cfg,
        balances={faucet: FAUCET_FUNDS},
        genesis_time_ns=GENESIS_TIME_NS,
    )
    start = GENESIS_TIME_NS + 10**9
    bundle = build_node(Home(root), start, cfg)
    return TestNode(bundle, start)
