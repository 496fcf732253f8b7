"""End-to-end load: `hotline run` against the stock PTB echo bot, as a Telegram client sees it.

Run from the repository root: ``.venv/bin/python benchmarks/bench_load.py [--burst N]
[--rate R] [--seconds S] [--targets echo,sqlite,postgres,postgres-2,echo]`` (``make bench-load``).

This process is the Telegram side: it runs the Bot API emulator and the load; every bot runs
in processes of its own. Workload: 500 private chats; 40 % dossier lookups (``/hoso CODE``),
30 % ``/start``, 30 % ``/phananh <text>``. For each target, in the same run:

* burst: N updates pushed at once; updates/s = N / (last answer - first push);
* paced: R updates/s for S seconds, chats taken in turn; latency = first bot message in the
  chat after the push; p50 / p99, and how many went unanswered;
* peak RSS of each bot process (VmHWM), and whether it stopped on SIGTERM with exit 0 and a
  log free of tracebacks.

The echo bot (`echo_bot.py`: PTB's default HTTPX transport, polling) is the baseline; ratios are
to it, run first and last (the mean of the two, as the machine's speed drifts). SQLite and
PostgreSQL run polling; ``postgres-1``/``postgres-2`` run one and two instances in webhook mode
behind a round-robin balancer that retries the other instance when one does not answer 200:
nginx where the machine has it (``apt-get install nginx-light``), else one in this process.
PostgreSQL is the server at 127.0.0.1:5432 (a database created
and dropped per target). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.emulator import TelegramEmulator, _Chat, _Message  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.demo_data import seed_demo  # noqa: E402
from storage.db import Database  # noqa: E402

TOKEN = "777001:BENCH-load-token"
CHATS = 500
FIRST_CHAT = 910_000
COMPLAINTS = (
    "Đường liên xã trước nhà tôi có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục",
    "Cán bộ một cửa hẹn đi hẹn lại, hồ sơ đất đai của tôi trễ hạn hai tháng rồi",
    "Khu dân cư bị ngập mỗi khi mưa lớn, cống thoát nước bị tắc lâu ngày",
    "Quán karaoke hát to sau 23 giờ làm cả xóm không ngủ được",
)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NGINX = "nginx"
STATS_DELAY = 1.2  # PostgreSQL's backends report their counts at most once a second


class LoadEmulator(TelegramEmulator):
    """The emulator, noting when each bot message reached each chat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered_at: dict[int, list[float]] = defaultdict(list)

    def _store_message(self, chat: _Chat, message: _Message) -> None:
        if message.from_bot:
            self.answered_at[chat.chat_id].append(time.perf_counter())
        super()._store_message(chat, message)


@dataclass
class Result:
    """One target's figures."""

    name: str
    burst_rate: float = 0.0
    burst_missing: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    unanswered: int = 0
    rss_mb: float = 0.0
    cpu_ms: float = 0.0  # bot CPU time per update in the burst, all instances
    driver_ms: float = 0.0  # this process's CPU per update (emulator, balancer, load)
    server_ms: float = 0.0  # PostgreSQL's CPU per update, all its processes
    transactions: float = float("nan")  # PostgreSQL transactions per update in the burst
    exit_codes: list[int | None] = field(default_factory=list)
    tracebacks: int = 0
    balancer: str = ""  # what balanced the webhook instances


def text_of(index: int, codes: list[str]) -> str:
    """The workload's index-th message: 4 of 10 lookups, 3 /start, 3 complaints."""
    kind = index % 10
    if kind < 4:
        return f"/hoso {codes[index % len(codes)]}"
    if kind < 7:
        return "/start"
    return f"/phananh {COMPLAINTS[index % len(COMPLAINTS)]}"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a bot process from the repository root, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def keep_logs(source: Path, target: Path) -> None:
    """Copy the bots' logs out of the temporary directory."""
    target.mkdir(parents=True, exist_ok=True)
    for log in source.glob("*.log"):
        (target / log.name).write_bytes(log.read_bytes())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_cpu_seconds(command: str) -> float:
    """CPU time used so far by every process of one command name (0 where none is seen)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    total += cpu_seconds(int(entry.name))
    return total


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the processes of the PostgreSQL server."""
    return command_cpu_seconds("postgres")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wait_answered(
    emulator: LoadEmulator, expected: dict[int, int], started: float, limit: float
) -> tuple[float, int]:
    """Wait until every chat has `expected` bot messages and all is quiet.

    Returns (seconds from `started` to the last answer, chats still short of answers).
    """
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        short = sum(1 for chat, n in expected.items() if len(emulator.answered_at[chat]) < n)
        last = max((times[-1] for times in emulator.answered_at.values() if times), default=0.0)
        if short == 0 and emulator.pending_update_count == 0 and time.perf_counter() - last > 0.5:
            break
        await asyncio.sleep(0.05)
    short = sum(1 for chat, n in expected.items() if len(emulator.answered_at[chat]) < n)
    last = max((times[-1] for times in emulator.answered_at.values() if times), default=started)
    return last - started, short


