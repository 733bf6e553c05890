"""Consensus: block-production state machines (sans-I/O: events in, effects out).

``engine.TendermintEngine`` is the BFT algorithm of "The latest gossip on BFT consensus"
(Buchman, Kwon, Milosevic 2018) with ``votes`` (vote sets, evidence, commits), ``proposer``
(CometBFT's weighted round-robin) and ``timeouts``; its events and effects are in
``messages``. ``solo.SoloEngine`` is the single-validator path the node uses until the
network driver (issue 3) wires the Tendermint engine in. Neither holds a clock, socket or
randomness; see ``docs/consensus.md``.
"""
