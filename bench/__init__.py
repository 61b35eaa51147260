"""Benchmarks (not part of the test run); each file runs as a script."""
