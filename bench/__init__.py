"""Benchmarks that print figures (held numbers of DESIGN.md); not run by the test suite."""
