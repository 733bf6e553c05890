"""qos_app: the basic chain application (deterministic state machine behind the ABCI).

Owns: the signed transaction envelope (chain id, sender, nonce, typed messages, optional
fee payer, signatures, size limit), accounts and nonces (auth), the ``bank`` module
(balances, transfers, fees), the message router that later modules (identity, credentials,
pins) plug into, the Merkle-committed key/value state and genesis.

Must not import: qos_node, qos_api, qos_p2p, libp2p, trio, network or clock. Every
transition is a pure function of (state, block header, txs): block time comes from the
header, no floats, no set iteration order.
"""
