"""qos_identity: did:qos identities and credential attestations (issues 4 and 5).

Placeholder until those issues land: it will own the DID and credential modules plugged
into ``qos_app``'s router. Must not import qos_node, qos_api, qos_p2p or libp2p.
"""
