"""Error tree and numeric codes (200-299) of the credentials module.

CredentialError(TxFailed)        root; ``code`` is a stable name (``credential_codes``)
  InvalidCredential              invalid_credential, invalid_context, credential_too_large,
                                 invalid_status_entry, invalid_datetime
  InvalidSchema                  invalid_schema (not a JSON Schema of the supported subset)
  ProofError                     invalid_proof: a Data Integrity proof is malformed or fails
  EnvelopeError                  invalid_envelope: an encrypted delivery cannot be opened
  InvalidCredentialOp            invalid_credential_op: a malformed message (check_tx),
                                 too_many_status_changes
  CredentialOpRefused            stateful refusals: unauthorized_signer, issuer_not_found,
                                 issuer_deactivated, not_issuer, schema_exists,
                                 schema_not_found, schema_version_conflict,
                                 already_anchored, status_index_taken,
                                 status_index_unassigned, stale_status_sequence,
                                 credential_already_revoked

Names are distinct from the identity module's (``qos_identity.errors``) because
``qos_app.errors.register_codes`` keeps one global name -> number table.
"""

from __future__ import annotations

from qos_app.errors import TxFailed

_CODES: dict[str, int] = {
    "invalid_credential": 200,
    "invalid_context": 201,
    "credential_too_large": 202,
    "invalid_proof": 203,
    "invalid_schema": 204,
    "invalid_credential_op": 205,
    "unauthorized_signer": 206,
    "issuer_not_found": 207,
    "issuer_deactivated": 208,
    "not_issuer": 209,
    "schema_exists": 210,
    "schema_not_found": 211,
    "schema_version_conflict": 212,
    "already_anchored": 213,
    "status_index_taken": 214,
    "status_index_unassigned": 215,
    "stale_status_sequence": 216,
    "too_many_status_changes": 217,
    "invalid_envelope": 218,
    "invalid_status_entry": 219,
    "invalid_datetime": 220,
    "credential_already_revoked": 221,
}


def credential_codes() -> dict[str, int]:
    """Code name -> number (200-299), registered by ``QosApp`` through the module."""
    return dict(_CODES)


class CredentialError(TxFailed):
    code = "invalid_credential"


class InvalidCredential(CredentialError):
    code = "invalid_credential"


class InvalidSchema(CredentialError):
    code = "invalid_schema"


class ProofError(CredentialError):
    code = "invalid_proof"


class EnvelopeError(CredentialError):
    code = "invalid_envelope"


class InvalidCredentialOp(CredentialError):
    code = "invalid_credential_op"


class CredentialOpRefused(CredentialError):
    code = "unauthorized_signer"
