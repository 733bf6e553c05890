"""``qos vc``: W3C Verifiable Credentials anchored on chain, through a running node's API.

    qos vc schema register FILE --author DID --key NAME --name NAME [--version N]
    qos vc issue --issuer DID --key NAME --subject DID --claims JSON [--type T ...]
                 [--schema ID] [--valid-until T] [--envelope FILE] > cred.json
    qos vc anchor cred.json --key NAME [--delivery REF]
    qos vc open envelope.json --key NAME            (the subject decrypts a delivery)
    qos vc revoke | suspend | unsuspend ID|FILE ... --key NAME
    qos vc verify FILE [--presentation --challenge C --domain D]
    qos vc list [--subject DID] [--issuer DID] [--schema ID] [--type T] [--status S]

Credentials and operations are signed here with keys from ``qos keys`` (the DID's
``assertionMethod`` key: the method of the DID document holding that key, or
``--signer``); the node only sees signed operations, submitted with
``submitCredentialOperation`` from the signing key's account (fee 0), then the command
waits for the commit. ``issue --envelope`` also writes the credential encrypted to the
subject DID's X25519 ``keyAgreement`` key (``qos did create --key-agreement``), which
only ``qos vc open --key`` with that key opens. ``verify`` prints every check and exits 1
when one fails. Errors: one line ``Error: <message> [<code>]``, exit 1.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from qos_chain.address import address_to_text
from qos_chain.errors import QosError
from qos_identity.credentials import client as vcc
from qos_identity.credentials.crypto_box import (
    open_envelope,
    seal,
    x25519_private_from_ed25519_seed,
)
from qos_identity.credentials.jcs import NotJson, canonicalize, loads
from qos_identity.credentials.ops import CredentialOp, StatusAction
from qos_identity.document import document_from_json
from qos_node.cli import CliContext, cli
from qos_node.cli.chain import ACCOUNT_Q, STATUS_Q, _call
from qos_node.cli.did import _api_base, _current, _echo, _method_of, _unlock
from qos_node.cli.errors import CliError
from qos_wallet.keys import KeyPair

SUBMIT_VC_M = """mutation($tx: String!) { submitCredentialOperation(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
TX_EVENTS_Q = """query($h: String!) { transaction(hash: $h) {
  hash height success codeName log events { type attributes { key value } } } }"""
ISSUER_Q = """query($d: String!) { credentialIssuer(did: $d) {
  nextStatusIndex statusSequence anchored } }"""
CREDENTIAL_FIELDS = """id issuer subject schemaId types validFrom validUntil status statusIndex
  delivery height anchoredAt"""
CREDENTIAL_Q = f"""query($id: String!) {{ credential(id: $id) {{ {CREDENTIAL_FIELDS} }} }}"""
LIST_Q = f"""query($subject: String, $issuer: String, $schema: String, $type: String,
  $status: CredentialStatus, $first: Int, $after: String) {{
  credentials(subject: $subject, issuer: $issuer, schema: $schema, type: $type,
    status: $status, first: $first, after: $after) {{
    edges {{ node {{ {CREDENTIAL_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
VERIFY_Q = """query($c: JSON!) { verifyCredential(credential: $c) { report } }"""
VERIFY_VP_Q = """query($p: JSON!, $ch: String!, $d: String!) {
  verifyPresentation(presentation: $p, challenge: $ch, domain: $d) { report } }"""
RESOLVE_Q = """query($d: String!) { resolveDid(did: $d) {
  didDocument didResolutionMetadata { error errorMessage } } }"""
CRED_EVENTS = ("credential_schema", "credential_anchored", "credential_status")

_WAIT = click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for commit."
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_json(path: str, what: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}", "file_error") from exc
    try:
        return loads(raw)
    except NotJson as exc:
        raise CliError(f"{what} {path} is not JSON: {exc.message}", "invalid_json") from exc


def _write_json(value: object, path: str | None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if path is None:
        click.echo(text)
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


def _signer(obj: CliContext, did: str, key: KeyPair, name: str, signer: str | None) -> str:
    if signer is not None:
        return signer
    _, doc = _current(obj, did)
    return _method_of(did, doc, key, name)


def _submit(
    obj: CliContext, sender: KeyPair, ops: Sequence[CredentialOp], timeout: float
) -> dict[str, Any]:
    chain_id = _call(obj, STATUS_Q)["status"]["chainId"]
    acct = _call(obj, ACCOUNT_Q, {"a": address_to_text(sender.address)})["account"]
    if acct.get("__typename") == "InvalidInput":
        raise CliError(acct["message"], acct["code"])
    raw = vcc.wrap_in_tx(chain_id, sender.private_seed, int(acct["nonce"]), list(ops))
    res = _call(obj, SUBMIT_VC_M, {"tx": base64.b64encode(raw).decode()})
    res = res["submitCredentialOperation"]
    if res["__typename"] == "TransactionRejected":
        raise CliError(res["message"], res["code"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tx = _call(obj, TX_EVENTS_Q, {"h": res["hash"]})["transaction"]
        if tx is not None:
            if not tx["success"]:
                raise CliError(f"operation refused: {tx['log']}", tx["codeName"])
            events = [
                {"type": e["type"], **{a["key"]: a["value"] for a in e["attributes"]}}
                for e in tx["events"]
                if e["type"] in CRED_EVENTS
            ]
            return {"txHash": tx["hash"], "height": tx["height"], "events": events}
        time.sleep(0.2)  # poll interval while waiting for a block
    raise CliError(f"tx {res['hash']} not committed within {timeout}s", "timeout")


def _chain_id(obj: CliContext) -> str:
    return str(_call(obj, STATUS_Q)["status"]["chainId"])


@cli.group("vc")
def vc_group() -> None:
    """W3C Verifiable Credentials: schemas, issue, anchor, status, verify, list."""


@vc_group.group("schema")
def schema_group() -> None:
    """Credential schemas (JSON Schema, registered on chain)."""


@schema_group.command("register")
@click.argument("file")
@click.option("--author", required=True, help="The author DID.")
@click.option("--key", "key_name", required=True, help="An assertionMethod key of the author.")
@click.option("--name", required=True, help="Schema family name.")
@click.option("--version", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--signer", default=None, help="Signing method DID URL (default: found by key).")
@click.option("--cid", default="", help="Where the document lives off chain (optional).")
@click.option("--hash-only", is_flag=True, help="Register only the hash and --cid.")
@_WAIT
@click.pass_obj
def schema_register_cmd(
    obj: CliContext,
    file: str,
    author: str,
    key_name: str,
    name: str,
    version: int,
    signer: str | None,
    cid: str,
    hash_only: bool,
    timeout: float,
) -> None:
    """Register the JSON Schema in FILE; prints its id (urn:qos:schema:...)."""
    schema = _read_json(file, "schema")
    if not isinstance(schema, dict):
        raise CliError("a schema is a JSON object", "invalid_schema")
    key = _unlock(obj, key_name)
    method = _signer(obj, author, key, key_name, signer)
    try:
        sid, op = vcc.register_schema_op(
            _chain_id(obj),
            author,
            name,
            version,
            schema,
            seed=key.private_seed,
            signer=method,
            cid=cid,
            store_document=not hash_only,
        )
    except QosError as err:
        raise CliError.of(err) from err
    _echo({"schemaId": sid, **_submit(obj, key, [op], timeout)})


@vc_group.command("issue")
@click.option("--issuer", required=True, help="The issuer DID.")
@click.option("--key", "key_name", required=True, help="An assertionMethod key of the issuer.")
@click.option("--subject", required=True, help="The subject DID (credentialSubject.id).")
@click.option("--claims", required=True, help="credentialSubject claims: JSON, or @FILE.")
@click.option("--type", "types", multiple=True, help="Credential type (repeatable).")
@click.option("--schema", "schema_id", default=None, help="credentialSchema id.")
@click.option("--valid-from", default=None, help="XML dateTime (default: now).")
@click.option("--valid-until", default=None, help="XML dateTime (default: none).")
@click.option(
    "--status-index",
    type=click.IntRange(min=0),
    default=None,
    help="Status list index (default: the issuer's next one on chain).",
)
@click.option("--no-status", is_flag=True, help="Issue without credentialStatus.")
@click.option("--status-url", default=None, help="Base URL of the status lists (default: --api).")
@click.option("--id", "credential_id", default=None, help="Credential id (a URI).")
@click.option("--signer", default=None, help="Signing method DID URL (default: found by key).")
@click.option("--out", default=None, help="Write the credential here (default: stdout).")
@click.option(
    "--envelope", default=None, help="Also write it encrypted to the subject's keyAgreement key."
)
@click.pass_obj
def issue_cmd(
    obj: CliContext,
    issuer: str,
    key_name: str,
    subject: str,
    claims: str,
    types: tuple[str, ...],
    schema_id: str | None,
    valid_from: str | None,
    valid_until: str | None,
    status_index: int | None,
    no_status: bool,
    status_url: str | None,
    credential_id: str | None,
    signer: str | None,
    out: str | None,
    envelope: str | None,
) -> None:
    """Sign a credential (eddsa-jcs-2022 Data Integrity proof) about SUBJECT. Off chain:
    anchor it with `qos vc anchor`."""
    claim_obj = _read_json(claims[1:], "claims") if claims.startswith("@") else None
    if claim_obj is None:
        try:
            claim_obj = loads(claims)
        except NotJson as exc:
            raise CliError(f"--claims is not JSON: {exc.message}", "invalid_json") from exc
    if not isinstance(claim_obj, dict):
        raise CliError("--claims must be a JSON object", "invalid_json")
    key = _unlock(obj, key_name)
    method = _signer(obj, issuer, key, key_name, signer)
    if not no_status and status_index is None:
        status_index = int(
            _call(obj, ISSUER_Q, {"d": issuer})["credentialIssuer"]["nextStatusIndex"]
        )
    try:
        cred = vcc.build_credential(
            issuer,
            subject,
            claim_obj,
            types=types,
            valid_from=valid_from or _now(),
            valid_until=valid_until,
            schema_id=schema_id,
            status_index=None if no_status else status_index,
            status_base_url=status_url or _api_base(obj.api),
            credential_id=credential_id,
        )
        cred = vcc.issue(cred, key.private_seed, method, created=_now())
    except QosError as err:
        raise CliError.of(err) from err
    if envelope is not None:
        r = _call(obj, RESOLVE_Q, {"d": subject})["resolveDid"]
        code = r["didResolutionMetadata"]["error"]
        if code is not None:
            raise CliError(r["didResolutionMetadata"]["errorMessage"] or code, code)
        try:
            sealed = seal(cred, document_from_json(r["didDocument"]))
        except QosError as exc:
            raise CliError.of(exc) from exc
        _write_json(sealed, envelope)
    _write_json(cred, out)


@vc_group.command("open")
@click.argument("file")
@click.option(
    "--key", "key_name", required=True, help="The key given to `did create --key-agreement`."
)
@click.option("--out", default=None, help="Write the credential here (default: stdout).")
@click.pass_obj
def open_cmd(obj: CliContext, file: str, key_name: str, out: str | None) -> None:
    """Decrypt a delivered envelope with the X25519 key derived from --key."""
    env = _read_json(file, "envelope")
    key = _unlock(obj, key_name)
    try:
        cred = open_envelope(env, x25519_private_from_ed25519_seed(key.private_seed))
    except QosError as err:
        raise CliError.of(err) from err
    _write_json(cred, out)


@vc_group.command("anchor")
@click.argument("file")
@click.option("--key", "key_name", required=True, help="An assertionMethod key of the issuer.")
@click.option("--signer", default=None, help="Signing method DID URL (default: found by key).")
@click.option("--delivery", default="", help="Reference (CID/URL) of the encrypted copy.")
@_WAIT
@click.pass_obj
def anchor_cmd(
    obj: CliContext, file: str, key_name: str, signer: str | None, delivery: str, timeout: float
) -> None:
    """Anchor the secured credential in FILE (its digest, DIDs, schema, types, validity,
    status index: no personal data)."""
    cred = _read_json(file, "credential")
    if not isinstance(cred, dict):
        raise CliError("a credential is a JSON object", "invalid_credential")
    issuer = cred.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer, str):
        raise CliError("the credential has no issuer", "invalid_credential")
    key = _unlock(obj, key_name)
    method = _signer(obj, issuer, key, key_name, signer)
    try:
        op = vcc.anchor_op(_chain_id(obj), cred, key.private_seed, method, delivery=delivery)
    except QosError as err:
        raise CliError.of(err) from err
    except ValueError as err:
        raise CliError(str(err), "invalid_credential") from err
    _echo({"credentialId": op.digest.hex(), **_submit(obj, key, [op], timeout)})


def _locate(obj: CliContext, ref: str) -> tuple[str, int]:
    """(issuer, status index) of an anchored credential given by id or by file."""
    cid = ref.removeprefix("urn:qos:credential:")
    if len(cid) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in cid):
        cred = _read_json(ref, "credential")
        try:
            cid = hashlib.sha256(canonicalize(cred)).hexdigest()
        except NotJson as exc:
            raise CliError(f"{ref}: {exc.message}", "invalid_json") from exc
    found = _call(obj, CREDENTIAL_Q, {"id": cid})["credential"]
    if found is None:
        raise CliError(f"credential {cid} is not anchored", "not_found")
    return str(found["issuer"]), int(found["statusIndex"])


def _change(
    obj: CliContext,
    action: StatusAction,
    refs: tuple[str, ...],
    indexes: tuple[int, ...],
    issuer: str | None,
    key_name: str,
    signer: str | None,
    timeout: float,
) -> None:
    targets = [_locate(obj, r) for r in refs]
    issuers = {i for i, _ in targets} | ({issuer} if issuer else set())
    if len(issuers) != 1:
        raise CliError(
            "give credentials of one issuer (or --issuer with --index)"
            if issuers
            else "give credential ids/files, or --issuer with --index",
            "usage_error",
        )
    (did,) = issuers
    if indexes and issuer is None:
        raise CliError("--index needs --issuer", "usage_error")
    all_indexes = sorted({i for _, i in targets} | set(indexes))
    key = _unlock(obj, key_name)
    method = _signer(obj, did, key, key_name, signer)
    seq = int(_call(obj, ISSUER_Q, {"d": did})["credentialIssuer"]["statusSequence"])
    try:
        op = vcc.change_status_op(
            _chain_id(obj), did, seq, action, all_indexes, seed=key.private_seed, signer=method
        )
    except QosError as err:
        raise CliError.of(err) from err
    report = _submit(obj, key, [op], timeout)
    _echo({"issuer": did, "action": action.label, "indexes": all_indexes, **report})


def _status_command(action: StatusAction, help_text: str) -> None:
    @vc_group.command(action.label, help=help_text)
    @click.argument("refs", nargs=-1)
    @click.option("--key", "key_name", required=True, help="A key of the issuer.")
    @click.option(
        "--index",
        "indexes",
        type=click.IntRange(min=0),
        multiple=True,
        help="A status index (repeatable; with --issuer).",
    )
    @click.option("--issuer", default=None, help="The issuer DID (with --index).")
    @click.option("--signer", default=None, help="Signing method DID URL (default: by key).")
    @_WAIT
    @click.pass_obj
    def cmd(
        obj: CliContext,
        refs: tuple[str, ...],
        key_name: str,
        indexes: tuple[int, ...],
        issuer: str | None,
        signer: str | None,
        timeout: float,
    ) -> None:
        _change(obj, action, refs, indexes, issuer, key_name, signer, timeout)


_status_command(
    StatusAction.REVOKE, "Revoke credentials (by id or file): final, one signed change."
)
_status_command(StatusAction.SUSPEND, "Suspend credentials (by id or file).")
_status_command(StatusAction.UNSUSPEND, "Lift the suspension of credentials (by id or file).")


@vc_group.command("verify")
@click.argument("file")
@click.option("--presentation", is_flag=True, help="FILE is a verifiable presentation.")
@click.option("--challenge", default=None, help="The challenge the holder signed.")
@click.option("--domain", default=None, help="The domain the holder signed for.")
@click.pass_obj
def verify_cmd(
    obj: CliContext, file: str, presentation: bool, challenge: str | None, domain: str | None
) -> None:
    """Verify FILE at the node (proof, issuer key at issuance, anchored, status, validity,
    schema); prints every check, exits 1 if one fails."""
    doc = _read_json(file, "presentation" if presentation else "credential")
    if presentation:
        if challenge is None or domain is None:
            raise CliError("--presentation needs --challenge and --domain", "usage_error")
        args = {"p": doc, "ch": challenge, "d": domain}
        report = _call(obj, VERIFY_VP_Q, args)["verifyPresentation"]["report"]
    else:
        report = _call(obj, VERIFY_Q, {"c": doc})["verifyCredential"]["report"]
    _echo(report)
    bad = [c for c in report["checks"] if c["outcome"] == "failed"]
    if bad:
        raise CliError(
            f"not verified: {bad[0]['check']}: {bad[0]['reason']}", "verification_failed"
        )


@vc_group.command("list")
@click.option("--subject", default=None, help="Subject DID.")
@click.option("--issuer", default=None, help="Issuer DID.")
@click.option("--schema", default=None, help="Schema id.")
@click.option("--type", "type_", default=None, help="Credential type.")
@click.option("--status", type=click.Choice(["active", "revoked", "suspended"]), default=None)
@click.option("--first", type=click.IntRange(0, 100), default=20, show_default=True)
@click.option("--after", default=None, help="endCursor of the previous page.")
@click.pass_obj
def list_cmd(
    obj: CliContext,
    subject: str | None,
    issuer: str | None,
    schema: str | None,
    type_: str | None,
    status: str | None,
    first: int,
    after: str | None,
) -> None:
    """Anchored credentials matching the filters, oldest first (one page)."""
    variables = {
        "subject": subject,
        "issuer": issuer,
        "schema": schema,
        "type": type_,
        "status": None if status is None else status.upper(),
        "first": first,
        "after": after,
    }
    conn = _call(obj, LIST_Q, variables)["credentials"]
    _echo({"credentials": [e["node"] for e in conn["edges"]], "pageInfo": conn["pageInfo"]})
