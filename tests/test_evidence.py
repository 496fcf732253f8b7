"""Evidence across channels: Zalo files re-sent on Telegram, Telegram files linked for Zalo."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import HotlineApp, evidence_links
from bot.channels.emulator import TelegramEmulator
from bot.channels.zalo import plain_text
from bot.channels.zalo_emulator import ZaloEmulator
from bot.config import Config, EvidenceConfig, WebConfig, ZaloConfig
from bot.evidence import Downloader, EvidenceLinks, EvidenceTooLarge, EvidenceUnavailable
from handlers.messages import t
from tests.harness import AGENCY_USER, CITIZEN, FakeClock, Harness, e2e_config
from tests.test_e2e_citizen import COMPLAINT, code_in, tiny_png
from tests.test_zalo_oa import free_port

ZALO_GROUP = "g-xay-dung"
ZALO_CITIZEN = "c1a2b3"
ZALO_STAFF = "s9"
NOW = FakeClock().now


def links(key: bytes = b"k" * 32) -> EvidenceLinks:
    return EvidenceLinks(key, "https://hotline.example.vn/", timedelta(hours=72))


# --- signed links --------------------------------------------------------------------------


def test_link_reads_back_what_it_points_at_until_it_expires() -> None:
    url, until = links().link(
        channel="telegram", file_id="AgAD-42", kind="photo", file_name="o ga.png", now=NOW
    )
    token = url.rsplit("/", 1)[1]
    assert url.startswith("https://hotline.example.vn/evidence/")
    ref = links().read(token, NOW + timedelta(hours=71))
    assert ref is not None
    assert (ref.channel, ref.file_id, ref.kind, ref.file_name) == (
        "telegram",
        "AgAD-42",
        "photo",
        "o ga.png",
    )
    assert until == ref.expires_at
    assert links().read(token, NOW + timedelta(hours=72)) is None


def test_link_tampered_or_signed_with_another_key_is_refused() -> None:
    url, _ = links().link(
        channel="telegram", file_id="AgAD-42", kind="photo", file_name="", now=NOW
    )
    token = url.rsplit("/", 1)[1]
    body, signature = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    assert links().read(f"{flipped}.{signature}", NOW) is None
    assert links(b"x" * 32).read(token, NOW) is None
    assert links().read(body, NOW) is None
    assert links().read("not-a-token", NOW) is None


def test_evidence_key_is_derived_when_none_is_set(config: Config) -> None:
    derived = evidence_links(config)
    same = evidence_links(config)
    keyed = evidence_links(
        dataclasses.replace(config, evidence=EvidenceConfig(signing_key="configured-key"))
    )
    url, _ = derived.link(channel="telegram", file_id="f", kind="photo", file_name="", now=NOW)
    token = url.rsplit("/", 1)[1]
    assert same.read(token, NOW) is not None
    assert keyed.read(token, NOW) is None
    assert url.startswith(f"http://127.0.0.1:{config.web.port}/evidence/")


# --- downloads -----------------------------------------------------------------------------


async def test_downloader_refuses_files_over_the_limit_and_missing_ones() -> None:
    async with ZaloEmulator() as emu:
        small = emu.host_file("a.png", tiny_png(), "image/png")
        big = emu.host_file("big.bin", b"x" * 5000, "application/octet-stream")
        downloader = Downloader(max_bytes=4096)
        try:
            fetched = await downloader.fetch(small)
            with pytest.raises(EvidenceTooLarge):
                await downloader.fetch(big)
            with pytest.raises(EvidenceUnavailable):
                await downloader.fetch(emu.oa_base_url + "/files/none.png")
            with pytest.raises(EvidenceUnavailable):
                await downloader.fetch("file:///etc/passwd")
        finally:
            await downloader.close()
    assert (fetched.data, fetched.content_type, fetched.file_name) == (
        tiny_png(),
        "image/png",
        "a.png",
    )


# --- end to end ----------------------------------------------------------------------------


@dataclass
class Bots:
    tg: TelegramEmulator
    zalo: ZaloEmulator
    app: HotlineApp
    clock: FakeClock


@asynccontextmanager
async def both_channels(
    base: Config, tmp_path: Path, *, agency_on_zalo: bool, max_bytes: int = 20 * 1024 * 1024
) -> AsyncIterator[Bots]:
    """Telegram and Zalo Bot Platform on their emulators; the construction agency on one."""
    clock = FakeClock()
    async with TelegramEmulator() as tg, ZaloEmulator() as zalo:
        await tg.register_private_chat(CITIZEN, "An", last_name="Nguyễn Văn")
        await tg.register_private_chat(AGENCY_USER, "Cán bộ")
        zalo.register_private_chat(ZALO_CITIZEN, "Nguyễn Văn An")
        zalo.register_user(ZALO_STAFF, "Cán bộ")
        zalo.register_group(ZALO_GROUP, "Sở Xây dựng", members=[ZALO_STAFF])
        config = e2e_config(base, tg, f"sqlite+aiosqlite:///{tmp_path / 'both.db'}")
        agencies = []
        for agency in config.agencies:
            if agency.id == "xay-dung" and agency_on_zalo:
                agency = dataclasses.replace(
                    agency, telegram_chat_id=None, zalo_chat_id=ZALO_GROUP
                )
            elif agency.telegram_chat_id is not None:
                await tg.register_group(
                    agency.telegram_chat_id, agency.name, members=[AGENCY_USER]
                )
            agencies.append(agency)
        port = free_port()
        config = dataclasses.replace(
            config,
            agencies=tuple(agencies),
            zalo=ZaloConfig(token=zalo.token, base_url=zalo.base_url),
            web=WebConfig(host="127.0.0.1", port=port),
            evidence=EvidenceConfig(max_bytes=max_bytes, link_hours=24),
        )
        async with HotlineApp(config, clock=clock) as app:
            yield Bots(tg, zalo, app, clock)


async def file_on_telegram_with_photo(bots: Bots, photo: bytes) -> str:
    harness = Harness(bots.tg, bots.app, bots.clock)
    await bots.tg.send_photo(CITIZEN, photo, caption=COMPLAINT)
    proposal = await harness.reply()
    await harness.press(proposal, "Gửi")
    await harness.reply()
    anonymous = await harness.reply()
    await harness.press(anonymous, "ẩn danh")
    return code_in((await harness.reply())["text"])


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_telegram_photo_reaches_a_zalo_agency_as_a_working_link(
    config: Config, tmp_path: Path
) -> None:
    photo = tiny_png()
    async with both_channels(config, tmp_path, agency_on_zalo=True) as bots:
        code = await file_on_telegram_with_photo(bots, photo)
        card = await bots.zalo.wait_for_bot_message(ZALO_GROUP, lambda m: code in m["text"])
        linked = await bots.zalo.wait_for_bot_message(
            ZALO_GROUP, lambda m: "/evidence/" in m["text"]
        )
        match = re.search(r"http://\S+/evidence/\S+", linked["text"])
        assert match is not None
        url = match.group(0)
        status, body = await get(url)
        head, _, token = url.rpartition("/")
        forged = token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
        forged_status, _ = await get(f"{head}/{forged}")
        bots.clock.advance(hours=25)
        expired_status, _ = await get(url)
    assert t("card.attachments", "vi", count=1).strip() in card["text"]
    assert plain_text(t("zalo.photo_link", "vi", url="", until="")).split(":")[0] in linked["text"]
    assert (status, body) == (200, photo)
    assert forged_status == 403
    assert expired_status == 403


async def test_zalo_photo_reaches_a_telegram_agency_as_a_photo(
    config: Config, tmp_path: Path
) -> None:
    photo = tiny_png()
    async with both_channels(config, tmp_path, agency_on_zalo=False) as bots:
        url = bots.zalo.host_file("o-ga.png", photo, "image/png")
        group = await zalo_complaint_with_photo(bots, url)
        shown = await bots.tg.wait_for_bot_message(group, lambda m: bool(m.get("photo")))
    assert bots.tg.file_bytes(shown["photo"][-1]["file_id"]) == photo


async def test_zalo_file_over_the_limit_reaches_telegram_as_its_address(
    config: Config, tmp_path: Path
) -> None:
    async with both_channels(config, tmp_path, agency_on_zalo=False, max_bytes=2048) as bots:
        url = bots.zalo.host_file("lon.jpg", b"\xff\xd8" + b"x" * 4096, "image/jpeg")
        group = await zalo_complaint_with_photo(bots, url)
        note = await bots.tg.wait_for_bot_message(group, lambda m: url in m.get("text", ""))
    assert plain_text(t("zalo.file_too_large", "vi", url=url)) in note["text"]


async def zalo_complaint_with_photo(bots: Bots, url: str) -> int:
    """File a complaint with a photo on Zalo; return the Telegram group its card goes to."""
    emu = bots.zalo

    async def say(text: str) -> dict[str, Any]:
        await emu.send_text(ZALO_CITIZEN, text)
        return await emu.wait_for_bot_message(ZALO_CITIZEN)

    proposal = await say(COMPLAINT)
    await emu.send_image(ZALO_CITIZEN, url)
    await emu.wait_for_bot_message(ZALO_CITIZEN)
    labels = re.findall(r"^\d+\. (.+)$", proposal["text"], flags=re.MULTILINE)
    send = next(i for i, label in enumerate(labels, 1) if "Gửi" in label)
    await say(str(send))
    await emu.wait_for_bot_message(ZALO_CITIZEN)
    created = await say("1")  # anonymous
    code = code_in(created["text"])
    agency = bots.app.config.agency("xay-dung")
    assert agency is not None and agency.telegram_chat_id is not None
    card = await bots.tg.wait_for_bot_message(
        agency.telegram_chat_id, lambda m: code in m.get("text", "")
    )
    assert t("card.attachments", "vi", count=1).strip() in card["text"]
    return agency.telegram_chat_id
