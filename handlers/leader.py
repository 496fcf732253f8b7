"""What the leaders' chat (`[telegram] leaders_chat_id`) can ask: the province's figures.

`/thongke` (`/stats`): today and this month, for the province and per agency holding the
tickets: new, routed, accepted, resolved and missed deadlines (`storage/stats.py` counts them),
with the triage queue and what is overdue now. `/quahan` (`/overdue`): the overdue list grouped
by agency (the operators' list, `handlers/worklists.py`). The monthly scorecard arrives here too
(the reports issue).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.chat import Incoming, Reply
from handlers.context import Context
from handlers.messages import fmt_datetime, t
from handlers.notices import agency_name
from storage import stats as stats_store
from storage import tickets as ticket_store
from storage.stats import TicketCounts


async def help_(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/start`, `/help` in the leaders' chat."""
    return [Reply(t("leader.help", ctx.lang))]


Period = tuple[datetime, datetime]


def periods(now: datetime, ctx: Context) -> tuple[Period, Period]:
    """Return today and this month as [start, end), in the province's time zone."""
    local = now.astimezone(ctx.config.work_calendar.tz)
    today = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return (today, today + timedelta(days=1)), (month, next_month)


def counts_line(label: str, counts: TicketCounts, lang: str) -> str:
    """One period's figures: new, routed, accepted, resolved, missed deadlines."""
    return t(
        "stats.line",
        lang,
        label=label,
        new=counts.new,
        routed=counts.routed,
        accepted=counts.accepted,
        resolved=counts.resolved,
        overdue=counts.overdue,
    )


async def stats(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/thongke`: today's and this month's figures for the province and per agency."""
    lang, now, session = ctx.lang, ctx.now, ctx.session
    (today, tomorrow), (month, next_month) = periods(now, ctx)
    daily = await stats_store.ticket_counts_by_agency(
        session=session, since=today, until=tomorrow, now=now
    )
    monthly = await stats_store.ticket_counts_by_agency(
        session=session, since=month, until=next_month, now=now
    )
    overdue = await ticket_store.count_overdue_by_agency(session=session, now=now)
    today_label = t("stats.today", lang)
    month_label = t("stats.month", lang, month=month.strftime("%m/%Y"))
    total_day = sum(daily.values(), TicketCounts())
    total_month = sum(monthly.values(), TicketCounts())
    lines = [
        t("stats.header", lang, now=fmt_datetime(now)),
        counts_line(today_label, total_day, lang),
        counts_line(month_label, total_month, lang),
        t("stats.waiting", lang, count=total_month.waiting, overdue=sum(overdue.values())),
    ]
    if not monthly:
        lines.append(t("stats.none", lang))
        return [Reply("\n".join(lines))]
    lines.append(t("stats.by_agency", lang))
    # The directory's order, then whatever the directory no longer lists, then the queue.
    order = [agency.id for agency in ctx.config.agencies]
    held: list[str | None] = [a for a in order if a in monthly]
    held += sorted(a for a in monthly if a is not None and a not in order)
    if None in monthly:
        held.append(None)
    for agency_id in held:
        name = agency_name(ctx.config, agency_id, lang) if agency_id else t("stats.unrouted", lang)
        lines.append(t("stats.agency", lang, agency=name))
        lines.append(counts_line(today_label, daily.get(agency_id, TicketCounts()), lang))
        lines.append(counts_line(month_label, monthly[agency_id], lang))
    return [Reply("\n".join(lines))]
