"""Ticket clocks, the ladder and the transitions: pure rules, then services on both databases."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.channels.telegram import split_html
from bot.chat import Reply
from bot.config import Config
from bot.domain import tickets
from bot.domain.outcomes import TicketOutcome
from bot.domain.tickets import Action, Reporter, Rung, TransitionError
from bot.domain.triage import Decision
from handlers import targets as chats
from handlers.notices import render
from storage.db import Database
from storage.models import Ticket, TicketState
from storage.tickets import get_ticket, list_events

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OPERATORS = -1001
SUPERVISOR = -1003
CITIZEN_CHAT = "501"


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    """An instant in the province's time (November 2026 unless told)."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# Monday 23/11/2026 09:00; Tuesday 24/11/2026 is a day off (Vietnamese Culture Day).
MONDAY_9 = at(23, 9)


def agency_chat(config: Config, agency_id: str) -> str:
    """Return the test chat id of an agency."""
    agency = config.agency(agency_id)
    assert agency is not None and agency.telegram_chat_id is not None
    return str(agency.telegram_chat_id)


def said(config: Config, outcome: TicketOutcome) -> list[Reply]:
    """Render what a ticket service says, as the handlers do."""
    return render(config, outcome.notices)


def wired(base: Config) -> Config:
    """The default directory with a group chat for every agency, the operators and a supervisor."""
    agencies = tuple(
        dataclasses.replace(agency, telegram_chat_id=-2000 - index)
        for index, agency in enumerate(base.agencies)
    )
    telegram = dataclasses.replace(
        base.telegram, operators_chat_id=OPERATORS, supervisor_chat_id=SUPERVISOR
    )
    return dataclasses.replace(base, agencies=agencies, telegram=telegram)


@pytest.fixture
def cfg(config: Config) -> Config:
    return wired(config)


def decision(category: str, agency: str) -> Decision:
    """A classifier decision for `category` sent to `agency` (or "triage")."""
    return Decision(
        category=category,
        agency=agency,
        confidence=0.9 if agency != "triage" else 0.3,
        track="pakn",
        ward=None,
        subject_agency=None,
        evidence=("ổ gà",),
        alternatives=(("giao-thong", "xay-dung", 0.6), ("moi-truong", "nn-mt", 0.3)),
    )


async def open_one(
    db: Database,
    config: Config,
    *,
    category: str = "giao-thong",
    agency: str = "xay-dung",
    now: datetime = MONDAY_9,
    language: str = "vi",
    chat_id: str = CITIZEN_CHAT,
) -> Ticket:
    """File a ticket through `open_ticket` and commit it."""
    async with db.transaction() as session:
        ticket = await tickets.open_ticket(
            session=session,
            config=config,
            reporter=Reporter(
                "telegram", chat_id, chat_id, language, "Nguyễn Văn An", "0912345678"
            ),
            text="Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm",
            decision=decision(category, agency),
            category_id=category,
            now=now,
        )
    return ticket


async def reload(db: Database, ticket: Ticket) -> Ticket:
    """Read the ticket again from the database."""
    assert ticket.id is not None
    async with db.transaction() as session:
        fresh = await get_ticket(session=session, ticket_id=ticket.id)
    assert fresh is not None
    return fresh


async def event_kinds(db: Database, ticket: Ticket) -> list[str]:
    """Return the ticket's events, oldest first."""
    assert ticket.id is not None
    async with db.transaction() as session:
        return [e.kind for e in await list_events(session=session, ticket_id=ticket.id)]


def targets(replies: list[Reply]) -> list[str | None]:
    """Return the chats replies go to."""
    return [reply.chat_id for reply in replies]


def routed_ticket(
    config: Config, now: datetime = MONDAY_9, category: str = "giao-thong"
) -> Ticket:
    """An in-memory ticket routed to Sở Xây dựng at `now`, clocks running."""
    ticket = Ticket(
        id=7,
        code="PA-2026-000007",
        channel="telegram",
        chat_id=CITIZEN_CHAT,
        category_id=category,
        state=TicketState.TRIAGE,
        created_at=now,
        text="ổ gà",
    )
    tickets.route(ticket, config=config, agency_id="xay-dung", now=now)
    return ticket


# --- clocks and the ladder -------------------------------------------------------------------


def test_initial_clocks_skip_the_culture_day_off(cfg: Config) -> None:
    routed = tickets.initial_clocks(config=cfg, routed=True, sla_hours=24, now=MONDAY_9)
    assert routed.accept_due_at == at(25, 9)  # 8 working hours: Tuesday 24/11 is a day off
    assert routed.resolve_due_at == at(27, 9)
    assert routed.triage_due_at is None
    queued = tickets.initial_clocks(config=cfg, routed=False, sla_hours=24, now=MONDAY_9)
    assert queued.triage_due_at == at(23, 14, 30)  # 4 working hours across the lunch break


