"""How the service runs GraphQL, apart from what its schema says: the executor with compiled
plans for plain fields, the parse and validation caches, the document limits, cost and gates,
the operation log and the error codes. Every use of a private API of strawberry or graphql-core
lives here or in feed/ (docs/architecture.md lists them with their guard tests)."""
