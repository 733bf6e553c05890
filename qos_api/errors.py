"""Errors the API raises on purpose; everything else is masked (ARCHITECTURE section 6).

ApiError(QosError)        a client mistake reported as a GraphQL error, never masked;
                          ``code`` goes to ``errors[].extensions.code``:
                          invalid_argument   an argument is malformed or out of range
                          invalid_cursor     a pagination cursor was not issued by us
                          subscriber_too_slow  a subscription fell behind and was dropped

Expected outcomes that are data, not errors (a rejected tx, an invalid address), are
union members in the schema instead.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from qos_chain.errors import QosError


class ApiError(QosError):
    code = "invalid_argument"

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


def should_mask_error(error: GraphQLError) -> bool:
    """Mask exceptions raised by resolvers unless they are an :class:`ApiError`.

    Errors without an original exception come from graphql-core itself (syntax, validation,
    the depth and alias limits) and describe the client's document: they pass through.
    """
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, ApiError)
