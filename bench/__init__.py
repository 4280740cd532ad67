"""Benchmarks: runnable modules that print figures and ratios measured side by side (never timed asserts)."""
