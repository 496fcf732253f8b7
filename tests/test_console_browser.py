"""The web console in a real browser (Chromium through Playwright), against the real sandbox."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.sandbox import CITIZEN_USER_ID, DEMO_CONSOLE_USERS, Sandbox
from handlers.messages import t
from storage import tickets as ticket_store
from storage.models import Ticket, TicketState
from tests.console_support import seed_ticket

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 8000
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("HOTLINE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; required because HOTLINE_REQUIRE_BROWSER is set")
    pytest.skip(reason, allow_module_level=True)

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

OPERATOR, _, OPERATOR_PASSWORD = DEMO_CONSOLE_USERS[0]
AGENCY, _, AGENCY_PASSWORD = DEMO_CONSOLE_USERS[1]
CITIZEN_CHAT = str(CITIZEN_USER_ID)


def plain(key: str, **values: object) -> str:
    """A text as the browser shows it (no markup, entities read)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", t(key, "vi", **values)))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def sandbox(config: Config, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(config, port=0, database=str(tmp_path / "console.db")) as running:
        yield running


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    await context.close()


def app_of(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    assert sandbox.hotline is not None
    return sandbox.hotline


async def stored(sandbox: Sandbox, code: str) -> Ticket:
    async with app_of(sandbox).db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    return ticket


async def sign_in(page: Page, sandbox: Sandbox, name: str, password: str) -> None:
    await page.goto(sandbox.url + "console/")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit].primary")


def citizen_texts(sandbox: Sandbox) -> list[str]:
    assert sandbox.emulator is not None
    return [str(m.get("text", "")) for m in sandbox.emulator.bot_messages(CITIZEN_USER_ID)]


async def test_operator_filters_the_queue_opens_assigns_and_notes(
    page: Page, sandbox: Sandbox
) -> None:
    app = app_of(sandbox)
    ticket = await seed_ticket(
        app, text="Cột điện trước nhà số 12 nghiêng sắp đổ", chat=CITIZEN_CHAT
    )
    other = await seed_ticket(app, text="Rác thải đổ trộm ven sông", chat=CITIZEN_CHAT)
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)
    await expect(page.locator("h2")).to_contain_text(plain("console.queue.title"))
    await expect(page.locator("#queue")).to_contain_text(other.code)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)

    await page.fill("input[name=q]", "cột điện")
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("#queue tbody tr")).to_have_count(1)
    await expect(page.locator("#queue")).not_to_contain_text(other.code)
    await page.click(f"#queue a:text('{ticket.code}')")

    await expect(page.locator("#complaint-text")).to_have_text(ticket.text)
    await page.select_option("#assign-agency", "xay-dung")
    await page.click("form[action$='/assign'] button")
    await expect(page.locator(".flash.ok")).to_contain_text(ticket.code)
    assert (await stored(sandbox, ticket.code)).agency_id == "xay-dung"

    secret = "Người này từng gọi nhiều lần, cần xác minh"
    await page.fill("#note-text", secret)
    await page.click("form[action$='/note'] button")
    await expect(page.locator("#notes")).to_contain_text(secret)
    await page.screenshot(path=str(ARTIFACTS / "console-ticket.png"), full_page=True)
    # The citizen hears of the routing, never of the note.
    assert sandbox.emulator is not None
    await sandbox.emulator.wait_for_bot_message(
        CITIZEN_USER_ID, lambda m: ticket.code in m["text"]
    )
    await sandbox.emulator.wait_idle(timeout=5, quiet=0.3)
    assert not any(secret in text for text in citizen_texts(sandbox))


async def test_operator_merges_two_tickets_and_closes_spam(page: Page, sandbox: Sandbox) -> None:
    app = app_of(sandbox)
    keep = await seed_ticket(app, text="Đèn đường khu phố 4 tắt cả tuần", chat=CITIZEN_CHAT)
    duplicate = await seed_ticket(app, text="Đèn đường khu phố 4 không sáng", chat="777")
    spam = await seed_ticket(app, text="Quảng cáo vay tiền nhanh lãi thấp", chat="778")
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)

    await page.goto(f"{sandbox.url}console/tickets/{duplicate.code}")
    await page.fill("#merge-keep", keep.code)
    await page.click("form[action$='/merge'] button")
    await expect(page.locator(".flash.ok")).to_be_visible()
    await expect(page.locator("#card")).to_contain_text(keep.code)
    merged = await stored(sandbox, duplicate.code)
    assert merged.state == TicketState.MERGED and merged.merged_into_id == keep.id

    await page.goto(f"{sandbox.url}console/tickets/{spam.code}")
    await page.select_option("#close-reason", "spam")
    await page.click("form[action$='/close'] button")
    await expect(page.locator(".flash.ok")).to_be_visible()
    await expect(page.locator("#card .state")).to_have_text(plain("state.spam"))
    assert (await stored(sandbox, spam.code)).state == TicketState.SPAM


