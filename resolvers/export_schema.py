"""Writes schema.graphql (or checks it with --check): the schema clients build against."""

from __future__ import annotations

import sys
from pathlib import Path

from resolvers.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def current_sdl() -> str:
    return schema.as_str().rstrip() + "\n"


def main(argv: list[str]) -> int:
    sdl = current_sdl()
    if "--check" in argv:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != sdl:
            print("schema.graphql is stale: run ./dev schema", file=sys.stderr)
            return 1
        print("schema.graphql is up to date")
        return 0
    SCHEMA_FILE.write_text(sdl)
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
