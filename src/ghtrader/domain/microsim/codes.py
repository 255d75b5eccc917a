"""Integer codes shared by the micro-simulator kernels and their Python facade.

Kernels take and return plain integers; these names are the only place their meaning is set.
"""

from __future__ import annotations

# Order side: the sign of the position change of a fill.
BUY = 1
SELL = -1

# Command kinds. SHFE has no market orders: every order carries a limit price.
LIMIT = 0  # rests in the book until filled, cancelled or the trading day ends
FAK = 1  # fill what is marketable now at or better than the limit, cancel the rest
FOK = 2  # fill the whole quantity now at or better than the limit, or nothing
CANCEL = 3  # cancel a working order (takes effect after the cancel latency)

# SHFE offsets. AUTO (strategy driver only) resolves at arrival: close today's opposite
# position first, then yesterday's, else open.
OPEN = 0
CLOSE = 1  # closes yesterday's position (carried from before the trading day)
CLOSETODAY = 2  # closes a position opened in the current trading day
AUTO = 3

# Order status.
PENDING = 0  # sent, not yet at the exchange
LIVE = 1  # resting in the book
FILLED = 2
CANCELLED = 3  # cancelled by a cancel command, by FAK / FOK rules or at the day's end
REJECTED = 4  # no book yet, or a close without enough position to close

# Queue models (see queue_models.py for the formulas).
QUEUE_RISK_AVERSE = 0
QUEUE_PROB_POWER = 1
QUEUE_PROB_LOG = 2

# How a fill happened.
FILL_AGGRESSIVE = 0  # the order took displayed liquidity on arrival
FILL_QUEUE = 1  # passive: the queue ahead was exhausted and volume traded at the quote's price
FILL_CROSS = 2  # passive: the opposite best price reached or crossed the quote, or trades went through it

STATUS_NAMES = {PENDING: "PENDING", LIVE: "LIVE", FILLED: "FILLED", CANCELLED: "CANCELLED", REJECTED: "REJECTED"}
KIND_NAMES = {LIMIT: "LIMIT", FAK: "FAK", FOK: "FOK", CANCEL: "CANCEL"}
OFFSET_NAMES = {OPEN: "OPEN", CLOSE: "CLOSE", CLOSETODAY: "CLOSETODAY", AUTO: "AUTO"}
FILL_KIND_NAMES = {FILL_AGGRESSIVE: "aggressive", FILL_QUEUE: "queue", FILL_CROSS: "cross"}
