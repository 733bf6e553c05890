"""The per-request GraphQL context: the node port plus per-request budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from qos_api.errors import ApiError
from qos_api.ports import NodePort


@dataclass(slots=True)
class ApiContext:
    port: NodePort
    request: Any = None
    response: Any = None
    identity_lookups: int = 0  # identity reads charged by this request (see identity.py)
    credential_reads: int = 0  # credential reads charged by this request (credentials.py)


Info = strawberry.Info[ApiContext, None]


def charge_reads(info: Info, budget: str, limit: int, what: str, n: int = 1) -> None:
    """Count ``n`` reads against the request's ``budget`` counter (an ``ApiContext`` field);
    past ``limit`` the query is refused with code ``too_complex``, so nesting and page sizes
    cannot make one request read without bound."""
    ctx = info.context
    used = getattr(ctx, budget) + n
    setattr(ctx, budget, used)
    if used > limit:
        raise ApiError(
            f"the query reads more than {limit} {what}; ask for less nesting or smaller pages",
            code="too_complex",
        )
