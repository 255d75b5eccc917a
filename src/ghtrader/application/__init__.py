"""ghTrader application layer (see ARCHITECTURE.md)."""