def test_milestones_of_a_routed_ticket_follow_the_ladder(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    ladder = [(m.rung, m.at) for m in tickets.milestones(ticket, cfg)]
    assert ladder == [
        (Rung.DEEMED_ACCEPTED, at(25, 9)),
        (Rung.REMINDER, at(26, 11)),  # 75 % of 24 h: 6 working hours before the due time
        (Rung.OVERDUE, at(27, 9)),
        (Rung.ESCALATED, at(1, 9, month=12)),  # 16 working hours (2 days) past due
    ]


def test_milestones_of_a_triage_ticket_go_to_operators_then_supervisor(cfg: Config) -> None:
    ticket = Ticket(code="PA-2026-000001", channel="telegram", chat_id="1", category_id="khac")
    ticket.state = TicketState.TRIAGE
    ticket.triage_due_at = at(23, 14, 30)
    ladder = [(m.rung, m.at) for m in tickets.milestones(ticket, cfg)]
    assert ladder == [(Rung.TRIAGE_OVERDUE, at(23, 14, 30)), (Rung.TRIAGE_ESCALATED, at(25, 9))]


def test_milestones_stop_while_waiting_for_the_citizen(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.ask(ticket, now=at(25, 10))
    assert tickets.milestones(ticket, cfg) == []
    assert tickets.next_check_at(ticket, cfg, at(25, 10)) is None


def test_due_milestones_drop_the_reminder_once_overdue(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    due = tickets.due_milestones(ticket, cfg, since=at(26, 11), until=at(27, 10))
    assert [m.rung for m in due] == [Rung.OVERDUE]


def test_reschedule_keeps_a_milestone_the_sweeper_has_not_handled(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    ticket.next_check_at = at(27, 9)  # the overdue milestone, not yet swept
    tickets.accept(ticket, now=at(27, 9, 30))
    tickets.reschedule(ticket, cfg, at(27, 9, 30))
    assert ticket.next_check_at == at(27, 9)


def test_reschedule_moves_to_the_first_milestone_of_the_new_clocks(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    ticket.next_check_at = at(25, 9)
    tickets.accept(ticket, now=at(23, 10))
    tickets.reschedule(ticket, cfg, at(23, 10))
    assert ticket.next_check_at == at(26, 11)  # the reminder: no accept clock any more


# --- transitions (pure) ----------------------------------------------------------------------


def test_accept_stops_the_accept_clock(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.accept(ticket, now=at(23, 10))
    assert ticket.state == TicketState.ACCEPTED
    assert ticket.accepted_at == at(23, 10)
    assert Rung.DEEMED_ACCEPTED not in [m.rung for m in tickets.milestones(ticket, cfg)]
    with pytest.raises(TransitionError) as caught:
        tickets.check_agency_action(ticket, Action.ACCEPT, "xay-dung")
    assert caught.value.reason == "already_accepted"


def test_return_goes_back_to_triage_and_second_return_flags_passed_around(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    assert tickets.return_(ticket, config=cfg, now=at(23, 10)) is False
    assert ticket.state == TicketState.TRIAGE
    assert ticket.agency_id is None
    assert ticket.returns_count == 1
    assert ticket.triage_due_at == at(23, 15, 30)  # 4 working hours around the lunch break
    assert ticket.resolve_due_at is None and ticket.accept_due_at is None
    tickets.route(ticket, config=cfg, agency_id="nn-mt", now=at(23, 11))
    assert tickets.return_(ticket, config=cfg, now=at(23, 13)) is True
    assert ticket.passed_around is True
    assert ticket.returns_count == 2


def test_return_is_refused_once_deemed_accepted(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.deem_accepted(ticket)
    assert ticket.deemed_accepted is True
    assert ticket.accepted_at == at(25, 9)
    with pytest.raises(TransitionError) as caught:
        tickets.check_agency_action(ticket, Action.RETURN, "xay-dung")
    assert caught.value.reason == "deemed_accepted"
    with pytest.raises(TransitionError):
        tickets.return_(ticket, config=cfg, now=at(25, 10))


def test_return_is_refused_to_the_owner_chosen_after_passing_around(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    ticket.passed_around = True
    with pytest.raises(TransitionError) as caught:
        tickets.check_agency_action(ticket, Action.RETURN, "xay-dung")
    assert caught.value.reason == "final_owner"


def test_check_agency_action_refuses_another_agency(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    with pytest.raises(TransitionError) as caught:
        tickets.check_agency_action(ticket, Action.ACCEPT, "nn-mt")
    assert caught.value.reason == "not_holder"


def test_ask_pauses_and_the_answer_pushes_the_due_time_by_paused_working_hours(
    cfg: Config,
) -> None:
    ticket = routed_ticket(cfg)
    assert tickets.ask(ticket, now=at(25, 10)) is True  # asking accepts a routed ticket
    assert ticket.state == TicketState.WAITING_CITIZEN
    assert ticket.paused_at == at(25, 10)
    paused = tickets.resume(ticket, config=cfg, now=at(26, 10))
    assert paused == 8.0
    assert ticket.resolve_due_at == at(30, 9)  # Friday 09:00 + 8 h = Monday 30/11 09:00
    assert ticket.state == TicketState.ACCEPTED
    assert ticket.paused_at is None


def test_pause_over_a_weekend_counts_only_working_hours(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.accept(ticket, now=at(23, 10))
    tickets.ask(ticket, now=at(27, 16))  # Friday 16:00
    paused = tickets.resume(ticket, config=cfg, now=at(30, 8))  # Monday 08:00
    assert paused == 1.5
    assert ticket.resolve_due_at == at(27, 10, 30)


def test_a_second_question_keeps_the_first_pause(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.ask(ticket, now=at(25, 10))
    assert tickets.ask(ticket, now=at(25, 11)) is False
    assert ticket.paused_at == at(25, 10)


def test_resume_refuses_a_ticket_that_does_not_wait(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    with pytest.raises(TransitionError) as caught:
        tickets.resume(ticket, config=cfg, now=at(25, 10))
    assert caught.value.reason == "not_waiting"


def test_resolve_records_the_answer(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.resolve(ticket, answer="Đã vá ổ gà.", now=at(25, 10))
    assert ticket.state == TicketState.RESOLVED
    assert ticket.answer == "Đã vá ổ gà."
    assert ticket.resolved_at == at(25, 10)
    assert ticket.accepted_at == at(25, 10)
    assert tickets.milestones(ticket, cfg) == []
    with pytest.raises(TransitionError):
        tickets.resolve(ticket, answer="lần nữa", now=at(25, 11))


def test_route_restarts_the_clocks_and_refuses_nonsense(cfg: Config) -> None:
    ticket = routed_ticket(cfg)
    tickets.accept(ticket, now=at(23, 10))
    tickets.route(ticket, config=cfg, agency_id="nn-mt", now=at(25, 9))
    assert ticket.state == TicketState.ROUTED
    assert ticket.accepted_at is None
    assert ticket.accept_due_at == at(26, 9)
    assert ticket.resolve_due_at == at(30, 9)
    with pytest.raises(TransitionError) as same:
        tickets.route(ticket, config=cfg, agency_id="nn-mt", now=at(25, 10))
    assert same.value.reason == "same_agency"
    with pytest.raises(TransitionError) as unknown:
        tickets.route(ticket, config=cfg, agency_id="so-khong-co", now=at(25, 10))
    assert unknown.value.reason == "unknown_agency"
    tickets.resolve(ticket, answer="xong", now=at(25, 11))
    with pytest.raises(TransitionError) as closed:
        tickets.route(ticket, config=cfg, agency_id="xay-dung", now=at(25, 12))
    assert closed.value.reason == "wrong_state"


# --- where notices go ------------------------------------------------------------------------


def test_supervisor_is_the_agencys_supervisor_agency_chat(cfg: Config) -> None:
    target, name = chats.supervisor_of(cfg, "xay-dung")
    assert target == ("telegram", agency_chat(cfg, "vp-ubnd"))
    assert name == "Văn phòng UBND tỉnh"


def test_supervisor_falls_back_to_the_supervisor_chat_then_operators(config: Config) -> None:
    bare = dataclasses.replace(
        config,
        telegram=dataclasses.replace(
            config.telegram, operators_chat_id=OPERATORS, supervisor_chat_id=SUPERVISOR
        ),
    )
    assert chats.supervisor_of(bare, "xay-dung")[0] == ("telegram", str(SUPERVISOR))
    no_supervisor = dataclasses.replace(
        bare, telegram=dataclasses.replace(bare.telegram, supervisor_chat_id=None)
    )
    assert chats.supervisor_of(no_supervisor, "xay-dung")[0] == ("telegram", str(OPERATORS))
    assert chats.supervisor_of(no_supervisor, None)[0] == ("telegram", str(OPERATORS))


def test_agency_without_a_chat_is_served_by_the_operators(config: Config) -> None:
    bare = dataclasses.replace(
        config, telegram=dataclasses.replace(config.telegram, operators_chat_id=OPERATORS)
    )
    assert chats.agency_chat(bare, "xay-dung") == ("telegram", str(OPERATORS))


# --- services on the databases ---------------------------------------------------------------


async def test_open_ticket_schedules_its_first_milestone(db: Database, cfg: Config) -> None:
    routed = await open_one(db, cfg)
    assert routed.next_check_at == at(25, 9)
    queued = await open_one(db, cfg, category="khac", agency="triage")
    assert queued.state == TicketState.TRIAGE
    assert queued.next_check_at == at(23, 14, 30)


async def test_accept_service_records_event_and_tells_citizen(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg, language="en")
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        notices = said(
            cfg,
            await tickets.accept_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                now=at(23, 10),
            ),
        )
    assert targets(notices) == [CITIZEN_CHAT]
    assert "has taken up complaint" in notices[0].text
    assert (await reload(db, ticket)).state == TicketState.ACCEPTED
    assert (await event_kinds(db, ticket))[-1] == "accepted"


async def test_two_returns_flag_passed_around_to_operators_and_supervisor(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        first = said(
            cfg,
            await tickets.return_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                reason="Không thuộc thẩm quyền",
                now=at(23, 10),
            ),
        )
        await tickets.route_ticket(
            session=session,
            config=cfg,
            ticket=locked,
            agency_id="nn-mt",
            user_id="601",
            now=at(23, 11),
        )
        second = said(
            cfg,
            await tickets.return_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="nn-mt",
                user_id="702",
                reason="Việc của Sở Xây dựng",
                now=at(23, 13),
            ),
        )
    assert set(targets(first)) == {str(OPERATORS)}
    assert not any("Đùn đẩy" in reply.text for reply in first)
    flagged = [reply for reply in second if "Đùn đẩy" in reply.text]
    assert {reply.chat_id for reply in flagged} == {str(OPERATORS), agency_chat(cfg, "vp-ubnd")}
    assert "Sở Xây dựng, Sở Nông nghiệp và Môi trường" in flagged[0].text
    fresh = await reload(db, ticket)
    assert fresh.passed_around and fresh.returns_count == 2
    assert fresh.state == TicketState.TRIAGE
    kinds = await event_kinds(db, ticket)
    assert kinds[-4:] == ["returned", "routed", "returned", "passed_around"]


async def test_citizen_answer_resumes_the_clock_and_reaches_the_agency(
    db: Database, cfg: Config
) -> None:
    ticket = await open_one(db, cfg)
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        asked = said(
            cfg,
            await tickets.ask_citizen(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                question="Ổ gà ở số nhà bao nhiêu?",
                now=at(25, 10),
            ),
        )
    assert targets(asked) == [CITIZEN_CHAT]
    assert "Ổ gà ở số nhà bao nhiêu?" in asked[0].text
    assert (await reload(db, ticket)).next_check_at is None
    async with db.transaction() as session:
        nothing = await tickets.record_citizen_answer(
            session=session,
            config=cfg,
            channel="telegram",
            chat_id="999",
            text="?",
            now=at(26, 10),
        )
        outcome = await tickets.record_citizen_answer(
            session=session,
            config=cfg,
            channel="telegram",
            chat_id=CITIZEN_CHAT,
            text="Trước số nhà 12",
            now=at(26, 10),
        )
    assert nothing is None
    assert outcome is not None
    answered, notices = outcome.ticket, said(cfg, outcome)
    assert answered.resolve_due_at == at(30, 9)
    assert targets(notices) == [agency_chat(cfg, "xay-dung")]
    assert "Trước số nhà 12" in notices[0].text and "09:00 30/11/2026" in notices[0].text
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.ACCEPTED
    assert fresh.next_check_at == at(27, 11)  # the reminder, 6 working hours before the new due
    assert (await event_kinds(db, ticket))[-3:] == [
        "accepted",
        "asked_citizen",
        "citizen_answered",
    ]


async def test_resolve_sends_a_long_answer_whole(db: Database, cfg: Config) -> None:
    ticket = await open_one(db, cfg)
    answer = "Sở đã kiểm tra và vá toàn bộ ổ gà. " * 200
    async with db.transaction() as session:
        locked = await tickets.load_for_change(session=session, ticket_id=ticket.id or 0)
        assert locked is not None
        notices = said(
            cfg,
            await tickets.resolve_ticket(
                session=session,
                config=cfg,
                ticket=locked,
                agency_id="xay-dung",
                user_id="701",
                answer=answer,
                now=at(25, 10),
            ),
        )
    messages = [part for reply in notices for part in split_html(reply.text)]
    assert len(messages) >= 2
    assert all(len(text) <= 4096 for text in messages)
    sent = " ".join(messages)
    assert sent.count("vá toàn bộ ổ gà") == 200
    fresh = await reload(db, ticket)
    assert fresh.state == TicketState.RESOLVED and fresh.answer == answer
