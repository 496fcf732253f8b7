"""The wires: one module per channel, plus the Telegram emulator."""

import os

# Opt in to PTB's coming behaviour (durations such as RetryAfter.retry_after as timedelta)
# before python-telegram-bot is imported by any channel module.
os.environ.setdefault("PTB_TIMEDELTA", "1")
