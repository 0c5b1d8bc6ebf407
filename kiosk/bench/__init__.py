"""Benchmarks; helpers shared by them live in ``kiosk.bench._stats``."""