async def burst(
    emulator: LoadEmulator, chats: list[int], count: int, codes: list[str], offset: int = 0
) -> tuple[float, int]:
    """Push `count` updates at once; return (updates/s, chats left without an answer)."""
    expected = {chat: len(emulator.answered_at[chat]) for chat in chats}
    started = time.perf_counter()
    for index in range(count):
        chat = chats[index % len(chats)]
        await emulator.send_text(chat, text_of(offset + index, codes), chat)
        expected[chat] += 1
    seconds, short = await wait_answered(emulator, expected, started, limit=60 + count / 20)
    return count / seconds if seconds > 0 else 0.0, short


async def paced(
    emulator: LoadEmulator, chats: list[int], rate: float, seconds: float, codes: list[str]
) -> tuple[list[float], int]:
    """Push `rate` updates/s for `seconds`; return (latencies in ms, unanswered count)."""
    pushes: list[tuple[int, float, int]] = []
    expected = {chat: len(emulator.answered_at[chat]) for chat in chats}
    started = time.perf_counter()
    total = int(rate * seconds)
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        chat = chats[index % len(chats)]
        position = len(emulator.answered_at[chat])
        await emulator.send_text(chat, text_of(index + 7, codes), chat)
        pushes.append((chat, time.perf_counter(), position))
        expected[chat] = max(expected[chat], position) + 1
    await wait_answered(emulator, expected, started, limit=10)
    latencies: list[float] = []
    unanswered = 0
    for chat, pushed, position in pushes:
        answers = [t for t in emulator.answered_at[chat][position:] if t >= pushed]
        if answers:
            latencies.append((answers[0] - pushed) * 1000)
        else:
            unanswered += 1
    return latencies, unanswered


