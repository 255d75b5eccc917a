"""Test package (lets test modules import tests.fakes)."""
