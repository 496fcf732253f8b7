"""The baseline of `bench_load.py`: python-telegram-bot's stock echo bot, default transport.

Run as ``python benchmarks/echo_bot.py TOKEN BASE_URL``: long polling, one `MessageHandler`
that answers every text message with the same text, as in PTB's own `echobot.py` example.
"""

from __future__ import annotations

import logging
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message with its own text."""
    if update.message is not None and update.message.text:
        await update.message.reply_text(update.message.text)


def main() -> None:
    """Poll the Bot API at BASE_URL until SIGTERM/SIGINT."""
    token, base_url = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.WARNING)
    application = Application.builder().token(token).base_url(base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0.0, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
