"""A documented subset of JSON Schema (2020-12 semantics) for credential schemas.

Supported keywords: ``type`` (``null boolean object array number integer string``, or a
list of them), ``properties``, ``required``, ``additionalProperties`` (bool or schema),
``enum``, ``const``, ``pattern`` (Python ``re``, searched as JSON Schema says; at most 256
characters), ``minLength`` / ``maxLength`` (code points), ``minimum`` / ``maximum`` /
``exclusiveMinimum`` / ``exclusiveMaximum``, ``items`` (one schema), ``minItems`` /
``maxItems``. Annotations ignored: ``$schema $id title description default examples
$comment format``. ANY other keyword makes the schema invalid (``check_schema`` ->
``invalid_schema``), so a schema never silently checks less than its author meant.

``validate(instance, schema)`` returns a list of ``"<JSON pointer>: <reason>"`` (empty
when the instance conforms). A credential is validated without its ``proof``
(VC JSON Schema: the schema describes the credential's claims and metadata).
"""

from __future__ import annotations

import re
from typing import Any

from qos_identity.credentials.errors import InvalidSchema

ANNOTATIONS = frozenset(
    {"$schema", "$id", "title", "description", "default", "examples", "$comment", "format"}
)
KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "enum", "const", "pattern",
        "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "items", "minItems", "maxItems",
    }
)  # fmt: skip
TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})
MAX_PATTERN = 256
MAX_DEPTH = 32


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_schema(schema: object, path: str = "#", depth: int = 0) -> None:
    """Raise :class:`InvalidSchema` unless ``schema`` uses only the supported subset."""
    if depth > MAX_DEPTH:
        raise InvalidSchema(f"{path}: nested deeper than {MAX_DEPTH}")
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise InvalidSchema(f"{path}: a schema is an object or a boolean")
    unknown = sorted(set(schema) - KEYWORDS - ANNOTATIONS)
    if unknown:
        raise InvalidSchema(f"{path}: unsupported keywords {unknown}")
    t = schema.get("type")
    if t is not None:
        ts = [t] if isinstance(t, str) else t
        if not isinstance(ts, list) or not ts or not all(x in TYPES for x in ts):
            raise InvalidSchema(f"{path}/type: must be one or a list of {sorted(TYPES)}")
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise InvalidSchema(f"{path}/properties: must be an object")
    for name, sub in props.items():
        check_schema(sub, f"{path}/properties/{name}", depth + 1)
    req = schema.get("required", [])
    if not isinstance(req, list) or not all(isinstance(x, str) for x in req):
        raise InvalidSchema(f"{path}/required: must be a list of strings")
    if "additionalProperties" in schema:
        check_schema(schema["additionalProperties"], f"{path}/additionalProperties", depth + 1)
    if "items" in schema:
        check_schema(schema["items"], f"{path}/items", depth + 1)
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise InvalidSchema(f"{path}/enum: must be a list")
    if "pattern" in schema:
        p = schema["pattern"]
        if not isinstance(p, str) or len(p) > MAX_PATTERN:
            raise InvalidSchema(f"{path}/pattern: a string of at most {MAX_PATTERN} characters")
        try:
            re.compile(p)
        except re.error as exc:
            raise InvalidSchema(f"{path}/pattern: {exc}") from exc
    for k in ("minLength", "maxLength", "minItems", "maxItems"):
        if k in schema and not _count(schema[k]):
            raise InvalidSchema(f"{path}/{k}: must be a non-negative integer")
    for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if k in schema and not _number(schema[k]):
            raise InvalidSchema(f"{path}/{k}: must be a number")


def _type_ok(value: object, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        return _number(value) and float(value).is_integer()  # type: ignore[arg-type]
    return _number(value)  # number


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def validate(instance: object, schema: object, path: str = "") -> list[str]:
    """Errors of ``instance`` against a ``check_schema``-valid ``schema``."""
    errors: list[str] = []
    _validate(instance, schema, path, errors)
    return errors


def _validate(value: object, schema: object, path: str, errors: list[str]) -> None:
    where = path or "/"
    if schema is True:
        return
    if schema is False:
        errors.append(f"{where}: no value is allowed here")
        return
    if not isinstance(schema, dict):
        return
    t = schema.get("type")
    if t is not None:
        ts = [t] if isinstance(t, str) else t
        if not any(_type_ok(value, x) for x in ts):
            errors.append(f"{where}: expected {' or '.join(ts)}, got {_json_type(value)}")
            return
    if "const" in schema and not _equal(value, schema["const"]):
        errors.append(f"{where}: must equal {schema['const']!r}")
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        errors.append(f"{where}: must be one of {schema['enum']!r}")
    if isinstance(value, str):
        n = len(value)
        if "minLength" in schema and n < schema["minLength"]:
            errors.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and n > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{where}: does not match {schema['pattern']!r}")
    if _number(value):
        x: Any = value
        if "minimum" in schema and x < schema["minimum"]:
            errors.append(f"{where}: less than {schema['minimum']}")
        if "maximum" in schema and x > schema["maximum"]:
            errors.append(f"{where}: greater than {schema['maximum']}")
        if "exclusiveMinimum" in schema and x <= schema["exclusiveMinimum"]:
            errors.append(f"{where}: not greater than {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and x >= schema["exclusiveMaximum"]:
            errors.append(f"{where}: not less than {schema['exclusiveMaximum']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(item, schema["items"], f"{path}/{i}", errors)
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing required property {name!r}")
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name in value:
                _validate(value[name], sub, f"{path}/{_escape(name)}", errors)
        extra = schema.get("additionalProperties", True)
        for name in value:
            if name not in props:
                if extra is False:
                    errors.append(f"{where}: property {name!r} is not allowed")
                elif isinstance(extra, dict):
                    _validate(value[name], extra, f"{path}/{_escape(name)}", errors)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _json_type(value: object) -> str:
    for t in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _type_ok(value, t):
            return t
    return type(value).__name__
