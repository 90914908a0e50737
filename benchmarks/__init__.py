"""Benchmarks: measured figures for the README, printed as tables, never asserted in tests."""
