"""Agencies and categories: synced from the config so reports and joins can use them."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from storage.db import serialise_startup
from storage.models import Agency, Category


async def sync_directory(*, session: AsyncSession, config: Config) -> None:
    """Make the agency and category tables match the config (absent ones are deactivated)."""
    await serialise_startup(session)
    agencies = {a.id: a for a in (await session.exec(select(Agency))).all()}
    for item in config.agencies:
        row = agencies.pop(item.id, None) or Agency(id=item.id, name=item.name)
        row.name = item.name
        row.aliases = list(item.aliases)
        row.telegram_chat_id = item.telegram_chat_id
        row.zalo_chat_id = item.zalo_chat_id
        row.supervisor = item.supervisor
        row.active = True
        session.add(row)
    for stale in agencies.values():
        stale.active = False
        session.add(stale)

    categories = {c.id: c for c in (await session.exec(select(Category))).all()}
    for cat in config.categories:
        crow = categories.pop(cat.id, None) or Category(id=cat.id, name=cat.name, sla_hours=1)
        crow.name = cat.name
        crow.agency_id = cat.agency
        crow.sla_hours = cat.sla_hours
        crow.track = cat.track
        crow.active = True
        session.add(crow)
    for stale_category in categories.values():
        stale_category.active = False
        session.add(stale_category)


async def list_agencies(*, session: AsyncSession, active_only: bool = True) -> list[Agency]:
    """Return the agencies, by id."""
    query = select(Agency).order_by(Agency.id)  # type: ignore[arg-type]
    if active_only:
        query = query.where(Agency.active == True)  # noqa: E712
    return list((await session.exec(query)).all())
