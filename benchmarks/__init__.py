"""Benchmarks: they print measured numbers; targets are judged by a reader, not asserted."""
