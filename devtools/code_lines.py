"""Counts the code lines of Python files: not blank, not a comment, not a docstring.

Usage: `python -m devtools.code_lines FILE...` prints each file's count and the total.
`python -m devtools.code_lines $(cat devtools/request_code.txt)`: the request code of both kinds
(their models, services, storage and resolvers).
"""

import ast
import io
import sys
import tokenize
from pathlib import Path


def docstring_lines(tree: ast.Module) -> set[int]:
    """The line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if not isinstance(first.value.value, str):
                continue
            lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    """How many lines hold a token other than a comment, outside docstrings."""
    skipped = docstring_lines(ast.parse(source))
    counted: set[int] = set()
    thin = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in thin or token.type == tokenize.ENDMARKER:
            continue
        for line in range(token.start[0], token.end[0] + 1):
            if line not in skipped:
                counted.add(line)
    return len(counted)


def main(paths: list[str]) -> None:
    total = 0
    for path in paths:
        count = code_lines(Path(path).read_text())
        total += count
        print(f"{count:6d} {path}")
    print(f"{total:6d} total")


if __name__ == "__main__":
    main(sys.argv[1:])
