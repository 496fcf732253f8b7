"""What the citizen is told about a dossier lookup or a subscription: cards and notes.

`bot.domain.dossiers` looks up, verifies and subscribes and returns what it found (`Lookup`,
`Subscription`); these functions call it and word the answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Button, Reply
from bot.config import Config
from bot.domain import dossiers
from bot.domain.dossiers import DONE_STATUSES, Lookup, LookupResult, Subscription
from handlers.messages import fmt_date, fmt_datetime, t
from handlers.notices import status_name
from storage.models import Dossier


def dossier_agency(config: Config, agency_id: str | None) -> str:
    """Return the directory name of a dossier's agency (its id if the directory lost it)."""
    if not agency_id:
        return "—"
    agency = config.agency(agency_id)
    return agency.name if agency else agency_id


def format_card(
    *, dossier: Dossier, config: Config, late_days: int, lang: str, verified: bool
) -> str:
    """Return the dossier card; personal fields only when `verified`."""
    lines = [
        t(
            "dossier.card",
            lang,
            code=dossier.code,
            procedure=dossier.procedure or "—",
            agency=dossier_agency(config, dossier.agency_id),
            received=fmt_date(dossier.received_at),
            due=fmt_date(dossier.due_at),
            status=status_name(dossier.status, lang),
        )
    ]
    if dossier.status in DONE_STATUSES and dossier.completed_at is not None:
        lines.append(t("dossier.card.completed", lang, date=fmt_date(dossier.completed_at)))
        if dossier.due_at is not None:
            lines.append(
                t("dossier.card.completed_late", lang, days=late_days)
                if late_days
                else t("dossier.card.on_time", lang)
            )
    elif late_days:
        lines.append(t("dossier.card.late", lang, days=late_days))
    if dossier.new_due_at is not None:
        lines.append(t("dossier.card.new_due", lang, date=fmt_date(dossier.new_due_at)))
    if verified:
        if dossier.applicant_name:
            lines.append(t("dossier.card.applicant", lang, name=dossier.applicant_name))
        if dossier.new_due_at is not None and dossier.apology_reason:
            lines.append(t("dossier.card.apology_reason", lang, reason=dossier.apology_reason))
        if dossier.officer:
            lines.append(t("dossier.card.officer", lang, officer=dossier.officer))
    return "\n".join(lines)


def lookup_reply(found: Lookup, *, config: Config, lang: str) -> Reply:
    """Word a lookup's result: the card and its note, or why there is none."""
    result, code = found.result, found.code
    if result == LookupResult.RATE_LIMITED:
        return Reply(t("dossier.rate_limited", lang, seconds=found.seconds))
    if result == LookupResult.ASK_CODE:
        return Reply(t("dossier.ask_code", lang))
    if result == LookupResult.BAD_CODE:
        return Reply(t("dossier.bad_code", lang, text=code))
    if result == LookupResult.NOT_FOUND or found.dossier is None:
        return Reply(t("dossier.not_found", lang, code=code, phone=config.hotline.phone))
    verified = result == LookupResult.VERIFIED
    card = format_card(
        dossier=found.dossier,
        config=config,
        late_days=found.late_days,
        lang=lang,
        verified=verified,
    )
    buttons: tuple[tuple[Button, ...], ...] = ()
    if verified:
        note = t("dossier.card.verified", lang)
        button = (
            Button(t("dossier.button.unsubscribe", lang), dossiers.unsubscribe_callback(code))
            if found.subscribed
            else Button(t("dossier.button.subscribe", lang), dossiers.subscribe_callback(code))
        )
        buttons = ((button,),)
    elif found.locked_until is not None:
        note = t("dossier.locked", lang, until=fmt_datetime(found.locked_until))
    elif result == LookupResult.FOUND:
        note = t("dossier.verify_hint", lang, code=code)
    elif result == LookupResult.BAD_LAST4:
        note = t("dossier.bad_last4", lang, code=code)
    elif result == LookupResult.NO_VERIFY_DATA:
        note = t("dossier.no_verify_data", lang)
    else:
        note = t("dossier.wrong_last4", lang, left=found.left)
    return Reply(text="\n\n".join([card, note]), buttons=buttons)


def subscription_reply(done: Subscription, *, config: Config, lang: str) -> Reply:
    """Word a subscribe or unsubscribe result."""
    key = f"dossier.{done.result.value}"
    if done.result == dossiers.SubscriptionResult.BAD_CODE:
        return Reply(t(key, lang, text=done.code))
    if done.result == dossiers.SubscriptionResult.NOT_FOUND:
        return Reply(t(key, lang, code=done.code, phone=config.hotline.phone))
    if done.result in (
        dossiers.SubscriptionResult.SUBSCRIBED,
        dossiers.SubscriptionResult.ALREADY_SUBSCRIBED,
    ):
        button = Button(
            t("dossier.button.unsubscribe", lang), dossiers.unsubscribe_callback(done.code)
        )
        return Reply(t(key, lang, code=done.code), buttons=((button,),))
    return Reply(t(key, lang, code=done.code))


async def answer_lookup(
    *,
    session: AsyncSession,
    config: Config,
    channel: str,
    chat_id: str,
    user_id: str,
    code: str,
    last4: str | None,
    now: datetime,
    lang: str,
) -> list[Reply]:
    """Look a dossier up and answer: the card, public or verified, or why there is none."""
    found = await dossiers.look_up(
        session=session,
        config=config,
        channel=channel,
        chat_id=chat_id,
        user_id=user_id,
        code=code,
        last4=last4,
        now=now,
    )
    return [lookup_reply(found, config=config, lang=lang)]


async def subscribe(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    user_id: str,
    code: str,
    now: datetime,
    lang: str,
    config: Config | None = None,
) -> list[Reply]:
    """Subscribe the chat to a dossier the user verified, and say how it went."""
    config = config or Config()
    done = await dossiers.subscribe(
        session=session,
        config=config,
        channel=channel,
        chat_id=chat_id,
        user_id=user_id,
        code=code,
        now=now,
        lang=lang,
    )
    return [subscription_reply(done, config=config, lang=lang)]


async def unsubscribe(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    code: str,
    lang: str,
    config: Config | None = None,
) -> list[Reply]:
    """Stop a chat's updates about a dossier, and say so."""
    done = await dossiers.unsubscribe(session=session, channel=channel, chat_id=chat_id, code=code)
    return [subscription_reply(done, config=config or Config(), lang=lang)]
