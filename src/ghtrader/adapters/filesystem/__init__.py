"""Filesystem adapters: JSON reports, local caches."""