class Balancer:
    """Round-robin HTTP balancer: an instance that does not answer 200 is retried elsewhere.

    nginx when the machine has it (what a province puts in front of its instances: its cost
    per request is a fraction of this process's), else the same policy in aiohttp here.
    """

    def __init__(self, backends: list[str], workdir: Path) -> None:
        self.backends = backends
        self.workdir = workdir
        self.turn = itertools.cycle(range(len(backends)))
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.nginx: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.kind = "nginx" if shutil.which(NGINX) else "aiohttp"

    async def start(self) -> None:
        """Serve on 127.0.0.1:self.port."""
        if self.kind == "nginx":
            await self._start_nginx()
            return
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100), timeout=aiohttp.ClientTimeout(total=10)
        )
        app = web.Application()
        app.router.add_post("/telegram/webhook", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _start_nginx(self) -> None:
        prefix = self.workdir / "nginx"
        prefix.mkdir(exist_ok=True)
        servers = "".join(
            f"    server {backend.split('/')[2]} max_fails=0;\n" for backend in self.backends
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        config = prefix / "nginx.conf"
        config.write_text(
            f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
            "http {\n  access_log off;\n"
            f"  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
            f"  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n"
            f"  scgi_temp_path {prefix}/scgi;\n"
            f"  upstream hotline {{\n{servers}    keepalive 64;\n  }}\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            "    location /telegram/webhook {\n      proxy_pass http://hotline;\n"
            '      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n'
            "      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;\n"
            "      proxy_connect_timeout 1s;\n      proxy_read_timeout 10s;\n    }\n  }\n}\n"
        )
        self.nginx = spawn(
            [NGINX, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
            self.workdir / "nginx.log",
        )
        await wait_until(lambda: port_open(self.port), 10, "nginx")

    async def forward(self, request: web.Request) -> web.Response:
        """Pass the update to the next instance; on failure try the others."""
        assert self.session is not None
        body = await request.read()
        headers = {key: value for key, value in request.headers.items() if key.startswith("X-")}
        headers["Content-Type"] = "application/json"
        first = next(self.turn)
        for step in range(len(self.backends)):
            backend = self.backends[(first + step) % len(self.backends)]
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.post(backend, data=body, headers=headers) as response:
                    answer = await response.read()
                    if response.status == 200:
                        return web.Response(body=answer, content_type="application/json")
        return web.Response(status=502)

    def cpu_seconds(self) -> float:
        """CPU time nginx's processes used so far (0 for the balancer in this process)."""
        return command_cpu_seconds(NGINX) if self.nginx is not None else 0.0

    async def stop(self) -> None:
        """Stop serving and close the client session."""
        if self.nginx is not None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()


def balancer_cpu(balancer: Balancer | None) -> float:
    """CPU time of the balancer's own processes so far (none: 0)."""
    return balancer.cpu_seconds() if balancer is not None else 0.0


def port_open(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def write_config(
    path: Path, emulator: TelegramEmulator, url: str, *, port: int, webhook: str = ""
) -> None:
    """A `hotline run` config pointed at the emulator."""
    mode = f'mode = "webhook"\nwebhook_url = "{webhook}"' if webhook else 'mode = "polling"'
    path.write_text(
        f"""
[storage]
url = "{url}"
[telegram]
token = "{TOKEN}"
base_url = "{emulator.base_url}"
base_file_url = "{emulator.base_file_url}"
{mode}
[web]
port = {port}
[lookup]
per_minute = 10000
""",
        encoding="utf-8",
    )


async def create_pg_database(name: str) -> str:
    """Create a fresh PostgreSQL database; return its SQLAlchemy URL."""
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(name: str) -> None:
    """Drop a database made by `create_pg_database`."""
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def pg_transactions(name: str) -> int:
    """Transactions committed or rolled back so far in one database (its statistics view)."""
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", name
        )
        return int(value or 0)
    finally:
        await connection.close()


async def prepare_database(url: str, config_path: Path) -> list[str]:
    """Migrate and seed the demo dossiers; return the codes to look up."""
    db = Database(url)
    try:
        await db.upgrade()
        return await seed_demo(db=db, config=load_config(config_path), now=datetime.now(UTC))
    finally:
        await db.dispose()


async def wait_until(check: Any, limit: float, what: str) -> None:
    """Poll `check()` (sync or async) until true, at most `limit` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


async def healthy(url: str) -> bool:
    """Whether an instance's /healthz answers 200."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def run_target(name: str, args: argparse.Namespace, workdir: Path) -> Result:
    """Start one target's bot process(es), drive the load, stop them; return the figures."""
    result = Result(name)
    instances = 2 if name == "postgres-2" else 1
    webhook = name.startswith("postgres-")
    chats = [FIRST_CHAT + i for i in range(CHATS)]
    pg_name = f"bench_load_{os.getpid()}_{name.replace('-', '_')}"
    emulator = LoadEmulator(TOKEN)
    await emulator.start()
    balancer: Balancer | None = None
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for chat in chats:
            await emulator.register_private_chat(chat, f"Dân {chat}")
        codes = ["H23.22-000000-0001"]
        if name == "echo":
            log = workdir / f"{name}.log"
            logs.append(log)
            echo_bot = [sys.executable, str(ROOT / "benchmarks/echo_bot.py"), TOKEN]
            processes.append(spawn([*echo_bot, emulator.base_url], log))
        else:
            if name == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            else:
                url = await create_pg_database(pg_name)
            ports = [free_port() for _ in range(instances)]
            if webhook:
                balancer = Balancer(
                    [f"http://127.0.0.1:{port}/telegram/webhook" for port in ports], workdir
                )
                await balancer.start()
                result.balancer = balancer.kind
            for number, port in enumerate(ports):
                config = workdir / f"{name}-{number}.toml"
                hook = f"http://127.0.0.1:{balancer.port}/telegram/webhook" if balancer else ""
                write_config(config, emulator, url, port=port, webhook=hook)
                if number == 0:
                    codes = await prepare_database(url, config)
                log = workdir / f"{name}-{number}.log"
                logs.append(log)
                processes.append(
                    spawn([sys.executable, "-m", "bot", "run", "--config", str(config)], log)
                )
                if webhook:
                    await wait_until(
                        lambda p=port: healthy(f"http://127.0.0.1:{p}/healthz"), 60, "healthz"
                    )
        if webhook:
            await wait_until(lambda: emulator.requests("setWebhook"), 60, "setWebhook")
        else:
            await wait_until(lambda: emulator.requests("getUpdates"), 60, "polling")
        await burst(emulator, chats, min(args.burst, 500), codes, offset=3)  # warm-up
        postgres = name.startswith("postgres")
        if postgres:
            await asyncio.sleep(STATS_DELAY)
            transactions = await pg_transactions(pg_name)
        used = sum(cpu_seconds(p.pid) for p in processes)
        driver, server = time.process_time() + balancer_cpu(balancer), postgres_cpu_seconds()
        result.burst_rate, result.burst_missing = await burst(emulator, chats, args.burst, codes)
        used = sum(cpu_seconds(p.pid) for p in processes) - used
        if postgres:
            await asyncio.sleep(STATS_DELAY)
            transactions = await pg_transactions(pg_name) - transactions
            result.transactions = transactions / args.burst
        result.cpu_ms = used * 1000 / args.burst
        driver = time.process_time() + balancer_cpu(balancer) - driver
        result.driver_ms = driver * 1000 / args.burst
        result.server_ms = (postgres_cpu_seconds() - server) * 1000 / args.burst
        latencies, result.unanswered = await paced(emulator, chats, args.rate, args.seconds, codes)
        if len(latencies) >= 2:
            cuts = statistics.quantiles(latencies, n=100)
            result.p50_ms, result.p99_ms = statistics.median(latencies), cuts[98]
        result.rss_mb = max(peak_rss_mb(p.pid) for p in processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                result.exit_codes.append(process.wait(timeout=15))
            except subprocess.TimeoutExpired:
                process.kill()
                result.exit_codes.append(process.wait())
        if balancer is not None:
            await balancer.stop()
        await emulator.stop()
        if name.startswith("postgres"):
            with contextlib.suppress(Exception):
                await drop_pg_database(pg_name)
    result.tracebacks = sum(log.read_text(errors="replace").count("Traceback") for log in logs)
    return result


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    """Print the figures and the ratios to the echo bot and to SQLite."""
    # The echo bot runs first and last: the machine's speed drifts during a run, and the mean
    # of the two is the baseline all targets are compared with.
    echoes = [r.burst_rate for r in results if r.name == "echo"]
    base = statistics.mean(echoes) if echoes else 0.0
    print(
        f"\nburst {args.burst} updates from {CHATS} chats; paced {args.rate:g}/s for "
        f"{args.seconds:g} s; machine {os.cpu_count()} cores (shared: compare ratios)\n"
    )
    header = (
        f"{'target':<12}{'updates/s':>10}{'× echo':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'unanswered':>11}{'RSS MB':>8}{'CPU ms':>8}{'driver':>8}{'server':>8}{'tx/upd':>7}"
        "  exit  tracebacks"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r.burst_rate / base if base else float("nan")
        missing = f"{r.unanswered}+{r.burst_missing}"
        exits = ",".join(map(str, r.exit_codes))
        print(
            f"{r.name:<12}{r.burst_rate:>10.0f}{ratio:>8.2f}{r.p50_ms:>8.1f}{r.p99_ms:>8.1f}"
            f"{missing:>11}{r.rss_mb:>8.0f}{r.cpu_ms:>8.2f}{r.driver_ms:>8.2f}{r.server_ms:>8.2f}"
            f"{r.transactions:>7.2f}"
            f"  {exits:<5} {r.tracebacks}"
        )
    by_name = {r.name: r for r in results}
    balancers = sorted({r.balancer for r in results if r.balancer})
    if balancers:
        print(f"\nwebhook balancer: {', '.join(balancers)}")
    if "sqlite" in by_name and "postgres" in by_name and by_name["sqlite"].burst_rate:
        share = by_name["postgres"].burst_rate / by_name["sqlite"].burst_rate
        print(f"\nPostgreSQL / SQLite: {share:.2f}")
    if "postgres-1" in by_name and "postgres-2" in by_name and by_name["postgres-1"].burst_rate:
        scale = by_name["postgres-2"].burst_rate / by_name["postgres-1"].burst_rate
        print(f"two instances / one (webhook, PostgreSQL): {scale:.2f}")
    print(
        "(unanswered = paced + burst chats left without an answer; CPU ms per update: the bot's,"
        " all instances; driver = this process (emulator, load) and the balancer;"
        " server = PostgreSQL; tx/upd = PostgreSQL transactions per update)"
    )


async def main() -> None:
    """Run every target in turn, in one run, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--targets", default="echo,sqlite,postgres,postgres-1,postgres-2,echo")
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this directory")
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for name in args.targets.split(","):
            print(f"running {name} ...", flush=True)
            results.append(await run_target(name, args, Path(tmp)))
        if args.logs is not None:
            keep_logs(Path(tmp), args.logs)
    print_table(results, args)


if __name__ == "__main__":
    asyncio.run(main())
