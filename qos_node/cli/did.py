"""``qos did``: create, update, rotate, recover, deactivate, resolve and list the history
of did:qos identities through a running node's API.

Operations are built and signed here with keys from ``qos keys`` (``qos_identity.client``);
the node only ever sees signed operations. Each tx is sent from the signing key's account
(nonce from ``account(address)``, fee 0), then the command waits for the commit and prints
the per-operation results from the tx's ``did_operation`` events. The update key and the
recovery key are two different ``qos keys`` keys: keep the recovery key offline; nothing
but the keyring holds secrets. Errors: one line ``Error: <message> [<code>]``, exit 1.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from typing import Any

import click
import httpx

from qos_chain.address import address_to_text
from qos_chain.errors import QosError
from qos_identity import client as c
from qos_identity.document import Relationship
from qos_identity.method import DidOperation, PatchAction
from qos_identity.multikey import KeyType, encode_multikey
from qos_node.cli import CliContext, cli
from qos_node.cli.chain import ACCOUNT_Q, STATUS_Q, _call, _keystore, _password
from qos_node.cli.errors import CliError
from qos_wallet.keys import KeyPair

RESOLUTION = "application/did-resolution"
CURRENT_Q = """query($d: String!) { resolveDid(did: $d) {
  didDocument didResolutionMetadata { error errorMessage }
  didDocumentMetadata { versionId deactivated } } }"""
HISTORY_Q = """query($d: String!) { identity(did: $d) { did deactivated
  history { versionId versionTime height operation deactivated sender document } } }"""
SUBMIT_DID_M = """mutation($tx: String!) { submitDidOperation(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
TX_EVENTS_Q = """query($h: String!) { transaction(hash: $h) {
  hash height success codeName log events { type attributes { key value } } } }"""

_RELATIONSHIPS = {r.json_name.lower(): r for r in Relationship} | {
    r.name.lower().replace("_", ""): r for r in Relationship
}


def _unlock(obj: CliContext, name: str) -> KeyPair:
    try:
        return _keystore(obj).unlock(name, _password(name))
    except QosError as err:
        raise CliError.of(err) from err


def _x25519_public(obj: CliContext, name: str) -> bytes:
    """The X25519 public key derived from a ``qos keys`` ed25519 key (``qos vc open``)."""
    from qos_identity.credentials.crypto_box import (
        x25519_private_from_ed25519_seed,
        x25519_public_from_private,
    )

    return x25519_public_from_private(
        x25519_private_from_ed25519_seed(_unlock(obj, name).private_seed)
    )


def _services(did: str, specs: Sequence[str]) -> list[c.ServiceSpec]:
    out: list[c.ServiceSpec] = []
    for spec in specs:
        parts = spec.split(",", 2)
        if len(parts) != 3 or not all(parts):
            raise CliError(f"--service wants FRAGMENT,TYPE,URL, got {spec!r}", "usage_error")
        out.append((parts[0], parts[1], parts[2]))
    return out


def _relationships(text: str) -> tuple[Relationship, ...]:
    rels = []
    for word in text.split(","):
        key = word.strip().lower().replace("_", "").replace("-", "")
        if key not in _RELATIONSHIPS:
            names = ", ".join(r.json_name for r in Relationship)
            raise CliError(f"unknown relationship {word!r} (use {names})", "usage_error")
        rels.append(_RELATIONSHIPS[key])
    return tuple(rels)


def _current(obj: CliContext, did: str) -> tuple[str, dict[str, Any]]:
    """``(versionId, document)`` of a live DID."""
    r = _call(obj, CURRENT_Q, {"d": did})["resolveDid"]
    err = r["didResolutionMetadata"]["error"]
    if err is not None:
        raise CliError(r["didResolutionMetadata"]["errorMessage"] or err, err)
    if r["didDocumentMetadata"]["deactivated"]:
        raise CliError(f"{did} is deactivated", "deactivated")
    return r["didDocumentMetadata"]["versionId"], r["didDocument"]


def _method_of(did: str, doc: dict[str, Any], key: KeyPair, name: str) -> str:
    """The id of the verification method of ``doc`` that holds ``key``."""
    mk = encode_multikey(KeyType.ED25519, key.public_key)
    for m in doc.get("verificationMethod", []):
        if m.get("publicKeyMultibase") == mk:
            return str(m["id"])
    raise CliError(f"key {name!r} is not a verification method of {did}", "unauthorized")


def _submit(obj: CliContext, sender: KeyPair, ops: Sequence[DidOperation], timeout: float) -> Any:
    chain_id = _call(obj, STATUS_Q)["status"]["chainId"]
    acct = _call(obj, ACCOUNT_Q, {"a": address_to_text(sender.address)})["account"]
    if acct.get("__typename") == "InvalidInput":
        raise CliError(acct["message"], acct["code"])
    raw = c.wrap_in_tx(chain_id, sender.private_seed, int(acct["nonce"]), list(ops))
    res = _call(obj, SUBMIT_DID_M, {"tx": base64.b64encode(raw).decode()})["submitDidOperation"]
    if res["__typename"] == "TransactionRejected":
        raise CliError(res["message"], res["code"])
    return _wait(obj, res["hash"], timeout)


def _wait(obj: CliContext, tx_hash: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _call(obj, TX_EVENTS_Q, {"h": tx_hash})["transaction"]
        if found is not None:
            return _report(found)
        time.sleep(0.2)  # poll interval while waiting for a block
    raise CliError(f"tx {tx_hash} not committed within {timeout}s", "timeout")


def _report(tx: dict[str, Any]) -> dict[str, Any]:
    if not tx["success"]:
        raise CliError(f"operation refused: {tx['log']}", tx["codeName"])
    ops = []
    for e in tx["events"]:
        if e["type"] != "did_operation":
            continue
        a = {x["key"]: x["value"] for x in e["attributes"]}
        op: dict[str, Any] = {"did": a.get("did"), "op": a.get("op"), "code": a.get("code")}
        if "index" in a:
            op["index"] = int(a["index"])
        if "version_id" in a:
            op["versionId"] = a["version_id"]
        if "log" in a:
            op["log"] = a["log"]
        ops.append(op)
    report = {"txHash": tx["hash"], "height": tx["height"], "operations": ops}
    failed = [o for o in ops if o["code"] != "ok"]
    if failed:
        click.echo(json.dumps(report, indent=2))
        first = failed[0]
        raise CliError(
            f"{len(failed)} of {len(ops)} operations refused; first: {first.get('log', '')}",
            str(first["code"]),
        )
    return report


def _echo(value: object) -> None:
    click.echo(json.dumps(value, indent=2))


def _api_base(api: str) -> str:
    base = api.rstrip("/")
    return base[: -len("/graphql")] if base.endswith("/graphql") else base


_WAIT = click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for commit."
)


@cli.group("did")
def did_group() -> None:
    """did:qos identities: create, update, rotate, recover, deactivate, resolve, history."""


@did_group.command("create")
@click.option("--key", "key_name", required=True, help="Update key (a `qos keys` key).")
@click.option("--recovery-key", "recovery_name", required=True, help="Recovery key (another key).")
@click.option("--service", "services", multiple=True, help="FRAGMENT,TYPE,URL (repeatable).")
@click.option("--controller", "controllers", multiple=True, help="Controller DID (repeatable).")
@click.option("--also-known-as", "aliases", multiple=True, help="alsoKnownAs URI (repeatable).")
@click.option(
    "--key-agreement",
    "ka_name",
    default=None,
    help="Add an X25519 keyAgreement key derived from this `qos keys` key (for credentials "
    "delivered encrypted: `qos vc open`).",
)
@_WAIT
@click.pass_obj
def create_cmd(
    obj: CliContext,
    key_name: str,
    recovery_name: str,
    services: tuple[str, ...],
    controllers: tuple[str, ...],
    aliases: tuple[str, ...],
    ka_name: str | None,
    timeout: float,
) -> None:
    """Register a new DID; prints it with the operation's result."""
    if key_name == recovery_name:
        raise CliError("the recovery key must differ from the update key", "usage_error")
    key = _unlock(obj, key_name)
    recovery = _unlock(obj, recovery_name)
    chain_id = _call(obj, STATUS_Q)["status"]["chainId"]
    try:
        did, op = c.create_did(
            chain_id,
            key.private_seed,
            recovery.private_seed,
            services=_services("", services),
            controllers=controllers,
            also_known_as=aliases,
            key_agreement=None if ka_name is None else _x25519_public(obj, ka_name),
        )
    except QosError as err:
        raise CliError.of(err) from err
    report = _submit(obj, key, [op], timeout)
    _echo({"did": did, **report})


@did_group.command("update")
@click.argument("did")
@click.option("--key", "key_name", required=True, help="A capabilityInvocation key of DID.")
@click.option("--signer", default=None, help="Signing method DID URL (default: found by key).")
@click.option("--add-service", "add_services", multiple=True, help="FRAGMENT,TYPE,URL.")
@click.option("--remove-service", "remove_services", multiple=True, help="Service fragment.")
@click.option(
    "--add-key", "add_keys", multiple=True, help="`qos keys` key to add (fragment = name)."
)
@click.option(
    "--relationship",
    default="authentication",
    show_default=True,
    help="Relationships of the added keys: authentication,assertionMethod,...",
)
@click.option("--remove-key", "remove_keys", multiple=True, help="Method fragment to remove.")
@click.option("--controller", "controllers", multiple=True, help="Set the controller DIDs.")
@click.option("--clear-controllers", is_flag=True, help="Remove every controller.")
@_WAIT
@click.pass_obj
def update_cmd(
    obj: CliContext,
    did: str,
    key_name: str,
    signer: str | None,
    add_services: tuple[str, ...],
    remove_services: tuple[str, ...],
    add_keys: tuple[str, ...],
    relationship: str,
    remove_keys: tuple[str, ...],
    controllers: tuple[str, ...],
    clear_controllers: bool,
    timeout: float,
) -> None:
    """Patch DID's document (services, keys, controllers), signed by --key."""
    key = _unlock(obj, key_name)
    version, doc = _current(obj, did)
    signer_id = signer or _method_of(did, doc, key, key_name)
    rels = _relationships(relationship)
    actions: list[PatchAction] = []
    for frag, type_, url in _services(did, add_services):
        actions.append(c.add_service(c.service(did, frag, type_, url)))
    actions += [c.remove_service(f"{did}#{frag}") for frag in remove_services]
    keystore = _keystore(obj)
    for name in add_keys:
        try:
            pk = keystore.get(name).public_key
        except QosError as err:
            raise CliError.of(err) from err
        actions.append(c.add_method(c.key_method(did, name, pk), *rels))
    actions += [c.remove_method(f"{did}#{frag}") for frag in remove_keys]
    if controllers or clear_controllers:
        actions.append(c.set_controllers(*controllers))
    if not actions:
        raise CliError("nothing to update: give at least one change", "usage_error")
    try:
        op = c.update_op(
            _chain_id(obj), did, version, actions, key.private_seed, signer_id=signer_id
        )
    except QosError as err:
        raise CliError.of(err) from err
    _echo({"did": did, **_submit(obj, key, [op], timeout)})


def _chain_id(obj: CliContext) -> str:
    return str(_call(obj, STATUS_Q)["status"]["chainId"])


@did_group.command("rotate")
@click.argument("did")
@click.option("--key", "key_name", required=True, help="The current key of the method.")
@click.option("--new-key", "new_name", required=True, help="The key that replaces it.")
@_WAIT
@click.pass_obj
def rotate_cmd(obj: CliContext, did: str, key_name: str, new_name: str, timeout: float) -> None:
    """Replace the key of the method that holds --key by --new-key."""
    key = _unlock(obj, key_name)
    try:
        new_pk = _keystore(obj).get(new_name).public_key
    except QosError as err:
        raise CliError.of(err) from err
    version, doc = _current(obj, did)
    mid = _method_of(did, doc, key, key_name)
    op = c.rotate_op(_chain_id(obj), did, version, new_pk, key.private_seed, method_id=mid)
    _echo({"did": did, **_submit(obj, key, [op], timeout)})


@did_group.command("recover")
@click.argument("did")
@click.option("--recovery-key", "recovery_name", required=True, help="The committed key.")
@click.option("--new-key", "new_name", required=True, help="The new update key.")
@click.option(
    "--next-recovery-key", "next_name", required=True, help="The next recovery key to commit to."
)
@_WAIT
@click.pass_obj
def recover_cmd(
    obj: CliContext, did: str, recovery_name: str, new_name: str, next_name: str, timeout: float
) -> None:
    """Take DID back with the recovery key after the update key was lost or stolen: the
    document is replaced by a fresh one holding --new-key (sent from its account)."""
    if len({recovery_name, new_name, next_name}) != 3:
        raise CliError("the three keys must be different", "usage_error")
    recovery = _unlock(obj, recovery_name)
    new = _unlock(obj, new_name)
    nxt = _unlock(obj, next_name)
    version, _ = _current(obj, did)
    op = c.recover_op(
        _chain_id(obj),
        did,
        version,
        recovery.private_seed,
        new_update_seed=new.private_seed,
        next_recovery_seed=nxt.private_seed,
    )
    _echo({"did": did, **_submit(obj, new, [op], timeout)})


@did_group.command("deactivate")
@click.argument("did")
@click.option("--key", "key_name", default=None, help="A capabilityInvocation key of DID.")
@click.option("--recovery-key", "recovery_name", default=None, help="Or the recovery key.")
@_WAIT
@click.pass_obj
def deactivate_cmd(
    obj: CliContext, did: str, key_name: str | None, recovery_name: str | None, timeout: float
) -> None:
    """Deactivate DID for good: it can never be updated or registered again."""
    if (key_name is None) == (recovery_name is None):
        raise CliError("give exactly one of --key or --recovery-key", "usage_error")
    version, doc = _current(obj, did)
    if key_name is not None:
        key = _unlock(obj, key_name)
        mid = _method_of(did, doc, key, key_name)
        op = c.deactivate_op(_chain_id(obj), did, version, key.private_seed, signer_id=mid)
    else:
        assert recovery_name is not None
        key = _unlock(obj, recovery_name)
        op = c.deactivate_op(_chain_id(obj), did, version, key.private_seed, recovery=True)
    _echo({"did": did, **_submit(obj, key, [op], timeout)})


@did_group.command("resolve")
@click.argument("did")
@click.option("--version-id", default=None, help="Resolve this version.")
@click.option("--version-time", default=None, help="Resolve the version at this RFC 3339 time.")
@click.option(
    "--document-only", is_flag=True, help="Print only the DID document (application/did+ld+json)."
)
@click.pass_obj
def resolve_cmd(
    obj: CliContext,
    did: str,
    version_id: str | None,
    version_time: str | None,
    document_only: bool,
) -> None:
    """Resolve DID through the node's REST resolver (GET /1.0/identifiers/DID); prints the
    W3C resolution result. A deactivated DID resolves (HTTP 410) with deactivated: true."""
    params = {
        k: v for k, v in (("versionId", version_id), ("versionTime", version_time)) if v is not None
    }
    url = f"{_api_base(obj.api)}/1.0/identifiers/{did}"
    try:
        resp = httpx.get(url, params=params, headers={"accept": RESOLUTION}, timeout=10.0)
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the node API at {url}: {exc}", "api_unreachable") from exc
    try:
        body = resp.json()
    except ValueError as exc:
        raise CliError(
            f"resolver answered HTTP {resp.status_code} without JSON", "api_error"
        ) from exc
    meta = body.get("didResolutionMetadata", {}) if isinstance(body, dict) else {}
    if resp.status_code not in (200, 410):
        code = meta.get("error") or f"http_{resp.status_code}"
        raise CliError(meta.get("errorMessage") or code, code)
    _echo(body["didDocument"] if document_only else body)


@did_group.command("history")
@click.argument("did")
@click.pass_obj
def history_cmd(obj: CliContext, did: str) -> None:
    """Every version of DID, oldest first (GraphQL identity.history)."""
    found = _call(obj, HISTORY_Q, {"d": did})["identity"]
    if found is None:
        raise CliError(f"{did} is not registered", "notFound")
    _echo(found["history"])