async def test_agency_user_is_refused_another_agencys_ticket(page: Page, sandbox: Sandbox) -> None:
    app = app_of(sandbox)
    own = await seed_ticket(app, text="Vỉa hè bị lấn chiếm", agency="xay-dung")
    other = await seed_ticket(app, text="Trạm y tế đóng cửa giờ hành chính", agency="y-te")
    await sign_in(page, sandbox, AGENCY, AGENCY_PASSWORD)
    await expect(page.locator("#queue")).to_contain_text(own.code)
    await expect(page.locator("#queue")).not_to_contain_text(other.code)
    response = await page.goto(f"{sandbox.url}console/tickets/{other.code}")
    assert response is not None and response.status == 403
    await expect(page.locator("h2")).to_have_text(plain("console.error.forbidden"))
    await page.goto(f"{sandbox.url}console/tickets/{own.code}")
    await page.click("form[action$='/accept'] button")
    await expect(page.locator(".flash.ok")).to_contain_text(own.code)
    assert (await stored(sandbox, own.code)).state == TicketState.ACCEPTED


async def test_script_in_a_complaint_is_shown_as_text(page: Page, sandbox: Sandbox) -> None:
    attack = '<script>document.title="hacked"</script><img src=x onerror="document.title=1">'
    ticket = await seed_ticket(app_of(sandbox), text=attack)
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)
    await expect(page.locator("#queue")).to_contain_text("<script>")
    await page.goto(f"{sandbox.url}console/tickets/{ticket.code}")
    await expect(page.locator("#complaint-text")).to_have_text(attack)
    assert await page.locator("#complaint-text script, #complaint-text img").count() == 0
    assert await page.title() not in ("hacked", "1")


async def test_five_wrong_passwords_lock_the_account(page: Page, sandbox: Sandbox) -> None:
    for _ in range(4):
        await sign_in(page, sandbox, OPERATOR, "sai-mat-khau")
        await expect(page.locator(".flash.error")).to_have_text(plain("console.error.bad_login"))
    await sign_in(page, sandbox, OPERATOR, "sai-mat-khau")
    await expect(page.locator(".flash.error")).to_have_text(
        plain("console.error.locked", minutes=15)
    )
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)
    await expect(page.locator(".flash.error")).to_have_text(
        plain("console.error.locked", minutes=15)
    )


async def test_form_posted_without_its_csrf_token_is_refused(page: Page, sandbox: Sandbox) -> None:
    ticket = await seed_ticket(app_of(sandbox), text="Nước sinh hoạt có mùi lạ", chat=CITIZEN_CHAT)
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)
    await page.goto(f"{sandbox.url}console/tickets/{ticket.code}")
    await page.locator("form[action$='/close'] input[name=csrf]").evaluate(
        "field => field.remove()"
    )
    async with page.expect_response(lambda r: r.url.endswith("/close")) as answer:
        await page.click("form[action$='/close'] button")
    assert (await answer.value).status == 403
    await expect(page.locator("h2")).to_have_text(plain("console.error.csrf"))
    assert (await stored(sandbox, ticket.code)).state == TicketState.TRIAGE


async def test_dashboard_shows_the_numbers_and_english_switch(
    page: Page, sandbox: Sandbox
) -> None:
    app = app_of(sandbox)
    await seed_ticket(app, text="Đường ngập nước sau mưa", agency="xay-dung")
    await seed_ticket(app, text="Có việc cần hỏi tổng đài")
    await sign_in(page, sandbox, OPERATOR, OPERATOR_PASSWORD)
    await page.click(f"a:text('{plain('console.nav.dashboard')}')")
    await expect(page.locator("#waiting-count")).to_have_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
    await page.click(f"a:text('{plain('console.switch_language')}')")
    await expect(page.locator("main h2").first).to_have_text(t("console.dashboard.title", "en"))
