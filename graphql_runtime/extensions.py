"""The schema extensions every operation runs through, in their order, and the document limits.

Parsing and validation are cached (graphql_runtime/parse_cache.py, validation_cache.py); the
limits are validation rules (depth and aliases: graphql_runtime/document_limits.py; tokens:
Strawberry's MaxTokensLimiter); the gates and the cost run per request with the caller
(graphql_runtime/limits.py); variables that hold text UTF-8 cannot encode are refused
(graphql_runtime/encodable_strings.py). The operation log is added first by the app
(graphql_runtime/operation_log.py::observe_operations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions import AddValidationRules, MaxTokensLimiter

from graphql_runtime.document_limits import document_limits_rule
from graphql_runtime.encodable_strings import EncodableVariables
from graphql_runtime.limits import CostRateLimit, HttpSubscriptionGate, IntrospectionGate
from graphql_runtime.parse_cache import BoundedParserCache
from graphql_runtime.validation_cache import DocumentValidationCache

# Tokens in a document; feed/sharing.py parses WebSocket documents with the same limit.
MAX_TOKENS = 4000

# The limit rules are built once: a limiter constructed per request makes new rule classes, and
# the rules are part of the validation cache's key, so every request was validated again (~1.4 ms
# for a tab page, measured by benchmarks/tab_query.py).
# Depth and aliases are measured once per fragment (graphql_runtime/document_limits.py), not per
# path.
_LIMIT_RULES = [document_limits_rule(max_depth=12, max_aliases=30)]

SCHEMA_EXTENSIONS: list[Callable[[], Any] | type] = [
    lambda: AddValidationRules(_LIMIT_RULES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    BoundedParserCache,
    DocumentValidationCache,
    IntrospectionGate,  # after the validation cache: it adds to the errors that one sets
    EncodableVariables,  # likewise
    HttpSubscriptionGate,  # before the cost: a refused subscription is not charged
    CostRateLimit,
]
