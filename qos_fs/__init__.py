"""qos_fs: documents, pins and business-chain snapshots (issue 6).

Placeholder until that issue lands: it will own file/pin metadata, the pin service and
on-chain pin records. Must not import qos_node, qos_api, qos_p2p or libp2p.
"""
