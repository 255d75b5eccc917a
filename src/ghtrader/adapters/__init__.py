"""ghTrader adapters layer (see ARCHITECTURE.md)."""
