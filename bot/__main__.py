"""`hotline` / `python -m bot`: the command line. Sub-commands parse arguments, nothing else."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config, ConfigError, default_config_path, load_config

if TYPE_CHECKING:  # the commands import what they use: `hotline classify` starts fast
    import asyncio

    from bot.app import HotlineApp

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
log = logging.getLogger("hotline")


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML config file (default: $HOTLINE_CONFIG, else ./config.toml, else built-ins)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Describe every sub-command and its arguments."""
    parser = argparse.ArgumentParser(prog="hotline", description="Public-service hotline bot")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="serve the configured channels and the web server")
    _config_option(run)

    sandbox = commands.add_parser("sandbox", help="offline demo with a Telegram emulator")
    sandbox.add_argument("--port", type=int, default=8080, help="web page port (default 8080)")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument(
        "--database", default="sandbox.db", help="SQLite file of the demo (default sandbox.db)"
    )
    _config_option(sandbox)

    classify = commands.add_parser("classify", help="classify complaints read from stdin")
    _config_option(classify)

    dossiers = commands.add_parser("dossiers", help="dossier operations")
    dossier_commands = dossiers.add_subparsers(dest="dossier_command", required=True)
    importer = dossier_commands.add_parser("import", help="upsert dossiers from CSV or JSON Lines")
    importer.add_argument("file", type=Path)
    _config_option(importer)

    sweep = commands.add_parser("sweep", help="run the deadline sweeper")
    sweep.add_argument("--once", action="store_true", required=True, help="run one pass")
    sweep.add_argument("--now", default=None, help="as of this ISO 8601 instant")
    _config_option(sweep)

    database = commands.add_parser("db", help="database operations")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply database migrations")
    _config_option(upgrade)
    _triage_parsers(commands)

    # --- reports (issue 9) ---
    report = commands.add_parser("report", help="monthly per-agency scorecard")
    report.add_argument("--month", required=True, help="the month, YYYY-MM")
    report.add_argument(
        "--format", choices=("table", "csv", "xlsx", "png"), default="table", dest="fmt"
    )
    report.add_argument(
        "--out", type=Path, default=None, help="write here (xlsx, png: bang-diem-YYYY-MM.*)"
    )
    report.add_argument("--lang", choices=("vi", "en"), default="vi", help="labels (vi)")
    report.add_argument("--now", default=None, help="as of this ISO 8601 instant")
    _config_option(report)
    # --- console (issue 8): console users ---
    users = commands.add_parser("users", help="web console users")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="add a user (password read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="operator, leader or agency:AGENCY_ID")
    _config_option(add)
    listing = user_commands.add_parser("list", help="list the users")
    _config_option(listing)
    disable = user_commands.add_parser("disable", help="disable a user and end their sessions")
    disable.add_argument("name")
    _config_option(disable)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    # alembic's set-up chatter says nothing to an operator; migrations speak under `db` only
    logging.getLogger("alembic").setLevel(
        logging.INFO if args.command == "db" else logging.WARNING
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        config = load_config(args.config if args.config else default_config_path())
    except ConfigError as exc:
        print(f"hotline: bad config: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    command: Callable[[argparse.Namespace, Config], int] = COMMANDS[args.command]
    try:
        return command(args, config)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # the reader left (`hotline triage learned | head`): nothing more to say, and Python
        # must not complain again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _run_async(coro: Coroutine[Any, Any, int]) -> int:
    # Imported here, as elsewhere in this module: `hotline classify` must start fast.
    import asyncio

    return asyncio.run(coro)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """`hotline run`."""
    from telegram.error import TelegramError

    from bot.app import HotlineApp

    if not config.telegram.enabled and not config.zalo.enabled:
        print(
            "hotline: no channel configured: set [telegram] token (or HOTLINE_TELEGRAM_TOKEN)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT

    async def serve() -> int:
        import asyncio

        app = HotlineApp(config)
        _stop_on_signals(app, asyncio.current_task())
        try:
            async with app:
                _freeze_the_heap_built_at_start()
                await app.wait_until_stopped()
        except asyncio.CancelledError:
            return EXIT_OK  # a signal during start-up: what had started was stopped
        except TelegramError as exc:
            # PTB's messages never include the token; the base URL is shown without it.
            print(
                f"hotline: cannot start the Telegram channel at {config.telegram.base_url}: {exc}",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        return EXIT_OK

    return _run_async(serve())


def _freeze_the_heap_built_at_start() -> None:
    """Keep what start-up built (classifier, modules, mappers) out of the garbage collector's
    full passes, which otherwise walk it all: pauses of 60-110 ms under load (bench_load), and
    forked classify workers then share those pages instead of copying them."""
    import gc

    gc.collect()
    gc.freeze()


def _stop_on_signals(app: HotlineApp, starting: asyncio.Task[Any] | None) -> None:
    """SIGINT and SIGTERM stop the app gracefully; during start-up they cancel the start,
    which stops whatever had started (a start can wait long on an unreachable server)."""
    import asyncio

    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if app.started or starting is None:
            asyncio.ensure_future(app.stop())
        else:
            starting.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


def cmd_sandbox(args: argparse.Namespace, config: Config) -> int:
    """`hotline sandbox`."""
    from bot.sandbox import run_sandbox

    return _run_async(run_sandbox(config, host=args.host, port=args.port, database=args.database))


def cmd_classify(args: argparse.Namespace, config: Config) -> int:
    """`hotline classify`: one complaint per line in, one JSON decision per line out."""
    from bot.classify_stream import classify_stream
    from bot.domain.triage import Classifier

    classifier = Classifier.from_config(config)
    _add_learned(classifier, config)
    _freeze_the_heap_built_at_start()
    classify_stream(classifier, sys.stdin, sys.stdout)
    sys.stdout.flush()
    return EXIT_OK


def cmd_dossiers(args: argparse.Namespace, config: Config) -> int:
    """`hotline dossiers import FILE`."""
    from bot.domain.dossiers import DossierImportError, format_import_report
    from bot.dossier_import import import_dossiers
    from bot.inbox import system_clock
    from storage.db import Database

    if not args.file.is_file():
        print(f"hotline: {args.file}: file not found", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
            report = await import_dossiers(args.file, db=db, config=config, now=system_clock())
        except DossierImportError as exc:
            print(f"hotline: {args.file}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            await db.dispose()
        print(format_import_report(report))
        return EXIT_BAD_INPUT if report.rejected else EXIT_OK

    return _run_async(run())


def cmd_sweep(args: argparse.Namespace, config: Config) -> int:
    """`hotline sweep --once [--now ISO]`."""
    from bot.inbox import system_clock
    from bot.sweeper import sweep_once
    from storage.db import Database

    now = started = system_clock()
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"hotline: --now {args.now!r} is not an ISO 8601 instant", file=sys.stderr)
            return EXIT_BAD_INPUT
        if now.tzinfo is None:
            print("hotline: --now needs a UTC offset: 2026-11-23T09:00+07:00", file=sys.stderr)
            return EXIT_BAD_INPUT

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
            # As of --now, but what it queues may go out at once (issue 8).
            result = await sweep_once(db=db, config=config, now=now, deliver_at=started)
        finally:
            await db.dispose()
        print(result)
        return EXIT_OK

    return _run_async(run())


def cmd_db(args: argparse.Namespace, config: Config) -> int:
    """`hotline db upgrade`."""
    from storage.db import Database

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
        finally:
            await db.dispose()
        print("database is up to date")
        return EXIT_OK

    return _run_async(run())


# --- reports (issue 9) ---
def cmd_report(args: argparse.Namespace, config: Config) -> int:
    """`hotline report --month YYYY-MM [--format table|csv|xlsx|png] [--out FILE]`."""
    from bot.domain.reports import Month, MonthError, check_reportable, compute_scorecard
    from bot.inbox import system_clock
    from handlers.reports import file_stem, render
    from storage.db import Database

    now = system_clock()
    try:
        if args.now:
            now = datetime.fromisoformat(args.now)
            if now.tzinfo is None:
                raise MonthError("--now needs a UTC offset: 2026-12-01T09:00+07:00")
        month = Month.parse(args.month)
        check_reportable(month, now, config.work_calendar)
    except ValueError as exc:  # MonthError, and a --now that is not ISO 8601
        print(f"hotline: report: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
            card = await compute_scorecard(db=db, config=config, month=month, now=now)
        finally:
            await db.dispose()
        data = render(card, args.fmt, args.lang)
        out: Path | None = args.out
        if out is None and args.fmt in ("xlsx", "png"):
            out = Path(f"{file_stem(card)}.{args.fmt}")
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return EXIT_OK
        try:
            out.write_bytes(data)
        except OSError as exc:
            print(f"hotline: report: cannot write {out}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"{out}: {len(card.rows)} agencies, {card.totals.received} tickets received")
        return EXIT_OK

    return _run_async(run())


# --- console (issue 8) ---

USER_ERRORS = {
    "bad_name": "the name must be 1 to 64 characters without spaces",
    "bad_role": "the role must be operator, leader or agency:AGENCY_ID",
    "unknown_agency": "no such agency in the directory",
    "short_password": "the password must be at least {detail} characters",
    "name_taken": "a user of that name exists",
    "unknown_user": "no such user",
}


def _read_password() -> str:
    """Read the password from stdin: typed twice at a terminal, else its first line."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            return ""
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users(args: argparse.Namespace, config: Config) -> int:
    """`hotline users add NAME --role ROLE` / `list` / `disable NAME`."""
    from bot.domain import accounts
    from bot.inbox import system_clock
    from storage import console as console_store
    from storage.db import Database

    password = _read_password() if args.users_command == "add" else ""
    if args.users_command == "add" and not password:
        print("hotline: no password on stdin (or the two did not match)", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
            async with db.transaction() as session:
                if args.users_command == "add":
                    user = await accounts.add_user(
                        session=session,
                        config=config,
                        name=args.name,
                        role=args.role,
                        password=password,
                        now=system_clock(),
                    )
                    print(f"added {user.name} ({args.role})")
                elif args.users_command == "disable":
                    user = await accounts.disable_user(session=session, name=args.name)
                    print(f"disabled {user.name}")
                else:
                    for user in await console_store.list_users(session=session):
                        role = f"agency:{user.agency_id}" if user.agency_id else user.role
                        state = "disabled" if user.disabled else "active"
                        print(f"{user.name}\t{role}\t{state}")
        except accounts.AccountError as exc:
            reason = USER_ERRORS.get(exc.reason, exc.reason).format(detail=exc.detail)
            print(f"hotline: {exc.detail or args.name}: {reason}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            await db.dispose()
        return EXIT_OK

    return _run_async(run())


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "run": cmd_run,
    "sandbox": cmd_sandbox,
    "classify": cmd_classify,
    "dossiers": cmd_dossiers,
    "sweep": cmd_sweep,
    "db": cmd_db,
    # --- reports (issue 9) ---
    "report": cmd_report,
    "users": cmd_users,  # console (issue 8)
}


# --- triage learning (issue 7) ---


def _triage_parsers(commands: Any) -> None:
    triage = commands.add_parser("triage", help="what triage learned from the province")
    triage_commands = triage.add_subparsers(dest="triage_command", required=True)
    learn = triage_commands.add_parser(
        "learn", help="learn from past tickets (JSON Lines or CSV: text, category, agency)"
    )
    learn.add_argument("file", type=Path)
    _config_option(learn)
    learned = triage_commands.add_parser("learned", help="list the learned phrases")
    learned.add_argument(
        "--category",
        default=None,
        help="only this category's phrases ('(conduct)': the detector's)",
    )
    _config_option(learned)
    forget = triage_commands.add_parser("forget", help="remove a learned phrase")
    forget.add_argument("phrase")
    _config_option(forget)


def _add_learned(classifier: Any, config: Config) -> None:
    """Put the database's learned phrases on top of the classifier's shipped weights."""
    if classifier.learned is None:
        return
    from storage.learned_read import LearnedUnreadable, read_learned_weights

    async def through_storage() -> list[tuple[str, str, float, int]]:
        from storage.db import Database
        from storage.learned import learned_weights

        db = Database(config.storage.url)
        try:
            async with db.transaction() as session:
                return await learned_weights(session)
        finally:
            await db.dispose()

    try:
        rows = read_learned_weights(config.storage.url, through_storage)
    except LearnedUnreadable as exc:
        log.warning("no learned triage phrases read: %s", exc)
        return
    if rows:
        classifier.learned = classifier.learned.with_rows(rows)


def cmd_triage(args: argparse.Namespace, config: Config) -> int:
    """`hotline triage learn FILE | learned [--category ID] | forget PHRASE`."""
    from bot.inbox import system_clock
    from storage.db import Database

    if args.triage_command == "learn" and not args.file.is_file():
        print(f"hotline: {args.file}: file not found", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def run() -> int:
        db = Database(config.storage.url)
        try:
            await db.upgrade()
            return await _triage(args, config, db, system_clock())
        finally:
            await db.dispose()

    return _run_async(run())


async def _triage(args: argparse.Namespace, config: Config, db: Any, now: datetime) -> int:
    from bot.domain.text import normalize
    from storage.learned import forget_phrase, learned_phrases

    if args.triage_command == "learn":
        from bot.learning import learn_file

        try:
            report = await learn_file(args.file, db, config, now)
        except UnicodeDecodeError:
            print(f"hotline: {args.file}: not UTF-8; save the file as UTF-8", file=sys.stderr)
            return EXIT_BAD_INPUT
        for line, reason in report.rejected:
            print(f"{args.file}:{line}: {reason}; skipped", file=sys.stderr)
        measured = (
            f"; routing threshold {report.threshold:.2f}, measured on its tickets"
            if report.threshold is not None
            else ""
        )
        print(
            f"learned from {report.taught} of {report.read} rows: "
            f"{report.phrases} phrase weights; {len(report.rejected)} rows skipped{measured}"
        )
        return EXIT_BAD_INPUT if report.rejected else EXIT_OK
    if args.triage_command == "learned":
        from bot.domain.learned import CONDUCT_ROWS, THRESHOLD_ROWS

        known = {c.id for c in config.categories} | {CONDUCT_ROWS, THRESHOLD_ROWS}
        if args.category is not None and args.category not in known:
            print(f"hotline: unknown category {args.category!r}", file=sys.stderr)
            return EXIT_BAD_INPUT
        async with db.transaction() as session:
            rows = await learned_phrases(session, args.category)
        print("phrase\tcategory\tweight\ttickets")
        for row in rows:
            # the threshold's row has no phrase: its weight is the routing threshold
            if (row.phrase or row.category_id == THRESHOLD_ROWS) and row.tickets:
                print(f"{row.phrase}\t{row.category_id}\t{row.weight:+.3f}\t{row.tickets}")
        return EXIT_OK
    phrase = " ".join(normalize(args.phrase).folded_tokens)
    if not phrase:
        # the empty phrase carries the learned intercepts and the measured threshold
        print(f"hotline: {args.phrase!r} is no phrase: give the words to forget", file=sys.stderr)
        return EXIT_BAD_INPUT
    async with db.transaction() as session:
        removed = await forget_phrase(session, phrase, now)
    if not removed:
        print(f"hotline: nothing learned for {args.phrase!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"forgot {phrase!r} ({removed} weights)")
    return EXIT_OK


COMMANDS["triage"] = cmd_triage


if __name__ == "__main__":
    sys.exit(main())
