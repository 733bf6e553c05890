"""qos_chain: the app-agnostic BFT replication engine of the QOS basic chain.

Owns: chain value types (header, block, vote, proposal, commit, validator set), the one
canonical binary encoding and sign bytes, Merkle roots, addresses, the application boundary
(ABCI-shaped ``Application`` protocol), the mempool, block validation/execution, the SQLite
block and state stores, the validator signer and the single-writer ``ChainNode``.

Must not import: any QOS application or adapter package (qos_app, qos_identity, qos_fs,
qos_ipfs, qos_p2p, qos_api, qos_node), nor libp2p/trio/strawberry/starlette/httpx. As
CometBFT never imports the Cosmos SDK, the chain drives any deterministic app through
``qos_chain.abci``.
"""
