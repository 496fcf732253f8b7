"""Followers of a kept ticket (reporters of merged duplicates) hear what its reporter hears."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Config
from bot.domain.followers import FOLLOWED_KINDS, for_followers
from bot.domain.outcomes import Audience, Notice
from bot.sweeper import plan_ticket
from handlers.messages import t
from storage.models import TicketFollower
from tests.test_tickets import CITIZEN_CHAT, MONDAY_9, routed_ticket, wired

FOLLOWER_CHAT = "777"


def follower(
    chat_id: str = FOLLOWER_CHAT, language: str = "en", channel: str = "zalo"
) -> TicketFollower:
    return TicketFollower(
        ticket_id=7, channel=channel, chat_id=chat_id, language=language, created_at=MONDAY_9
    )


def test_each_followed_notice_gets_a_copy_per_follower_with_its_own_key(config: Config) -> None:
    ticket = routed_ticket(wired(config))
    notices = [
        Notice("overdue", Audience.CITIZEN, ticket, key="t:7:overdue"),
        Notice("question", Audience.CITIZEN, ticket, facts={"question": "Ở đâu?"}),
        Notice("overdue", Audience.AGENCY, ticket, key="t:7:overdue:agency"),
    ]
    told = for_followers(notices, {7: [follower(), follower(CITIZEN_CHAT, "vi", "telegram")]})
    copies = [n for n in told if n.chat is not None]
    assert "question" not in FOLLOWED_KINDS
    assert [(n.kind, n.audience, n.chat, n.language) for n in copies] == [
        ("overdue", Audience.CITIZEN, ("zalo", FOLLOWER_CHAT), "en")
    ]
    assert copies[0].key not in {n.key for n in notices}
    assert told[: len(notices) + 1][1] == copies[0]  # right after the reporter's notice


def test_no_followers_changes_nothing(config: Config) -> None:
    ticket = routed_ticket(wired(config))
    notices = [Notice("routed", Audience.CITIZEN, ticket)]
    assert for_followers(notices, {}) == notices


def test_the_sweeper_tells_followers_of_an_overdue_ticket(config: Config) -> None:
    cfg = wired(config)
    ticket = routed_ticket(cfg)
    ticket.next_check_at = MONDAY_9  # nothing handled since it was routed
    late = ticket.resolve_due_at + timedelta(minutes=1)
    plan = plan_ticket(ticket, cfg, late, {7: [follower()]})
    to_follower = [r for r in plan.notices if r.chat_id == FOLLOWER_CHAT]
    to_reporter = [r for r in plan.notices if r.chat_id == CITIZEN_CHAT]
    # deemed accepted, then overdue: the follower hears both, as the reporter does
    assert len(to_follower) == len(to_reporter) == 2
    assert to_follower[-1].channel == "zalo"
    assert to_follower[-1].idempotency_key != to_reporter[-1].idempotency_key
    heading = t(
        "notice.citizen.overdue",
        "en",
        code=ticket.code,
        agency="",
        due="",
        expected="",
        supervisor="",
    )
    assert to_follower[-1].text[:20] == heading[:20]
    assert to_reporter[-1].text[:20] != heading[:20]  # the reporter reads Vietnamese
