"""Work lists of the staff groups: the queries on both databases, the commands through the
inbox, and `/danhsach` and `/hangdoi` end to end through the Telegram emulator."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.chat import Incoming, Reply
from bot.config import Config
from bot.domain import tickets
from bot.domain.tickets import Reporter
from bot.domain.triage import Classifier
from bot.inbox import Inbox
from handlers.messages import fmt_datetime
from storage import tickets as ticket_store
from storage.db import Database
from storage.models import Ticket, TicketState
from tests.harness import AGENCY_USER, OPERATOR_USER, OPERATORS, Harness, running_bot
from tests.test_e2e_citizen import file_complaint, ticket_of
from tests.test_tickets import OPERATORS as OPERATORS_CHAT
from tests.test_tickets import agency_chat, at, decision, wired

NOW = at(26, 10)  # Thursday 26/11/2026 10:00
AGENCY_STATES = ticket_store.AGENCY_WORK_STATES
_updates = itertools.count(1)
_codes = itertools.count(1)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


async def make(
    db: Database,
    *,
    state: TicketState,
    agency: str | None = "xay-dung",
    due: datetime | None = None,
    triage_due: datetime | None = None,
    paused: datetime | None = None,
    category: str = "giao-thong",
    suggestions: list[list[object]] | None = None,
) -> Ticket:
    """Insert a ticket with exactly these clocks."""
    ticket = Ticket(
        code=f"PA-2026-{next(_codes):06d}",
        channel="telegram",
        chat_id="501",
        category_id=category,
        agency_id=agency,
        state=state,
        created_at=at(23, 9),
        resolve_due_at=due,
        triage_due_at=triage_due,
        paused_at=paused,
        suggestions=suggestions or [],
        text="Đường có ổ gà",
    )
    async with db.transaction() as session:
        await ticket_store.add_ticket(session=session, ticket=ticket)
    return ticket


class Desk:
    """Tickets in every situation a work list must tell apart, as of NOW."""

    def __init__(self) -> None:
        self.by_name: dict[str, Ticket] = {}

    async def fill(self, db: Database) -> Desk:
        s = TicketState
        self.by_name = {
            "accepted_later": await make(db, state=s.ACCEPTED, due=at(27, 9)),
            "routed_overdue": await make(db, state=s.ROUTED, due=at(25, 15)),
            # Paused before its due time: not overdue although the due time has passed.
            "waiting_in_time": await make(
                db, state=s.WAITING_CITIZEN, due=at(25, 9), paused=at(23, 10)
            ),
            # Paused after its due time: it stays overdue.
            "waiting_overdue": await make(
                db, state=s.WAITING_CITIZEN, due=at(23, 11), paused=at(25, 10)
            ),
            "resolved": await make(db, state=s.RESOLVED, due=at(23, 10)),
            "other_agency_overdue": await make(
                db, state=s.ACCEPTED, agency="nn-mt", due=at(26, 9), category="moi-truong"
            ),
            "triage_overdue": await make(
                db,
                state=s.TRIAGE,
                agency=None,
                triage_due=at(26, 9),
                category="khac",
                suggestions=[["moi-truong", "nn-mt", 0.42], ["khac", "triage", 0.2]],
            ),
            "triage_later": await make(
                db, state=s.TRIAGE, agency=None, triage_due=at(26, 11), category="khac"
            ),
            "accepted_latest": await make(db, state=s.ACCEPTED, due=at(30, 9)),
            "exactly_due": await make(db, state=s.ACCEPTED, agency="y-te", due=NOW),
        }
        return self

    def codes(self, *names: str) -> list[str]:
        return [self.by_name[name].code for name in names]

    def ids(self, *names: str) -> list[int | None]:
        return [self.by_name[name].id for name in names]


@pytest.fixture
async def desk(db: Database) -> Desk:
    return await Desk().fill(db)


# --- queries ---------------------------------------------------------------------------------


async def test_agency_work_lists_overdue_first_then_by_due(db: Database, desk: Desk) -> None:
    async with db.transaction() as session:
        page = await ticket_store.list_agency_work(session=session, agency_id="xay-dung", now=NOW)
    assert [t.code for t in page.tickets] == desk.codes(
        "waiting_overdue", "routed_overdue", "waiting_in_time", "accepted_later", "accepted_latest"
    )
    assert page.total == 5


async def test_agency_work_limit_counts_the_rest(db: Database, desk: Desk) -> None:
    async with db.transaction() as session:
        page = await ticket_store.list_agency_work(
            session=session, agency_id="xay-dung", now=NOW, limit=2
        )
        overdue = await ticket_store.list_agency_work(
            session=session, agency_id="xay-dung", now=NOW, overdue_only=True
        )
        none = await ticket_store.list_agency_work(session=session, agency_id="thue", now=NOW)
    assert [t.code for t in page.tickets] == desk.codes("waiting_overdue", "routed_overdue")
    assert page.total == 5
    assert [t.code for t in overdue.tickets] == desk.codes("waiting_overdue", "routed_overdue")
    assert overdue.total == 2
    assert none.tickets == [] and none.total == 0


async def test_triage_queue_by_triage_due(db: Database, desk: Desk) -> None:
    async with db.transaction() as session:
        page = await ticket_store.list_triage_queue(session=session)
    assert [t.code for t in page.tickets] == desk.codes("triage_overdue", "triage_later")
    assert page.total == 2


async def test_overdue_across_agencies_and_counts(db: Database, desk: Desk) -> None:
    async with db.transaction() as session:
        page = await ticket_store.list_overdue(session=session, now=NOW)
        counts = await ticket_store.count_overdue_by_agency(session=session, now=NOW)
    assert [t.code for t in page.tickets] == desk.codes(
        "waiting_overdue",
        "routed_overdue",
        "other_agency_overdue",
        "triage_overdue",
        "exactly_due",
    )
    assert counts == {"xay-dung": 2, "nn-mt": 1, None: 1, "y-te": 1}


async def test_overdue_query_agrees_with_the_rule(db: Database, desk: Desk) -> None:
    for now in (at(23, 9), at(25, 10), NOW, at(27, 9), at(2, 9, month=12)):
        async with db.transaction() as session:
            page = await ticket_store.list_overdue(session=session, now=now, limit=100)
        by_rule = {t.code for t in desk.by_name.values() if tickets.is_overdue(t, now)}
        assert {t.code for t in page.tickets} == by_rule, now


async def test_lists_are_the_head_of_their_whole_order(db: Database) -> None:
    """Every page, at every size, is the first tickets of the whole list sorted by its rule:
    the slices read in index order and merged lose nothing at their seams (ties on the due
    time broken by id, no due time last, paused clocks on either side of their due)."""
    rng = random.Random(1022)
    instants = [NOW + timedelta(hours=h) for h in (-30, -5, -1, 0, 2, 30)]
    s = TicketState
    made: list[Ticket] = []
    for _ in range(70):
        state = rng.choice([s.TRIAGE, s.ROUTED, s.ACCEPTED, s.WAITING_CITIZEN, s.RESOLVED])
        queued = state == s.TRIAGE
        made.append(
            await make(
                db,
                state=state,
                agency=None if queued else rng.choice(["xay-dung", "y-te"]),
                due=None if queued or rng.random() < 0.15 else rng.choice(instants),
                triage_due=rng.choice([None, *instants]) if queued else None,
                paused=rng.choice([None, *instants[:4]]) if state == s.WAITING_CITIZEN else None,
            )
        )

    def by_due(due: datetime | None, ticket: Ticket) -> tuple[bool, datetime, int]:
        return (due is None, due or NOW, ticket.id or 0)

    agency = sorted(
        (t for t in made if t.agency_id == "xay-dung" and t.state in AGENCY_STATES),
        key=lambda t: (not tickets.is_overdue(t, NOW), *by_due(t.resolve_due_at, t)),
    )
    queue = sorted(
        (t for t in made if t.state == s.TRIAGE), key=lambda t: by_due(t.triage_due_at, t)
    )
    late = sorted(
        (t for t in made if tickets.is_overdue(t, NOW)),
        key=lambda t: by_due(t.triage_due_at if t.state == s.TRIAGE else t.resolve_due_at, t),
    )
    assert agency and queue and late and len(late) < len(made)
    for limit in (1, 2, 5, 100):
        async with db.transaction() as session:
            pages = {
                "agency": await ticket_store.list_agency_work(
                    session=session, agency_id="xay-dung", now=NOW, limit=limit
                ),
                "agency overdue": await ticket_store.list_agency_work(
                    session=session, agency_id="xay-dung", now=NOW, overdue_only=True, limit=limit
                ),
                "queue": await ticket_store.list_triage_queue(session=session, limit=limit),
                "overdue": await ticket_store.list_overdue(session=session, now=NOW, limit=limit),
            }
            counts = await ticket_store.count_overdue_by_agency(session=session, now=NOW)
        wanted = {
            "agency": agency,
            "agency overdue": [t for t in agency if tickets.is_overdue(t, NOW)],
            "queue": queue,
            "overdue": late,
        }
        for name, page in pages.items():
            expected = [t.code for t in wanted[name]]
            assert [t.code for t in page.tickets] == expected[:limit], (name, limit)
            assert page.total == len(expected), (name, limit)
        assert counts == dict(Counter(t.agency_id for t in late))


async def test_count_events_and_claim_resolved_before(db: Database, desk: Desk) -> None:
    resolved = desk.by_name["resolved"]
    async with db.transaction() as session:
        locked = await ticket_store.get_ticket(session=session, ticket_id=resolved.id or 0)
        assert locked is not None
        locked.resolved_at = at(23, 12)
        for _ in range(2):
            await ticket_store.add_event(session=session, ticket=locked, kind="rated", at=NOW)
    async with db.transaction() as session:
        assert (
            await ticket_store.count_events(
                session=session, ticket_id=resolved.id or 0, kind="rated"
            )
            == 2
        )
        assert (
            await ticket_store.count_events(
                session=session, ticket_id=resolved.id or 0, kind="reopened"
            )
            == 0
        )
        before = await ticket_store.claim_resolved_before(
            session=session, resolved_before=at(23, 12), limit=10
        )
        after = await ticket_store.claim_resolved_before(
            session=session, resolved_before=at(23, 12, 1), limit=10
        )
    assert before == []
    assert [t.code for t in after] == [resolved.code]


# --- commands through the inbox --------------------------------------------------------------


class Groups:
    """Speak in the staff groups through the real inbox at NOW."""

    def __init__(self, db: Database, config: Config) -> None:
        self.config = config
        self.now = NOW
        self.inbox = Inbox(
            db=db, config=config, classifier=Classifier.from_config(config), clock=lambda: self.now
        )

    async def send(
        self, chat: str, *, text: str = "", button: str | None = None, user: str = "701"
    ) -> list[Reply]:
        return await self.inbox.handle(
            Incoming(
                channel="telegram",
                chat_id=chat,
                user_id=user,
                update_id=str(next(_updates)),
                text=text,
                callback_data=button,
                is_private=False,
            )
        )

    async def agency(self, agency_id: str, text: str = "", button: str | None = None) -> str:
        replies = await self.send(agency_chat(self.config, agency_id), text=text, button=button)
        return "\n".join(r.text for r in replies)

    async def operators(self, text: str = "", button: str | None = None) -> list[Reply]:
        return await self.send(str(OPERATORS_CHAT), text=text, button=button, user="601")


@pytest.fixture
def groups(db: Database, cfg: Config) -> Groups:
    return Groups(db, cfg)


async def test_danhsach_lists_the_agency_work(groups: Groups, desk: Desk) -> None:
    text = await groups.agency("xay-dung", "/danhsach")
    lines = [line for line in text.splitlines() if "PA-2026-" in line]
    expected = desk.codes(
        "waiting_overdue", "routed_overdue", "waiting_in_time", "accepted_later", "accepted_latest"
    )
    assert [next(c for c in expected if c in line) for line in lines] == expected
    assert "Sở Xây dựng" in text and "(5," in text
    assert [line.startswith("⚠️ quá hạn") for line in lines] == [True, True, False, False, False]
    assert "Hạ tầng giao thông, vận tải" in lines[0]
    assert "hạn 11:00 23/11/2026 (tạm dừng)" in lines[0] and "chờ người dân trả lời" in lines[0]
    assert "hạn 15:00 25/11/2026 — chờ tiếp nhận" in lines[1]
    assert "đang xử lý" in lines[3]
    assert await groups.agency("xay-dung", "/list") == text


async def test_quahan_in_an_agency_lists_only_overdue(groups: Groups, desk: Desk) -> None:
    text = await groups.agency("xay-dung", "/quahan")
    assert [c for c in desk.codes(*desk.by_name) if c in text] == desk.codes(
        "routed_overdue", "waiting_overdue"
    )
    assert "quá hạn của Sở Xây dựng" in text and "(2)" in text
    assert await groups.agency("xay-dung", "/overdue@hotline_bot") == text
    assert "không có phản ánh nào quá hạn" in await groups.agency("thue", "/quahan")
    assert "không có phản ánh nào đang mở" in await groups.agency("thue", "/danhsach")


async def test_danhsach_shows_thirty_and_counts_the_rest(
    groups: Groups, db: Database, cfg: Config
) -> None:
    for minute in range(32):
        await make(db, state=TicketState.ACCEPTED, agency="thue", due=at(27, 8, minute))
    replies = await groups.send(agency_chat(cfg, "thue"), text="/danhsach")
    text = "\n".join(r.text for r in replies)
    assert sum("PA-2026-" in line for line in text.splitlines()) == 30
    assert "… và 2 phản ánh khác." in text
    assert all(len(r.text) <= 4096 for r in replies)


async def test_agency_list_keeps_a_pending_dialog(
    groups: Groups, db: Database, cfg: Config, desk: Desk
) -> None:
    ticket = desk.by_name["accepted_later"]
    prompt = await groups.agency("xay-dung", button=f"ag:{ticket.id}:resolve")
    assert "trả lời người dân" in prompt
    assert "PA-2026-" in await groups.agency("xay-dung", "/danhsach")
    done = await groups.agency("xay-dung", "Đã vá xong ổ gà.")
    assert "Đã gửi kết quả" in done


async def test_hangdoi_lists_the_queue_with_card_buttons(groups: Groups, desk: Desk) -> None:
    (reply,) = await groups.operators("/hangdoi")
    lines = [line for line in reply.text.splitlines() if "PA-2026-" in line]
    assert len(lines) == 2
    assert lines[0].startswith("⚠️ quá hạn") and desk.codes("triage_overdue")[0] in lines[0]
    assert "Môi trường, ô nhiễm, rác thải → Sở Nông nghiệp và Môi trường (42%)" in lines[0]
    assert "hạn 09:00 26/11/2026" in lines[0]
    assert "Khác" in lines[1] and not lines[1].startswith("⚠️")
    buttons = [b for row in reply.buttons for b in row]
    assert [b.data for b in buttons] == [
        f"wl:{i}" for i in desk.ids("triage_overdue", "triage_later")
    ]
    assert [b.text for b in buttons] == [
        f"🧭 {code}" for code in desk.codes("triage_overdue", "triage_later")
    ]
    (queue,) = await groups.operators("/queue")
    assert queue.text == reply.text


async def test_queue_button_posts_the_card_with_routing_buttons(
    groups: Groups, db: Database, desk: Desk
) -> None:
    ticket = desk.by_name["triage_overdue"]
    (card,) = await groups.operators(button=f"wl:{ticket.id}")
    assert card.chat_id is None  # to the operators' group, where the button was pressed
    assert "Cần phân loại" in card.text and ticket.code in card.text
    data = [b.data for row in card.buttons for b in row]
    assert data == [f"op:{ticket.id}:route:nn-mt", f"op:{ticket.id}:pick"]
    routed = await groups.operators(button=f"op:{ticket.id}:route:nn-mt")
    assert "Đã chuyển phản ánh" in routed[0].text
    (stale,) = await groups.operators(button=f"wl:{ticket.id}")
    assert "không còn chờ phân loại" in stale.text and "Sở Nông nghiệp và Môi trường" in stale.text


async def test_queue_button_is_refused_outside_the_operators_group(
    groups: Groups, cfg: Config, desk: Desk
) -> None:
    ticket = desk.by_name["triage_overdue"]
    in_agency = await groups.agency("xay-dung", button=f"wl:{ticket.id}")
    assert "Cần phân loại" not in in_agency and "thao tác cũ" in in_agency
    private = await groups.inbox.handle(
        Incoming(
            channel="telegram",
            chat_id="501",
            user_id="501",
            update_id=str(next(_updates)),
            callback_data=f"wl:{ticket.id}",
        )
    )
    assert "không có quyền" in private[0].text


async def test_quahan_for_operators_groups_by_agency(groups: Groups, desk: Desk) -> None:
    (reply,) = await groups.operators("/quahan")
    text = reply.text
    order = [
        "<b>Sở Xây dựng</b> — 2 quá hạn",
        desk.by_name["waiting_overdue"].code,
        desk.by_name["routed_overdue"].code,
        "<b>Sở Nông nghiệp và Môi trường</b> — 1 quá hạn",
        desk.by_name["other_agency_overdue"].code,
        "<b>Chờ phân loại (tổng đài viên)</b> — 1 quá hạn",
        desk.by_name["triage_overdue"].code,
        "<b>Sở Y tế</b> — 1 quá hạn",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "(5)" in text
    assert "trễ 4 giờ làm việc" in text  # routed_overdue: 15:00 25/11 → 10:00 26/11
    assert "trễ 7 giờ làm việc" in text  # waiting_overdue: counted until it paused
    assert desk.by_name["waiting_in_time"].code not in text
    assert reply.buttons == ()
    (english,) = await groups.operators("/overdue")
    assert english.text == text


async def test_quahan_for_operators_tells_lateness_in_working_days(
    groups: Groups, desk: Desk
) -> None:
    groups.now = at(30, 10)  # Monday: 20.5 working hours after 15:00 on Wednesday
    (reply,) = await groups.operators("/quahan")
    (line,) = [line for line in reply.text.splitlines() if desk.codes("routed_overdue")[0] in line]
    assert "trễ 2 ngày làm việc" in line


async def test_empty_lists_say_so(groups: Groups) -> None:
    (queue,) = await groups.operators("/hangdoi")
    (overdue,) = await groups.operators("/quahan")
    assert "Không có phản ánh nào chờ phân loại" in queue.text
    assert "Không có phản ánh nào quá hạn" in overdue.text


async def test_group_help_mentions_the_lists(groups: Groups) -> None:
    (operators_help,) = await groups.operators("/help")
    assert "/hangdoi" in operators_help.text and "/quahan" in operators_help.text
    agency_help = await groups.agency("xay-dung", "/help")
    assert "/danhsach" in agency_help and "/quahan" in agency_help


# --- end to end through the Telegram emulator ------------------------------------------------


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'lists.db'}") as harness:
        yield harness


async def test_danhsach_in_an_agency_group_end_to_end(bot: Harness) -> None:
    code = await file_complaint(bot)
    group = bot.agency_chat("xay-dung")
    await bot.emu.wait_for_bot_message(group, lambda m: code in m["text"])  # the card
    listing = await bot.say("/danhsach", group)
    assert code in listing["text"] and "chờ tiếp nhận" in listing["text"]
    assert fmt_datetime((await ticket_of(bot, code)).resolve_due_at) in listing["text"]
    bot.clock.advance(days=10)
    overdue = await bot.say("/quahan", group)
    assert code in overdue["text"] and "⚠️ quá hạn" in overdue["text"]


async def test_hangdoi_in_the_operators_group_end_to_end(bot: Harness) -> None:
    async with bot.app.db.transaction() as session:
        ticket = await tickets.open_ticket(
            session=session,
            config=bot.config,
            reporter=Reporter("telegram", "501", "501", "vi", "Nguyễn Văn An", "0912345678"),
            text="Có việc này không biết hỏi ai",
            decision=decision("khac", "triage"),
            category_id="khac",
            now=bot.clock(),
        )
    await bot.emu.send_text(OPERATORS, "/hangdoi", OPERATOR_USER)
    queue = await bot.emu.wait_for_bot_message(OPERATORS, lambda m: "Hàng đợi" in m["text"])
    assert ticket.code in queue["text"] and "máy đoán" in queue["text"]
    await bot.press(queue, ticket.code, OPERATORS)
    card = await bot.emu.wait_for_bot_message(
        OPERATORS, lambda m: ticket.code in m["text"] and "Cần phân loại" in m["text"]
    )
    await bot.press(card, "xay-dung", OPERATORS)
    routed = await bot.emu.wait_for_bot_message(OPERATORS, lambda m: "Đã chuyển" in m["text"])
    assert ticket.code in routed["text"]
    assert (await ticket_of(bot, ticket.code)).state == TicketState.ROUTED
    group = bot.agency_chat("xay-dung")
    await bot.emu.wait_for_bot_message(group, lambda m: ticket.code in m["text"])
    await bot.emu.send_text(group, "/list", AGENCY_USER)
    listing = await bot.reply(group)
    assert ticket.code in listing["text"]
