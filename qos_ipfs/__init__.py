"""qos_ipfs: content addressing (issue 6).

Placeholder until that issue lands: CIDs (the only importer of the multiformats library),
the Kubo-identical UnixFS importer/exporter, blockstore, CARv1, the Kubo RPC client.
Must not import qos_chain internals beyond types, qos_api, qos_node or libp2p.
"""
