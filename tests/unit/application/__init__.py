"""Unit tests of the ingest, coverage, recorder and audit use cases."""
