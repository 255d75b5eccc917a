"""ghTrader domain layer (see ARCHITECTURE.md)."""
