"""Trading runs: paper, sim and (gated) live over a live feed, with the backtest's decisions."""
