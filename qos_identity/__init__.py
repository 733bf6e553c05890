"""qos_identity: did:qos identities on the QOS chain (issue 4); credentials follow (issue 5).

Owns: Multikey keys and ``did:key`` (``multikey``, ``didkey``), W3C DID Core documents and
their limits (``document``), the did:qos method — self-certifying ids, signed operations,
recovery commitments, patches, identifier commitments (``method``), the state layout
(``state``), the ``IdentityModule`` plugged into ``qos_app``'s router (``module``), DID
resolution over any key/value reader (``resolver``) and pure builders that sign
operations from seeds (``client``). Errors and codes 100-199: ``errors``.
Spec: ``docs/did-qos.md``; how-to: ``docs/identity.md``.

May import qos_app, qos_chain (and qos_ipfs). Must not import qos_wallet, qos_node,
qos_api, qos_p2p or libp2p. Deterministic: block time from the header, no floats, no set
iteration order, no I/O in the state machine.
"""
