"""Fuzzing with hypothesis: odd texts, captions, buttons, contacts, locations, import rows and
webhook bodies of both channels never crash the bot, and every citizen message gets a reply."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import zalo
from bot.channels.telegram import incoming_from_json
from bot.chat import Attachment, Contact, Incoming, Location
from bot.config import Config
from bot.domain.dossiers import AgencyIndex, SourceRow, end_of_working_day, validate_row
from bot.domain.triage import Classifier
from bot.inbox import Inbox
from storage.db import Database
from storage.directory import sync_directory
from tests.harness import FakeClock

# Pure converters are cheap; a pass through the inbox (a transaction each) less so.
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FUZZ_INBOX = settings(FUZZ, max_examples=60)
COMMANDS = ("/start", "/hoso", "/lookup", "/phananh", "/theodoi", "/lang", "/huy", "/help", "/x")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
texts = st.one_of(
    st.text(max_size=300),
    st.builds(lambda c, rest: f"{c} {rest}", st.sampled_from(COMMANDS), st.text(max_size=120)),
    st.sampled_from(["<b>", "&amp;", "H23.22-230825-0001 1234", "🙂" * 50, "a" * 4096]),
)


class Bench:
    """An Inbox on a migrated SQLite database, driven from synchronous hypothesis tests."""

    def __init__(self, config: Config, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database(f"sqlite+aiosqlite:///{path}")
        self.inbox = Inbox(
            db=self.db, config=config, classifier=Classifier.from_config(config), clock=FakeClock()
        )
        self.ids = itertools.count(1)
        self.run(self.db.upgrade())
        self.run(self._sync(config))

    async def _sync(self, config: Config) -> None:
        async with self.db.transaction() as session:
            await sync_directory(session=session, config=config)

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine to completion on this bench's loop."""
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Close the database and the loop."""
        self.run(self.db.dispose())
        self.loop.close()


@pytest.fixture(scope="module")
def bench(config: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    fuzz_bench = Bench(config, tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    yield fuzz_bench
    fuzz_bench.close()


def citizen_message(bench: Bench, chat: int, **fields: Any) -> Incoming:
    return Incoming(
        channel="telegram",
        chat_id=str(chat),
        user_id=str(chat),
        update_id=str(next(bench.ids)),
        user_name="Dân",
        **fields,
    )


@FUZZ_INBOX
@given(chat=st.integers(1, 5), text=texts, photo=st.booleans())
def test_fuzz_text_and_captions_always_get_a_reply(
    bench: Bench, chat: int, text: str, photo: bool
) -> None:
    attachments = (Attachment("photo", "AgAD-fuzz"),) if photo else ()
    msg = citizen_message(bench, chat, text=text, attachments=attachments)
    replies = bench.run(bench.inbox.handle(msg))
    assert replies, f"no reply to {text!r}"


@FUZZ_INBOX
@given(
    chat=st.integers(1, 5),
    data=st.one_of(st.text(max_size=64), st.from_regex(r"[a-z]{1,3}:.{0,20}")),
)
def test_fuzz_callback_data_always_gets_a_reply(bench: Bench, chat: int, data: str) -> None:
    msg = citizen_message(bench, chat, callback_data=data, callback_message_id="7")
    replies = bench.run(bench.inbox.handle(msg))
    assert replies, f"no reply to button {data!r}"


@FUZZ_INBOX
@given(
    chat=st.integers(1, 5),
    phone=st.text(max_size=30),
    name=st.text(max_size=40),
    latitude=st.floats(-90, 90),
    longitude=st.floats(-180, 180),
    as_contact=st.booleans(),
)
def test_fuzz_contacts_and_locations_always_get_a_reply(
    bench: Bench,
    chat: int,
    phone: str,
    name: str,
    latitude: float,
    longitude: float,
    as_contact: bool,
) -> None:
    if as_contact:
        msg = citizen_message(bench, chat, contact=Contact(phone=phone, name=name))
    else:
        msg = citizen_message(bench, chat, location=Location(latitude, longitude))
    assert bench.run(bench.inbox.handle(msg))


@FUZZ
@given(
    update=st.dictionaries(
        st.sampled_from(["update_id", "message", "callback_query", "edited_message"]),
        json_values,
        max_size=4,
    )
)
def test_fuzz_telegram_update_bodies_never_raise(update: dict[str, Any]) -> None:
    incoming = incoming_from_json(update)
    assert incoming is None or isinstance(incoming, Incoming)


@FUZZ
@given(
    message=st.dictionaries(
        st.sampled_from(["from", "chat", "text", "message_id", "photo", "caption", "date"]),
        json_values,
        max_size=6,
    ),
    event_name=json_values,
)
def test_fuzz_telegram_message_shapes_never_raise(
    message: dict[str, Any], event_name: Any
) -> None:
    for update in (
        {"update_id": 1, "message": message},
        {
            "update_id": 2,
            "callback_query": {
                "id": "q",
                "from": message.get("from"),
                "message": message,
                "data": event_name,
            },
        },
    ):
        incoming = incoming_from_json(update)
        assert incoming is None or isinstance(incoming, Incoming)


@FUZZ
@given(
    message=st.dictionaries(
        st.sampled_from(["from", "chat", "text", "message_id", "photo_url", "sticker", "caption"]),
        json_values,
        max_size=6,
    ),
    event_name=json_values,
    wrapped=st.booleans(),
)
def test_fuzz_zalo_update_bodies_never_raise(
    message: dict[str, Any], event_name: Any, wrapped: bool
) -> None:
    update: dict[str, Any] = {"event_name": event_name, "message": message}
    incoming = zalo.incoming_from_update({"result": update} if wrapped else update)
    assert incoming is None or isinstance(incoming, Incoming)
    assert isinstance(zalo.updates_of(update), list)


IMPORT_FIELDS = (
    "code",
    "procedure",
    "agency",
    "applicant_name",
    "applicant_id",
    "phone",
    "received_at",
    "due_at",
    "status",
    "completed_at",
    "new_due_at",
    "apology_reason",
)


@FUZZ
@given(
    row=st.dictionaries(
        st.sampled_from(IMPORT_FIELDS),
        st.one_of(st.text(max_size=40), st.integers(), st.none(), st.floats(allow_nan=False)),
        max_size=len(IMPORT_FIELDS),
    )
)
def test_fuzz_import_rows_are_taken_or_refused_with_a_reason(
    config: Config, row: dict[str, Any]
) -> None:
    values, reason = validate_row(
        SourceRow(2, row), agencies=AgencyIndex.of(config), end_of_day=end_of_working_day(config)
    )
    assert (values is None) != (reason is None)
    assert reason is None or reason.strip()
