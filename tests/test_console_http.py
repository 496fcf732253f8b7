"""The web console over HTTP: sign-in, sessions, CSRF, lock-out, roles, and the error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from markupsafe import escape

from bot.app import HotlineApp
from bot.config import Config
from bot.domain import accounts
from handlers.messages import t
from storage import outbox as outbox_store
from storage import tickets as ticket_store
from storage.models import TicketState
from tests.console_support import (
    PASSWORD,
    add_user,
    console_app,
    csrf_of,
    seed_ticket,
    sign_in,
)
from tests.harness import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def served(
    config: Config, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[HotlineApp, TestServer]]:
    async with console_app(config, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", clock) as pair:
        app, _server = pair
        await add_user(app, "binh", "operator")
        await add_user(app, "xd", "agency:xay-dung")
        await add_user(app, "yt", "agency:y-te")
        await add_user(app, "chau", "leader")
        yield pair


@pytest.fixture
async def client(served: tuple[HotlineApp, TestServer]) -> AsyncIterator[TestClient]:
    async with TestClient(served[1]) as test_client:
        yield test_client


def shown(key: str, lang: str = "vi", **values: object) -> str:
    """A text as the page shows it (HTML-escaped by t())."""
    return t(key, lang, **values)


async def test_signin_sets_a_strict_session_cookie(client: TestClient) -> None:
    response = await sign_in(client, "binh")
    cookie = response.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("hotline_session="))
    assert response.status == 303 and response.headers["Location"] == "/console/queue"
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie
    page = await client.get("/console/queue")
    assert page.status == 200 and shown("console.queue.title") in await page.text()


async def test_signin_cookie_is_secure_behind_https(
    config: Config, tmp_path: Path, clock: FakeClock
) -> None:
    https = replace(config, web=replace(config.web, public_url="https://1022.example.gov.vn"))
    async with console_app(https, f"sqlite+aiosqlite:///{tmp_path / 's.db'}", clock) as pair:
        await add_user(pair[0], "binh", "operator")
        async with TestClient(pair[1]) as test_client:
            page = await test_client.get("/console/signin")
            token = csrf_of(await page.text())
            # The client keeps Secure cookies for https only; send the form's back by hand.
            response = await test_client.post(
                "/console/signin",
                data={"csrf": token, "name": "binh", "password": PASSWORD},
                headers={"Cookie": f"hotline_signin={token}"},
                allow_redirects=False,
            )
    assert "Secure" in page.headers["Set-Cookie"]
    cookie = next(
        c for c in response.headers.getall("Set-Cookie") if c.startswith("hotline_session=")
    )
    assert "Secure" in cookie


async def test_pages_without_a_session_go_to_signin(client: TestClient) -> None:
    response = await client.get("/console/queue", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/console/signin?next=")


async def test_wrong_password_is_refused(client: TestClient) -> None:
    response = await sign_in(client, "binh", "sai-mat-khau")
    assert response.status == 401
    assert shown("console.error.bad_login") in await response.text()


async def test_five_wrong_passwords_lock_the_name_for_fifteen_minutes(
    client: TestClient, clock: FakeClock
) -> None:
    for _ in range(4):
        assert (await sign_in(client, "binh", "sai")).status == 401
    fifth = await sign_in(client, "binh", "sai")
    right_while_locked = await sign_in(client, "binh")
    assert fifth.status == 429
    assert right_while_locked.status == 429
    assert shown("console.error.locked", minutes=15) in await right_while_locked.text()
    clock.advance(minutes=15, seconds=1)
    assert (await sign_in(client, "binh")).status == 303


async def test_disabled_user_cannot_sign_in_and_loses_their_session(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    app = served[0]
    await sign_in(client, "binh")
    async with app.db.transaction() as session:
        await accounts.disable_user(session=session, name="binh")
    after = await client.get("/console/queue", allow_redirects=False)
    again = await sign_in(client, "binh")
    assert after.status == 303
    assert again.status == 401


async def test_signin_without_its_csrf_token_is_refused(client: TestClient) -> None:
    response = await client.post(
        "/console/signin", data={"name": "binh", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert shown("console.error.csrf") in await response.text()


async def test_form_without_csrf_token_is_refused_and_changes_nothing(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    ticket = await seed_ticket(served[0])
    await sign_in(client, "binh")
    response = await client.post(
        f"/console/tickets/{ticket.code}/close", data={"reason": "spam"}, allow_redirects=False
    )
    wrong = await client.post(
        f"/console/tickets/{ticket.code}/close",
        data={"reason": "spam", "csrf": "forged"},
        allow_redirects=False,
    )
    assert response.status == 403 and wrong.status == 403
    async with served[0].db.transaction() as session:
        stored = await ticket_store.get_ticket_by_code(session=session, code=ticket.code)
    assert stored is not None and stored.state == TicketState.TRIAGE


async def test_unknown_ticket_is_404(client: TestClient) -> None:
    await sign_in(client, "binh")
    response = await client.get("/console/tickets/PA-2026-999999")
    assert response.status == 404
    assert shown("console.error.not_found") in await response.text()


async def test_agency_user_gets_403_on_another_agencys_ticket(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    own = await seed_ticket(served[0], agency="xay-dung")
    other = await seed_ticket(served[0], agency="y-te")
    await sign_in(client, "xd")
    mine = await client.get(f"/console/tickets/{own.code}")
    refused = await client.get(f"/console/tickets/{other.code}")
    page = await client.get(f"/console/tickets/{other.code}")
    token = csrf_of(await mine.text())
    act = await client.post(
        f"/console/tickets/{other.code}/accept", data={"csrf": token}, allow_redirects=False
    )
    assert mine.status == 200
    assert refused.status == 403 and page.status == 403 and act.status == 403
    listing = await (await client.get("/console/queue")).text()
    assert own.code in listing and other.code not in listing


async def test_agency_user_may_not_use_operator_actions(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    own = await seed_ticket(served[0], agency="xay-dung")
    await sign_in(client, "xd")
    page = await client.get(f"/console/tickets/{own.code}")
    token = csrf_of(await page.text())
    response = await client.post(
        f"/console/tickets/{own.code}/close",
        data={"csrf": token, "reason": "spam"},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_agency_user_accepts_and_resolves_its_ticket(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    app = served[0]
    own = await seed_ticket(app, agency="xay-dung")
    await sign_in(client, "xd")
    token = csrf_of(await (await client.get(f"/console/tickets/{own.code}")).text())
    accepted = await client.post(
        f"/console/tickets/{own.code}/accept", data={"csrf": token}, allow_redirects=False
    )
    resolved = await client.post(
        f"/console/tickets/{own.code}/resolve",
        data={"csrf": token, "text": "Đã vá xong ổ gà"},
        allow_redirects=False,
    )
    assert accepted.status == 303 and resolved.status == 303
    async with app.db.transaction() as session:
        stored = await ticket_store.get_ticket_by_code(session=session, code=own.code)
        queued = await outbox_store.list_outbox(session=session)
    assert stored is not None and stored.state == TicketState.RESOLVED
    assert any("Đã vá xong ổ gà" in row.payload["text"] for row in queued if row.chat_id == "501")


async def test_agency_agency_never_sees_internal_notes(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    app = served[0]
    own = await seed_ticket(app, agency="xay-dung")
    await sign_in(client, "binh")
    token = csrf_of(await (await client.get(f"/console/tickets/{own.code}")).text())
    await client.post(
        f"/console/tickets/{own.code}/note", data={"csrf": token, "text": "Bí mật nội bộ"}
    )
    operator_view = await (await client.get(f"/console/tickets/{own.code}")).text()
    async with TestClient(served[1]) as agency_client:
        await sign_in(agency_client, "xd")
        agency_view = await (await agency_client.get(f"/console/tickets/{own.code}")).text()
    assert "Bí mật nội bộ" in operator_view
    assert "Bí mật nội bộ" not in agency_view


async def test_leader_reads_but_may_not_act(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    ticket = await seed_ticket(served[0])
    await sign_in(client, "chau")
    page = await client.get(f"/console/tickets/{ticket.code}")
    token = csrf_of(await page.text())
    response = await client.post(
        f"/console/tickets/{ticket.code}/note",
        data={"csrf": token, "text": "x"},
        allow_redirects=False,
    )
    dashboard = await client.get("/console/dashboard")
    assert page.status == 200 and response.status == 403 and dashboard.status == 200


async def test_agency_user_has_no_dashboard(client: TestClient) -> None:
    await sign_in(client, "xd")
    assert (await client.get("/console/dashboard")).status == 403


async def test_signout_ends_the_session(client: TestClient) -> None:
    await sign_in(client, "binh")
    token = csrf_of(await (await client.get("/console/queue")).text())
    out = await client.post("/console/signout", data={"csrf": token}, allow_redirects=False)
    after = await client.get("/console/queue", allow_redirects=False)
    assert out.status == 303 and after.status == 303


async def test_merge_into_an_unknown_ticket_says_so(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    ticket = await seed_ticket(served[0])
    await sign_in(client, "binh")
    token = csrf_of(await (await client.get(f"/console/tickets/{ticket.code}")).text())
    response = await client.post(
        f"/console/tickets/{ticket.code}/merge", data={"csrf": token, "keep": "PA-2026-999999"}
    )
    assert shown("op.error.merge_unknown") in await response.text()


async def test_user_text_is_escaped_on_every_page(
    served: tuple[HotlineApp, TestServer], client: TestClient
) -> None:
    attack = '<script>alert("x")</script> đường hỏng'
    ticket = await seed_ticket(served[0], text=attack)
    await sign_in(client, "binh")
    page = await (await client.get(f"/console/tickets/{ticket.code}")).text()
    queue = await (await client.get("/console/queue")).text()
    assert "<script>alert" not in page and "<script>alert" not in queue
    assert str(escape(attack)) in page


async def test_queue_filters_and_pages(
    served: tuple[HotlineApp, TestServer], client: TestClient, clock: FakeClock
) -> None:
    app = served[0]
    codes = []
    for index in range(27):
        codes.append((await seed_ticket(app, text=f"Phản ánh số {index} về rác thải")).code)
        clock.advance(minutes=1)
    routed = await seed_ticket(app, text="Cột điện nghiêng sắp đổ", agency="xay-dung")
    await sign_in(client, "binh")
    first = await (await client.get("/console/queue?state=triage")).text()
    second = await (await client.get("/console/queue?state=triage&page=2")).text()
    by_agency = await (await client.get("/console/queue?agency=xay-dung")).text()
    by_text = await (await client.get("/console/queue?q=c%E1%BB%99t+%C4%91i%E1%BB%87n")).text()
    assert codes[0] in first and codes[24] in first and codes[25] not in first
    assert codes[25] in second and codes[26] in second
    assert first.index(codes[0]) < first.index(codes[1])  # earliest due first
    assert routed.code in by_agency and codes[0] not in by_agency
    assert routed.code in by_text and codes[0] not in by_text
    clock.advance(days=3)
    await sign_in(client, "binh")  # the session of three days ago has expired
    overdue = await (await client.get("/console/queue?overdue=1&agency=triage")).text()
    assert codes[0] in overdue and routed.code not in overdue


async def test_language_switch_to_english(client: TestClient) -> None:
    await sign_in(client, "binh")
    response = await client.get("/console/lang/en?next=/console/queue")
    assert shown("console.queue.title", "en") in await response.text()


async def test_language_switch_does_not_redirect_off_site(client: TestClient) -> None:
    response = await client.get(
        "/console/lang/en?next=https://evil.example/", allow_redirects=False
    )
    assert response.headers["Location"] == "/console/"


async def test_sessions_expire(client: TestClient, clock: FakeClock) -> None:
    await sign_in(client, "binh")
    clock.advance(hours=accounts.SESSION_HOURS, seconds=1)
    assert (await client.get("/console/queue", allow_redirects=False)).status == 303


def test_locked_until_counts_only_the_window() -> None:
    now = FakeClock().now
    old = [now - timedelta(minutes=20)] * 5
    recent = [now - timedelta(minutes=m) for m in (10, 8, 6, 4, 2)]
    assert accounts.locked_until(old, now) is None
    assert accounts.locked_until(recent, now) == now - timedelta(minutes=2) + timedelta(minutes=15)
