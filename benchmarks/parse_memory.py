"""What a parsed GraphQL document keeps in memory per token (graphql_runtime/bounded_cache.py).

    ./dev run benchmarks.parse_memory

Parses documents of a few shapes at the service's token limit and prints, for each, the bytes
the document holds (tracemalloc, after parsing, with the source text counted apart) per token.
"""

from __future__ import annotations

import gc
import tracemalloc

from graphql import parse

from graphql_runtime.bounded_cache import document_bytes

TOKENS = 3990  # just under the service's limit of 4,000

SHAPES = {
    "bare fields": "subscription { requestEvents { " + "a " * (TOKENS - 6) + "} }",
    "aliases": "query { " + " ".join(f"a{i}: f" for i in range(TOKENS // 3 - 1)) + " }",
    "arguments": "query { " + " ".join(f'f(x: "{i}")' for i in range(TOKENS // 7 - 1)) + " }",
    # graphql-core refuses deeper nesting than this, whatever the token count.
    "nested": "query { " + "a { " * 150 + "b" + " }" * 150 + " }",
}


def main() -> None:
    for name, source in SHAPES.items():
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        document = parse(source, max_tokens=4000)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        tokens = 0
        token = document.loc.start_token if document.loc else None
        while token is not None:
            tokens += 1
            token = token.next
        print(
            f"{name:12} {tokens:5} tokens, {len(source):6} chars: {held:9,} bytes held, "
            f"{held / tokens:6.0f} per token; estimate {document_bytes(document, source):9,}"
        )


if __name__ == "__main__":
    main()
