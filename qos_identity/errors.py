"""Error tree and numeric codes of the identity application.

IdentityError(TxFailed)          root; ``code`` is the stable name (see ``identity_codes``)
  InvalidDid                     invalid_did: not ``did:qos:<id>`` / ``did:key:<multikey>``
  MultikeyError                  invalid_public_key: a Multikey string does not decode
  InvalidDocument                invalid_document and its specific codes: duplicate_key_id,
                                 duplicate_service_id, unknown_method_type, invalid_public_key,
                                 invalid_relationship, invalid_service, too_many_keys,
                                 too_many_services, too_many_controllers, too_many_aliases,
                                 document_too_large
  InvalidOperation               invalid_operation (malformed patch, bad batch), batch_too_large,
                                 invalid_commitment
  OperationRefused               stateful refusals: not_found, already_exists, deactivated,
                                 unauthorized, stale_version, invalid_recovery_key

Every error is an ``qos_app.errors.AppError`` (a ``TxFailed``), so the router turns it into
a failed ``TxResult`` whose number is ``identity_codes()[code]`` once the lead merges the
table into ``qos_app.errors.CODES``. Stateless checks raised from ``IdentityModule.validate``
use the same classes: they are refused at ``check_tx`` before any state is touched.
"""

from __future__ import annotations

from qos_app.errors import TxFailed

_CODES: dict[str, int] = {
    "invalid_did": 100,
    "not_found": 101,
    "already_exists": 102,
    "deactivated": 103,
    "unauthorized": 104,
    "stale_version": 105,
    "invalid_document": 106,
    "duplicate_key_id": 107,
    "unknown_method_type": 108,
    "too_many_keys": 109,
    "too_many_services": 110,
    "document_too_large": 111,
    "invalid_recovery_key": 112,
    "invalid_operation": 113,
    "invalid_public_key": 114,
    "too_many_controllers": 115,
    "too_many_aliases": 116,
    "batch_too_large": 117,
    "invalid_commitment": 118,
    "duplicate_service_id": 119,
    "invalid_relationship": 120,
    "invalid_service": 121,
}


def identity_codes() -> dict[str, int]:
    """Code name -> number (100-199) for ``qos_app.errors.CODES``."""
    return dict(_CODES)


class IdentityError(TxFailed):
    code = "invalid_operation"


class InvalidDid(IdentityError):
    code = "invalid_did"


class MultikeyError(IdentityError):
    code = "invalid_public_key"


class InvalidDocument(IdentityError):
    code = "invalid_document"


class InvalidOperation(IdentityError):
    code = "invalid_operation"


class OperationRefused(IdentityError):
    code = "unauthorized"
