"""The per-request GraphQL context: the node port plus per-request budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from qos_api.ports import NodePort


@dataclass(slots=True)
class ApiContext:
    port: NodePort
    request: Any = None
    response: Any = None
    identity_lookups: int = 0  # identity reads charged by this request (see identity.py)
    credential_reads: int = 0  # credential reads charged by this request (credentials.py)


Info = strawberry.Info[ApiContext, None]
