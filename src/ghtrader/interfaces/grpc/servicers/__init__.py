"""Servicers: translate protobuf messages to use-case calls and back, nothing more."""
