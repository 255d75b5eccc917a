"""Ports: the interfaces use cases need from the outside world (adapters implement them)."""
