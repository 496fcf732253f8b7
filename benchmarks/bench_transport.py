"""Benchmark PTB's sendMessage round trips: AiohttpRequest against PTB's default HTTPXRequest.

Run from the repository root: ``.venv/bin/python benchmarks/bench_transport.py
[--messages N] [--concurrency C] [--rounds R]``.

Both transports drive the same `telegram.Bot` against the in-process Telegram emulator on
127.0.0.1, in the same run, rounds interleaved so drift hits both alike. The emulator shares
the event loop, so the figures are whole round trips (client + server), not client cost alone;
the server part is identical for both transports.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runs as a plain script, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot  # noqa: E402
from telegram.request import BaseRequest, HTTPXRequest  # noqa: E402

from bot.channels.aiohttp_request import AiohttpRequest  # noqa: E402
from bot.channels.emulator import TelegramEmulator  # noqa: E402

TOKEN = "4242424:BENCH-transport-token"
CHAT_ID = 4242
TEXT = "Phản ánh T-0042 đã được chuyển đến UBND phường Tam Hiệp."


async def sequential(bot: Bot, messages: int) -> tuple[float, list[float]]:
    """Send one message at a time; return (seconds, per-call latencies)."""
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(messages):
        before = time.perf_counter()
        await bot.send_message(CHAT_ID, TEXT)
        latencies.append(time.perf_counter() - before)
    return time.perf_counter() - started, latencies


async def concurrent(bot: Bot, messages: int, workers: int) -> float:
    """Send `messages` with `workers` coroutines sending in parallel; return seconds."""
    remaining = messages

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await bot.send_message(CHAT_ID, TEXT)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


async def measure(
    emulator: TelegramEmulator,
    make_request: Callable[[int], BaseRequest],
    messages: int,
    workers: int,
) -> tuple[float, float, float, float]:
    """Return (sequential/s, p50 ms, p99 ms, concurrent/s) for one transport."""
    bot = Bot(
        TOKEN,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=make_request(max(workers, 1)),
        get_updates_request=make_request(1),
    )
    async with bot:
        await sequential(bot, 50)  # warm-up: connections, caches
        seconds, latencies = await sequential(bot, messages)
        concurrent_seconds = await concurrent(bot, messages, workers)
    cuts = statistics.quantiles(latencies, n=100)
    return messages / seconds, cuts[49] * 1000, cuts[98] * 1000, messages / concurrent_seconds


async def main() -> None:
    """Run the interleaved rounds and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2000, help="messages per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel senders")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()

    transports: dict[str, Callable[[int], BaseRequest]] = {
        "HTTPXRequest": lambda pool: HTTPXRequest(connection_pool_size=pool),
        "AiohttpRequest": lambda pool: AiohttpRequest(connection_pool_size=pool),
    }
    results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in transports}
    async with TelegramEmulator(token=TOKEN) as emulator:
        await emulator.register_private_chat(CHAT_ID, "Bench")
        for _ in range(args.rounds):
            for name, make_request in transports.items():
                results[name].append(
                    await measure(emulator, make_request, args.messages, args.concurrency)
                )
                emulator.clear_requests()

    print(
        f"sendMessage through telegram.Bot against the emulator on 127.0.0.1 "
        f"({args.messages} messages, {args.rounds} rounds, medians; "
        f"Python {sys.version.split()[0]})"
    )
    header = f"{'transport':<16}{'seq rt/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(header + f"{f'x{args.concurrency} rt/s':>12}")
    medians: dict[str, list[float]] = {}
    for name, rows in results.items():
        medians[name] = [statistics.median(column) for column in zip(*rows, strict=True)]
        seq, p50, p99, conc = medians[name]
        print(f"{name:<16}{seq:>10.0f}{p50:>9.2f}{p99:>9.2f}{conc:>12.0f}")
    base, fast = medians["HTTPXRequest"], medians["AiohttpRequest"]
    print(
        f"AiohttpRequest / HTTPXRequest: sequential x{fast[0] / base[0]:.2f}, "
        f"concurrent x{fast[3] / base[3]:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
