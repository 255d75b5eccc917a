"""Adapters that read the host: clock, resources, build information."""
