"""qos_identity.credentials: W3C Verifiable Credentials anchored on the QOS chain (issue 5).

Owns: RFC 8785 canonical JSON (``jcs``), Data Integrity proofs with the
``eddsa-jcs-2022`` cryptosuite (``di``), the VC Data Model 2.0 subset QOS accepts
(``model``), a documented JSON Schema subset (``schema``), the credential messages and
their signatures (``ops``), the state layout and status bitstrings (``state``), the
``CredentialModule`` plugged into ``qos_app`` (``module``), the read side for the API
(``reader``), Bitstring Status List credentials (``status_list``), encrypted delivery to
a subject's keyAgreement key (``crypto_box``), issuer keys at a past height (``keys``),
verification reports (``verify``) and pure builders (``client``). Errors and codes
200-299: ``errors``; codec tags 250-263. Guide: ``docs/credentials.md``.

May import qos_identity (its documents, state and resolver), qos_app and qos_chain. Must
not import qos_wallet, qos_node, qos_api, qos_p2p or libp2p. The state machine
(``module``) is deterministic: block time from the header, no I/O, no set iteration order.
"""
