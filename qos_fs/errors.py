"""Error tree and numeric codes of qos_fs (codes 300-399).

QosError (qos_chain.errors)
  AppError / TxFailed (qos_app.errors)
    FsError                    root of on-chain pin errors; ``code`` is the stable name
      PinInvalid               pin_invalid, pin_invalid_cid, pin_metadata_too_large:
                               stateless problems of a message (refused in CheckTx)
      PinRefused               stateful refusals: pin_unauthorized, pin_owner_not_found,
                               pin_bad_nonce (replay or out of order), pin_exists,
                               pin_not_found, pin_expired, snapshot_exists
  FileServiceError             root of the node-local file service (never on chain)
    UploadTooLarge             an upload exceeded the configured size limit
    LocalPinNotFound           no local pin request with that id for that owner
    TokenError                 a bearer token is missing, unknown or revoked
    MalformedUpload            a multipart body cannot be parsed
"""

from __future__ import annotations

from qos_app.errors import TxFailed
from qos_chain.errors import QosError

_CODES: dict[str, int] = {
    "pin_invalid": 300,
    "pin_unauthorized": 301,
    "pin_owner_not_found": 302,
    "pin_bad_nonce": 303,
    "pin_metadata_too_large": 304,
    "pin_invalid_cid": 305,
    "pin_exists": 306,
    "pin_not_found": 307,
    "pin_expired": 308,
    "snapshot_exists": 309,
}


def fs_codes() -> dict[str, int]:
    """Code name -> number (300-399) for ``qos_app.errors.CODES``."""
    return dict(_CODES)


class FsError(TxFailed):
    code = "pin_invalid"


class PinInvalid(FsError):
    code = "pin_invalid"


class PinRefused(FsError):
    code = "pin_unauthorized"


class FileServiceError(QosError):
    code = "file_service_error"


class UploadTooLarge(FileServiceError):
    code = "upload_too_large"


class LocalPinNotFound(FileServiceError):
    code = "pin_not_found"


class TokenError(FileServiceError):
    code = "unauthorized"


class MalformedUpload(FileServiceError):
    code = "malformed_upload"
