"""Open311 GeoReport v2 over HTTP: services, filing, listing with filters, errors, privacy."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config, ConfigError, Open311Config, parse_config
from bot.domain.tickets import agency_name
from handlers.messages import fmt_datetime, t
from storage import tickets as ticket_store
from storage.models import Privacy, Ticket, TicketState
from tests.harness import Harness, running_bot

KEY = "partner-key-0123456789"
V2 = "/open311/v2"
POTHOLE = "Đường Nguyễn Trãi có ổ gà rất lớn, xe máy đi qua rất nguy hiểm, đề nghị sửa gấp"
BRIBE = "Cán bộ một cửa đòi phong bì lót tay mới chịu nhận hồ sơ của tôi, rất bức xúc"
REPORTER = {
    "first_name": "Trần",
    "last_name": "Thị Hoa",
    "phone": "0912345678",
    "email": "hoa.tran@example.vn",
}


@dataclass
class Api:
    bot: Harness
    http: TestClient[Any, Any]

    async def file(self, **fields: str) -> Any:
        response = await self.http.post(f"{V2}/requests.json", data={"api_key": KEY, **fields})
        assert response.status == 201, await response.text()
        return await response.json()

    async def get(self, path: str, expect: int = 200, **query: str) -> Any:
        response = await self.http.get(f"{V2}/{path}", params=query)
        assert response.status == expect, await response.text()
        return await response.json()


@pytest.fixture
async def api(config: Config, tmp_path: Path) -> AsyncIterator[Api]:
    keyed = dataclasses.replace(config, open311=Open311Config(api_keys=(KEY,)))
    url = f"sqlite+aiosqlite:///{tmp_path / 'open311.db'}"
    async with running_bot(keyed, url) as bot:
        client: TestClient[Any, Any] = TestClient(TestServer(bot.app.web_app))
        await client.start_server()
        try:
            yield Api(bot, client)
        finally:
            await client.close()


def assert_error(body: Any, status: int) -> None:
    assert isinstance(body, list)
    assert body[0]["code"] == status
    assert body[0]["description"]


# --- services ----------------------------------------------------------------------------------


async def test_services_list_every_category(api: Api) -> None:
    services = await api.get("services.json")
    config = api.bot.config
    assert [s["service_code"] for s in services] == [c.id for c in config.categories]
    roads = next(s for s in services if s["service_code"] == "giao-thong")
    assert roads["service_name"] == config.category("giao-thong").name  # type: ignore[union-attr]
    assert roads["metadata"] is False
    assert roads["type"] == "realtime"
    assert "ổ gà" in roads["keywords"]
    assert roads["group"] == agency_name(config, "xay-dung")


async def test_xml_format_is_refused_with_a_json_error(api: Api) -> None:
    for path in ("services.xml", "requests.xml", "requests/PA-2026-000001.xml"):
        assert_error(await api.get(path, expect=400), 400)


# --- filing ------------------------------------------------------------------------------------


async def test_post_files_a_routed_ticket_and_sends_the_agency_card(api: Api) -> None:
    answer = await api.file(
        service_code="giao-thong",
        description=POTHOLE,
        lat="10.95",
        long="106.82",
        address_string="123 Nguyễn Trãi, phường Trấn Biên",
        media_url="https://example.vn/o-ga.jpg",
        **REPORTER,
    )
    code = answer[0]["service_request_id"]
    async with api.bot.app.db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    assert ticket.agency_id == "xay-dung"
    assert ticket.state == TicketState.ROUTED
    assert (ticket.reporter_name, ticket.reporter_phone) == ("Trần Thị Hoa", "0912345678")
    assert ticket.reporter_email == "hoa.tran@example.vn"
    assert (ticket.latitude, ticket.longitude) == (10.95, 106.82)
    assert ticket.citizen_blocked  # no chat to write to: the partner reads the API
    assert answer[0]["service_notice"] == t(
        "open311.notice",
        "vi",
        code=code,
        agency=agency_name(api.bot.config, "xay-dung"),
        due=fmt_datetime(ticket.resolve_due_at),
    )
    card = await api.bot.emu.wait_for_bot_message(api.bot.agency_chat("xay-dung"))
    assert code in card["text"]
    assert "123 Nguyễn Trãi" in card["text"]
    assert "0912345678" in card["text"]


async def test_post_accepts_a_json_body(api: Api) -> None:
    response = await api.http.post(
        f"{V2}/requests.json",
        json={"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE, "lat": 10.9,
              "long": 106.8},
    )  # fmt: skip
    assert response.status == 201
    [answer] = await response.json()
    assert answer["service_request_id"].startswith("PA-")


async def test_post_chosen_service_is_routed_like_a_citizen_choice(api: Api) -> None:
    # A commune matter with no commune named goes to the operators, as in the chat.
    [answer] = await api.file(service_code="trat-tu-do-thi", description=POTHOLE)
    [view] = await api.get(f"requests/{answer['service_request_id']}.json")
    assert view["agency_responsible"] == agency_name(api.bot.config, None)
    assert view["status_notes"] == t("open311.notes.triage", "vi")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"service_code": "giao-thong", "description": POTHOLE}, 403),  # no key
        ({"api_key": "wrong-key-0000000000", "service_code": "giao-thong",
          "description": POTHOLE}, 403),
        ({"api_key": KEY, "service_code": "khong-co", "description": POTHOLE}, 400),
        ({"api_key": KEY, "description": POTHOLE}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": "  "}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE,
          "lat": "abc", "long": "106"}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE,
          "lat": "10.9"}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE,
          "lat": "95", "long": "106"}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE,
          "media_url": "javascript:alert(1)"}, 400),
        ({"api_key": KEY, "service_code": "giao-thong", "description": POTHOLE,
          "email": "not-an-email"}, 400),
    ],
)  # fmt: skip
async def test_post_refuses_bad_input_and_files_nothing(
    api: Api, fields: dict[str, str], status: int
) -> None:
    response = await api.http.post(f"{V2}/requests.json", data=fields)
    assert response.status == status
    assert_error(await response.json(), status)
    async with api.bot.app.db.transaction() as session:
        assert await ticket_store.count_tickets(session=session) == 0


async def test_post_refuses_a_body_that_is_not_json(api: Api) -> None:
    response = await api.http.post(
        f"{V2}/requests.json", data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert_error(await response.json(), 400)


def test_config_refuses_a_short_or_repeated_api_key() -> None:
    with pytest.raises(ConfigError, match=r"open311\.api_keys\[0\]"):
        parse_config({"open311": {"api_keys": ["short"]}})
    with pytest.raises(ConfigError, match=r"api_keys\[1\].*repeats"):
        parse_config({"open311": {"api_keys": [KEY, KEY]}})
    assert parse_config({"open311": {"api_keys": [KEY]}}).open311.api_keys == (KEY,)


# --- reading -----------------------------------------------------------------------------------


async def test_get_request_by_id_answers_the_fields(api: Api) -> None:
    [answer] = await api.file(
        service_code="giao-thong", description=POTHOLE, lat="10.95", long="106.82",
        address_string="123 Nguyễn Trãi", media_url="https://example.vn/a.jpg",
    )  # fmt: skip
    code = answer["service_request_id"]
    [view] = await api.get(f"requests/{code}.json")
    assert view["service_request_id"] == code
    assert view["status"] == "open"
    assert view["service_code"] == "giao-thong"
    assert view["description"] == POTHOLE
    assert view["agency_responsible"] == agency_name(api.bot.config, "xay-dung")
    assert view["requested_datetime"] == "2026-11-23T09:00:00+07:00"
    assert view["updated_datetime"] == "2026-11-23T09:00:00+07:00"
    assert view["expected_datetime"].endswith("+07:00")
    assert (view["address"], view["lat"], view["long"]) == ("123 Nguyễn Trãi", 10.95, 106.82)
    assert view["media_url"] == "https://example.vn/a.jpg"


async def test_get_unknown_request_is_404(api: Api) -> None:
    assert_error(await api.get("requests/PA-2026-999999.json", expect=404), 404)


async def test_no_identity_leaks_through_any_read(api: Api) -> None:
    [answer] = await api.file(
        service_code="giao-thong",
        description=POTHOLE + ". Gọi tôi 0987 654 321 hoặc hoa@example.vn",
        **REPORTER,
    )
    code = answer["service_request_id"]
    bodies = [
        await (await api.http.get(f"{V2}/requests.json")).text(),
        await (await api.http.get(f"{V2}/requests/{code}.json")).text(),
    ]
    for body in bodies:
        assert code in body
        for secret in (*REPORTER.values(), "0987 654 321", "hoa@example.vn", "open311"):
            assert secret not in body


async def test_conduct_ticket_text_and_place_are_withheld(api: Api) -> None:
    [answer] = await api.file(
        service_code="nhung-nhieu", description=BRIBE, lat="10.9", long="106.8",
        address_string="Nhà tôi ở hẻm 5", media_url="https://example.vn/phong-bi.jpg",
    )  # fmt: skip
    code = answer["service_request_id"]
    async with api.bot.app.db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    assert ticket.privacy == Privacy.OPERATORS  # a denunciation keeps the reporter hidden
    [view] = await api.get(f"requests/{code}.json")
    assert view["description"] == t("open311.withheld", "vi")
    assert (view["address"], view["lat"], view["long"], view["media_url"]) == (None,) * 4
    listed = await (await api.http.get(f"{V2}/requests.json")).text()
    assert "phong bì" not in listed
    assert "hẻm 5" not in listed


async def test_list_filters_by_id_service_status_and_dates(api: Api) -> None:
    clock = api.bot.clock
    [first] = await api.file(service_code="giao-thong", description=POTHOLE)
    clock.advance(days=2)
    [second] = await api.file(service_code="moi-truong", description="Nhà máy xả thải mùi hôi")
    clock.advance(days=1)
    [third] = await api.file(service_code="giao-thong", description=POTHOLE + " lần hai")
    a, b, c = (x["service_request_id"] for x in (first, second, third))
    async with api.bot.app.db.transaction() as session:
        ticket = await ticket_store.get_ticket_by_code(session=session, code=a)
        assert ticket is not None
        ticket.state = TicketState.RESOLVED
        ticket.resolved_at = clock()
        session.add(ticket)

    def codes(body: list[dict[str, Any]]) -> list[str]:
        return [item["service_request_id"] for item in body]

    assert codes(await api.get("requests.json")) == [c, b, a]  # newest first
    assert codes(await api.get("requests.json", service_request_id=f"{a},{c}")) == [c, a]
    assert codes(await api.get("requests.json", service_code="giao-thong")) == [c, a]
    assert codes(await api.get("requests.json", status="open")) == [c, b]
    assert codes(await api.get("requests.json", status="closed")) == [a]
    window: dict[str, Any] = {
        "start_date": "2026-11-24T00:00:00+07:00",
        "end_date": "2026-11-25T23:59:59+07:00",
    }
    assert codes(await api.get("requests.json", **window)) == [b]
    # A date alone, in local time, and an unencoded "+" (a space) both parse.
    assert codes(await api.get("requests.json", start_date="2026-11-26")) == [c]
    response = await api.http.get(f"{V2}/requests.json?end_date=2026-11-23T23:00:00+07:00")
    assert codes(await response.json()) == [a]


async def test_list_defaults_to_the_last_90_days(api: Api) -> None:
    [old] = await api.file(service_code="giao-thong", description=POTHOLE)
    api.bot.clock.advance(days=91)
    [new] = await api.file(service_code="giao-thong", description=POTHOLE)
    listed = await api.get("requests.json")
    assert [x["service_request_id"] for x in listed] == [new["service_request_id"]]
    by_id = await api.get("requests.json", service_request_id=old["service_request_id"])
    assert len(by_id) == 1


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "hôm qua"},
        {"end_date": "2026-13-01"},
        {"start_date": "2026-11-25", "end_date": "2026-11-24"},
        {"status": "pending"},
        {"service_code": "khong-co"},
    ],
)
async def test_list_refuses_bad_filters(api: Api, query: dict[str, Any]) -> None:
    assert_error(await api.get("requests.json", expect=400, **query), 400)


async def test_list_answers_at_most_1000_newest_and_hides_spam(api: Api) -> None:
    now = api.bot.clock()
    async with api.bot.app.db.transaction() as session:
        for n in range(1003):
            session.add(
                Ticket(
                    code=f"PA-2026-{n + 1:06d}", channel="telegram", chat_id="1",
                    text=f"phản ánh {n}", category_id="giao-thong",
                    state=TicketState.SPAM if n == 1002 else TicketState.TRIAGE,
                    created_at=now - timedelta(minutes=1003 - n),
                )
            )  # fmt: skip
    listed = await api.get("requests.json")
    assert len(listed) == 1000
    assert listed[0]["service_request_id"] == "PA-2026-001002"  # the spam one is left out
    assert listed[-1]["service_request_id"] == "PA-2026-000003"
    assert_error(await api.get("requests/PA-2026-001003.json", expect=404), 404)
