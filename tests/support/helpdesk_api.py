"""GraphQL documents of the helpdesk shared beyond its own tests (the hostile-input tests write
rules too)."""

from __future__ import annotations

ERROR = "... on UserError { __typename code message field }"
CREATE_RULE = f"""
mutation($shop: ID, $rule: TicketRuleInput!) {{
  createTicketRule(input: {{shopId: $shop, rule: $rule}}) {{
    __typename
    ... on TicketRule {{ id name position enabled action {{ kind tag }} }}
    ... on InvalidRuleError {{ problem }}
    {ERROR}
  }}
}}"""
