"""Cache GraphQL validation results per query text.

Validation (graphql-core's visitor, plus our depth limit rule) was over half the server time
of a small query such as ``resolveDid``. Strawberry's own ``ValidationCache`` keys its LRU
by the rule objects, and ``QueryDepthLimiter`` builds a new rule class per request, so it
never hits. Our rule set is fixed per schema, so the result depends only on (schema, query
text): cache exactly that. Bounded (LRU), so arbitrary client queries cannot grow memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_ENTRIES = 512

_cache: OrderedDict[tuple[int, str], list[GraphQLError]] = OrderedDict()


class CachedValidation(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query is None or ctx.graphql_document is None or ctx.pre_execution_errors:
            yield
            return
        key = (id(ctx.schema._schema), ctx.query)
        errors = _cache.get(key)
        if errors is None:
            errors = validate_document(
                ctx.schema._schema, ctx.graphql_document, ctx.validation_rules
            )
            _cache[key] = errors
            if len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        ctx.pre_execution_errors = list(errors)
        yield
