"""ghTrader interfaces layer (see ARCHITECTURE.md)."""
