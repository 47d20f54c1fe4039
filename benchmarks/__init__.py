"""Benchmarks: run as modules, e.g. `python -m benchmarks.tab_query --quick`."""
