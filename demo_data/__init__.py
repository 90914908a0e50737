"""The demo company: source files with planted behaviour and the ground truth behind them."""
