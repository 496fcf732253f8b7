"""Open311 GeoReport v2 over HTTP: services, requests with every filter, filing, and errors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config, ConfigError, Open311Config, load_config
from bot.web.open311 import request_of
from handlers.messages import t
from storage.models import Ticket, TicketState
from storage.tickets import get_ticket_by_code
from tests.harness import Harness, running_bot

KEY = "k3y-for-the-city-portal-0001"
BASE = "/open311/v2"
ROAD = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy bị ngã liên tục mấy hôm nay"
BRIBE = "Cán bộ thuế đòi phong bì mới duyệt hoàn thuế cho công ty tôi, nói không có thì chờ"


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    config = dataclasses.replace(config, open311=Open311Config(api_keys=(KEY,)))
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'o311.db'}") as harness:
        yield harness


@pytest.fixture
async def client(bot: Harness) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(bot.app.web_app)) as test_client:
        yield test_client


async def file(client: TestClient[Any, Any], **fields: str) -> Any:
    """POST a request form-encoded, as GeoReport clients do; return the response."""
    form = {"api_key": KEY, "service_code": "giao-thong", "description": ROAD, **fields}
    return await client.post(f"{BASE}/requests.json", data=form)


async def filed_code(client: TestClient[Any, Any], **fields: str) -> str:
    response = await file(client, **fields)
    assert response.status == 201, await response.text()
    body = await response.json()
    return str(body[0]["service_request_id"])


# --- services ---------------------------------------------------------------------------------


async def test_services_lists_one_service_per_category(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    response = await client.get(f"{BASE}/services.json")
    services = await response.json()
    assert [s["service_code"] for s in services] == [c.id for c in bot.config.categories]
    road = next(s for s in services if s["service_code"] == "giao-thong")
    assert road["metadata"] is False
    assert road["type"] == "realtime"
    assert road["group"] == "Sở Xây dựng"
    assert road["keywords"]
    assert set(road) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }


# --- filing -----------------------------------------------------------------------------------


async def test_post_files_a_ticket_routed_like_a_chat_complaint(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    response = await file(
        client,
        lat="10.95",
        long="106.82",
        address_string="Số 5 Nguyễn Ái Quốc",
        phone="0912345678",
    )
    assert response.status == 201
    body = await response.json()
    code = body[0]["service_request_id"]
    assert body[0]["service_notice"] == t("open311.notice.routed", "vi", code=code)
    async with bot.app.db.transaction() as session:
        ticket = await get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    assert (ticket.agency_id, ticket.state, ticket.channel) == ("xay-dung", "routed", "open311")
    assert (ticket.latitude, ticket.longitude) == (10.95, 106.82)
    assert "Số 5 Nguyễn Ái Quốc" in ticket.text
    assert ticket.reporter_phone == "0912345678"
    card = await bot.reply(bot.agency_chat("xay-dung"))
    assert code in card["text"]


async def test_post_json_body_is_accepted(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        f"{BASE}/requests.json",
        json={"api_key": KEY, "service_code": "cap-nuoc", "description": "Mất nước ba ngày nay"},
    )
    assert response.status == 201


async def test_post_requested_service_is_routed_by_the_rules(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    # A tax-officer bribe filed under "thuế" never reaches the tax office it accuses.
    code = await filed_code(client, service_code="thue", description=BRIBE)
    async with bot.app.db.transaction() as session:
        ticket = await get_ticket_by_code(session=session, code=code)
    assert ticket is not None
    assert ticket.agency_id != "thue"
    assert ticket.subject_agency_id == "thue"


async def test_post_commune_matter_without_commune_waits_for_operators(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    response = await file(
        client, service_code="ho-tich", description="Làm khai sinh cho con bị hẹn mãi"
    )
    body = await response.json()
    code = body[0]["service_request_id"]
    assert body[0]["service_notice"] == t("open311.notice.triage", "vi", code=code)
    async with bot.app.db.transaction() as session:
        ticket = await get_ticket_by_code(session=session, code=code)
    assert ticket is not None and ticket.state == TicketState.TRIAGE


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": ""}, 403, "api_key is required"),
        ({"api_key": "not-the-key-of-anyone"}, 403, "not valid"),
        ({"service_code": "no-such-service"}, 400, "unknown service_code"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"description": "  "}, 400, "description is required"),
        ({"lat": "north", "long": "106"}, 400, "must both be numbers"),
        ({"lat": "91", "long": "106"}, 400, "out of range"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
        ({"email": "nobody"}, 400, "e-mail"),
    ],
)
async def test_post_bad_request_is_refused_and_files_nothing(
    client: TestClient[Any, Any], bot: Harness, fields: dict[str, str], status: int, words: str
) -> None:
    response = await file(client, **fields)
    assert response.status == status
    body = await response.json()
    assert body[0]["code"] == status
    assert words in body[0]["description"]
    listing = await (await client.get(f"{BASE}/requests.json")).json()
    assert listing == []


async def test_post_body_that_is_not_json_is_refused(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        f"{BASE}/requests.json", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


# --- reading requests -------------------------------------------------------------------------


async def test_request_by_id_has_the_georeport_fields_and_no_identity(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    code = await filed_code(
        client,
        first_name="Văn An",
        last_name="Nguyễn",
        email="an@example.vn",
        phone="0912345678",
        media_url="http://127.0.0.1:9/photo.jpg",
        lat="10.95",
        long="106.82",
    )
    response = await client.get(f"{BASE}/requests/{code}.json")
    (request,) = await response.json()
    assert set(request) == {
        "service_request_id",
        "status",
        "status_notes",
        "service_code",
        "service_name",
        "description",
        "agency_responsible",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "lat",
        "long",
        "media_url",
    }
    assert request["status"] == "open"
    assert request["agency_responsible"] == "Sở Xây dựng"
    assert request["description"] == ROAD
    assert request["media_url"] == "http://127.0.0.1:9/photo.jpg"
    assert request["requested_datetime"].endswith("+07:00")
    assert request["expected_datetime"] > request["requested_datetime"]
    text = await response.text()
    for identity in ("Nguyễn", "an@example.vn", "0912345678", "Văn An"):
        assert identity not in text


async def test_conduct_ticket_text_is_never_exposed(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    code = await filed_code(
        client, service_code="nhung-nhieu", description=BRIBE, lat="10.9", long="106.8"
    )
    by_id = await client.get(f"{BASE}/requests/{code}.json")
    listing = await client.get(f"{BASE}/requests.json")
    for response in (by_id, listing):
        text = await response.text()
        assert "phong bì" not in text
        assert "Cán bộ thuế" not in text
    (request,) = await by_id.json()
    assert (request["description"], request["lat"], request["long"]) == (None, None, None)


async def test_unknown_request_id_is_404(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{BASE}/requests/PA-2026-999999.json")
    assert response.status == 404
    assert (await response.json())[0]["code"] == 404


async def test_xml_format_is_refused_with_a_json_error(client: TestClient[Any, Any]) -> None:
    response = await client.get(f"{BASE}/services.xml")
    assert response.status == 400
    assert "JSON" in (await response.json())[0]["description"]


async def test_requests_filters_by_id_service_status_and_dates(
    client: TestClient[Any, Any], bot: Harness
) -> None:
    road = await filed_code(client)
    bot.clock.advance(hours=2)
    water = await filed_code(client, service_code="cap-nuoc", description="Mất nước ba ngày nay")
    bot.clock.advance(hours=2)
    third = await filed_code(client, service_code="cap-nuoc", description="Nước đục, có mùi lạ")
    async with bot.app.db.transaction() as session:
        ticket = await get_ticket_by_code(session=session, code=third)
        assert ticket is not None
        ticket.state = TicketState.RESOLVED
        ticket.resolved_at = bot.clock()
        ticket.answer = "Đã súc xả đường ống."
        session.add(ticket)

    async def codes(query: str) -> list[str]:
        response = await client.get(f"{BASE}/requests.json?{query}")
        assert response.status == 200, await response.text()
        return [r["service_request_id"] for r in await response.json()]

    assert await codes("") == [third, water, road]  # newest first
    assert await codes(f"service_request_id={road},{third}") == [third, road]
    assert await codes("service_code=cap-nuoc") == [third, water]
    assert await codes("status=open") == [water, road]
    assert await codes("status=closed") == [third]
    assert await codes("status=open,closed") == [third, water, road]
    start = (bot.clock() - timedelta(hours=3)).isoformat()
    end = (bot.clock() - timedelta(hours=1)).isoformat()
    assert await codes(f"start_date={start}".replace("+", "%2B")) == [third, water]
    assert await codes(f"start_date={start}&end_date={end}".replace("+", "%2B")) == [water]
    closed = await (await client.get(f"{BASE}/requests/{third}.json")).json()
    assert (closed[0]["status"], closed[0]["status_notes"]) == ("closed", "Đã súc xả đường ống.")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_date=yesterday", "not an ISO 8601"),
        ("end_date=2026-13-01", "not an ISO 8601"),
        ("start_date=2026-12-02&end_date=2026-12-01", "after end_date"),
        ("status=pending", "open or closed"),
        ("service_code=no-such-service", "unknown service_code"),
    ],
)
async def test_requests_bad_filter_is_400(
    client: TestClient[Any, Any], query: str, words: str
) -> None:
    response = await client.get(f"{BASE}/requests.json?{query}")
    assert response.status == 400
    assert words in (await response.json())[0]["description"]


async def test_requests_answer_at_most_the_configured_rows(config: Config, tmp_path: Path) -> None:
    config = dataclasses.replace(config, open311=Open311Config(api_keys=(KEY,), max_requests=2))
    async with (
        running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'few.db'}") as bot,
        TestClient(TestServer(bot.app.web_app)) as client,
    ):
        for _ in range(3):
            await filed_code(client)
        listing = await (await client.get(f"{BASE}/requests.json")).json()
    assert len(listing) == 2


def test_request_of_a_triage_ticket_names_the_operators(config: Config) -> None:
    ticket = Ticket(
        code="PA-2026-000001", channel="open311", chat_id="", text="x", category_id="khac"
    )
    request = request_of(config, ticket)
    assert request["agency_responsible"] == t("complaint.triage_agency", "vi")
    assert request["requested_datetime"] is None


# --- config -----------------------------------------------------------------------------------


def test_config_reads_api_keys_from_the_environment() -> None:
    config = load_config(None, environ={"HOTLINE_OPEN311_API_KEYS": f"{KEY}, {KEY}-2"})
    assert config.open311.api_keys == (KEY, f"{KEY}-2")


def test_config_refuses_a_short_api_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[open311]\napi_keys = ["short"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert "open311.api_keys" in str(error.value)
