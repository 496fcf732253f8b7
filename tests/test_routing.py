"""The routing rules, in bot/domain/routing.py, through every entry point that routes."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.domain.intent import reads_as_lookup
from bot.domain.routing import TRIAGE, Reason, Router, RoutingRefused
from bot.domain.tickets import TransitionError, route_ticket
from bot.domain.triage import Classifier
from handlers.messages import t
from storage.models import TicketState
from tests.harness import OPERATORS, Harness, running_bot
from tests.test_e2e_citizen import add_dossier, code_in, ticket_of


def plain(html_text: str) -> str:
    """The text a chat shows for an HTML message."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


BRIBE_AT_TAX = "Cán bộ thuế đòi phong bì mới duyệt hoàn thuế cho công ty tôi"


@pytest.fixture(scope="module")
def router(config: Config) -> Router:
    return Router.from_config(config)


@pytest.fixture(scope="module")
def classifier(config: Config) -> Classifier:
    return Classifier.from_config(config)


# --- the rules, one by one --------------------------------------------------------------------


def test_route_category_goes_to_its_agency(router: Router) -> None:
    route = router.route("cap-nuoc")
    assert (route.agency, route.reason) == ("xay-dung", Reason.CATEGORY)


def test_route_conduct_goes_to_oversight_never_the_subject(router: Router) -> None:
    route = router.route("nhung-nhieu", subject_agency="thue")
    assert (route.agency, route.subject_agency, route.reason) == ("thanh-tra", "thue", "oversight")


def test_route_conduct_about_the_oversight_body_goes_to_its_supervisor(router: Router) -> None:
    route = router.route("nhung-nhieu", subject_agency="thanh-tra")
    assert (route.agency, route.reason) == ("vp-ubnd", Reason.SUPERVISOR)


def test_route_conduct_naming_its_oversight_body_as_a_party_goes_to_operators(
    router: Router,
) -> None:
    route = router.route("dun-day", subject_agency="bhxh", parties=frozenset({"bhxh", "noi-vu"}))
    assert (route.agency, route.reason) == (TRIAGE, Reason.ACCUSED)
    # parties weigh only in conduct complaints: a topic names agencies for other reasons
    topic = router.route("bhxh", parties=frozenset({"bhxh", "noi-vu"}))
    assert topic.agency == "bhxh"


def test_route_named_dossier_goes_to_its_holder(router: Router) -> None:
    route = router.route("tre-han", dossier_agency="nn-mt")
    assert (route.agency, route.reason) == ("nn-mt", Reason.DOSSIER)


def test_route_named_dossier_held_by_the_accused_goes_to_operators(router: Router) -> None:
    route = router.route("tre-han", dossier_agency="nn-mt", subject_agency="nn-mt")
    assert (route.agency, route.reason) == (TRIAGE, Reason.ACCUSED)


def test_route_commune_matter_without_commune_goes_to_operators(router: Router) -> None:
    route = router.route("ho-tich")
    assert (route.agency, route.reason) == (TRIAGE, Reason.NO_COMMUNE)
    assert router.route("ho-tich", ward="Phường Tam Hiệp").agency == "ubnd-xa"


def test_route_commune_matter_goes_to_the_wards_own_committee(config: Config) -> None:
    agencies = tuple(
        a if a.id != "vp-ubnd" else a.__class__(**{**a.__dict__, "wards": ("Phường Tam Hiệp",)})
        for a in config.agencies
    )
    router = Router(config.categories, agencies, confidence_threshold=0.5)
    route = router.route("trat-tu-do-thi", ward="phường tam hiệp")
    assert (route.agency, route.reason) == ("vp-ubnd", Reason.WARD)


def test_route_low_confidence_goes_to_operators_only_for_the_machine(router: Router) -> None:
    machine = router.route("cap-nuoc", confidence=router.threshold / 2)
    person = router.route("cap-nuoc")
    assert (machine.agency, machine.reason) == (TRIAGE, Reason.LOW_CONFIDENCE)
    assert person.agency == "xay-dung"


def test_route_category_without_agency_goes_to_operators(router: Router) -> None:
    assert router.route("khac").reason == Reason.NO_AGENCY
    assert router.route("no-such-category").agency == TRIAGE


def test_route_topic_agency_accused_goes_to_operators(router: Router) -> None:
    route = router.route("thue", subject_agency="thue")
    assert (route.agency, route.subject_agency, route.reason) == (TRIAGE, "thue", "accused")


def test_assign_refuses_the_subject_agency_and_logs(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(RoutingRefused) as refused:
        router.assign("thue", subject_agency="thue", ticket="PA-2026-000001")
    assert refused.value.reason == "subject_agency"
    assert "PA-2026-000001" in caplog.text
    assert router.assign("thanh-tra", subject_agency="thue").agency == "thanh-tra"


def test_assign_refuses_an_unknown_agency(router: Router) -> None:
    with pytest.raises(RoutingRefused) as refused:
        router.assign("so-khong-co", subject_agency=None)
    assert refused.value.reason == "unknown_agency"


def test_renamed_conduct_category_still_never_reaches_the_subject(config: Config) -> None:
    categories = tuple(
        c.__class__(**{**c.__dict__, "id": "tham-nhung-vat"}) if c.id == "nhung-nhieu" else c
        for c in config.categories
    )
    router = Router(categories, config.agencies, confidence_threshold=0.5)
    route = router.route("tham-nhung-vat", subject_agency="thanh-tra")
    assert route.agency == "vp-ubnd"


# --- entry point 1: the classifier's proposal -------------------------------------------------


def test_proposal_of_a_conduct_complaint_records_the_subject(classifier: Classifier) -> None:
    decision = classifier.classify(BRIBE_AT_TAX)
    assert (decision.category, decision.subject_agency) == ("nhung-nhieu", "thue")
    assert decision.agency != "thue"


# --- entry point 2: the citizen's own category ------------------------------------------------


def test_route_as_applies_the_rules_to_a_chosen_category(classifier: Classifier) -> None:
    chosen = classifier.route_as(BRIBE_AT_TAX, "thue")
    assert (chosen.category, chosen.agency, chosen.subject_agency) == ("thue", TRIAGE, "thue")
    conduct = classifier.route_as(BRIBE_AT_TAX, "thai-do")
    assert (conduct.agency, conduct.subject_agency) == ("noi-vu", "thue")


@pytest.fixture
async def bot(config: Config, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}") as harness:
        yield harness


async def test_citizen_choosing_the_accused_agencys_topic_goes_to_operators(
    bot: Harness,
) -> None:
    proposal = await bot.say(BRIBE_AT_TAX)
    await bot.press(proposal, "Chọn lĩnh vực khác")
    choices = await bot.reply()
    await bot.press(choices, "Thuế, hóa đơn")
    new_proposal = await bot.reply()
    assert t("complaint.triage_agency", "vi") in new_proposal["text"]
    await bot.press(new_proposal, "Gửi")
    await bot.reply()
    anonymous = await bot.reply()
    await bot.press(anonymous, "ẩn danh")
    ticket = await ticket_of(bot, code_in((await bot.reply())["text"]))
    assert (ticket.category_id, ticket.agency_id, ticket.state) == ("thue", None, "triage")
    assert ticket.subject_agency_id == "thue"


# --- entry point 3: the operators' reroute ----------------------------------------------------


async def test_operator_cannot_route_a_conduct_ticket_to_its_subject(bot: Harness) -> None:
    proposal = await bot.say(BRIBE_AT_TAX)
    await bot.press(proposal, "Chọn lĩnh vực khác")
    await bot.press(await bot.reply(), "Thuế, hóa đơn")
    await bot.press(await bot.reply(), "Gửi")
    await bot.reply()
    await bot.press(await bot.reply(), "ẩn danh")
    code = code_in((await bot.reply())["text"])
    card = await bot.reply(OPERATORS)
    await bot.press(card, "Chọn cơ quan khác", OPERATORS)
    picker = await bot.reply(OPERATORS)
    labels = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert "Thuế tỉnh" not in labels
    assert "Thanh tra tỉnh" in labels
    ticket = await ticket_of(bot, code)
    async with bot.app.db.transaction() as session:
        with pytest.raises(TransitionError) as refused:
            await route_ticket(
                session=session,
                config=bot.app.config,
                ticket=ticket,
                agency_id="thue",
                user_id="7",
                now=bot.clock(),
            )
    assert refused.value.reason == "subject_agency"
    assert (await ticket_of(bot, code)).state == TicketState.TRIAGE


# --- lookup or complaint ----------------------------------------------------------------------

CODE = "H23.22-230825-0001"


@pytest.mark.parametrize(
    "text",
    [
        f"cho tôi hỏi hồ sơ {CODE} của tôi giờ tới đâu rồi",
        f"mã hồ sơ của tôi là {CODE}",
        f"{CODE}",
        f"Xin chào tổng đài, tôi nộp hồ sơ đất ở xã từ tháng trước, mã số {CODE}, nhờ kiểm tra "
        "giúp tôi là hồ sơ đang nằm ở bộ phận nào và bao giờ thì có kết quả ạ",
    ],
)
def test_reads_as_lookup_a_question_about_the_dossier(text: str) -> None:
    assert reads_as_lookup(text, [CODE], category="", confidence=0.0)


@pytest.mark.parametrize(
    "text",
    [
        f"hồ sơ {CODE} trễ hai tuần mà cán bộ cứ bảo chờ",
        f"ho so {CODE} qua han 10 ngay roi van chua co ket qua",
        f"My dossier {CODE} is two weeks late",
    ],
)
def test_reads_as_lookup_not_a_complaint_about_it(text: str) -> None:
    assert not reads_as_lookup(text, [CODE], category="", confidence=0.0)


def test_reads_as_lookup_not_when_the_classifier_sees_a_complaint() -> None:
    text = f"hồ sơ {CODE} nộp lâu rồi"
    assert reads_as_lookup(text, [CODE], category="", confidence=0.0)
    assert not reads_as_lookup(text, [CODE], category="tre-han", confidence=0.8)


async def test_question_with_a_code_is_looked_up_and_can_become_a_complaint(
    bot: Harness,
) -> None:
    await add_dossier(bot)
    card = await bot.say(f"cho tôi hỏi hồ sơ {CODE} của tôi giờ tới đâu rồi")
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in card["text"]
    offer = await bot.reply()
    assert offer["text"] == t("lookup.or_complain", "vi")
    await bot.press(offer, t("lookup.button.complain", "vi"))
    proposal = await bot.reply()
    assert t("complaint.button.send", "vi") in str(proposal["reply_markup"])


async def test_complaint_with_a_code_is_proposed_and_can_be_looked_up(bot: Harness) -> None:
    await add_dossier(bot)
    proposal = await bot.say(f"hồ sơ {CODE} trễ hai tuần mà cán bộ cứ bảo chờ")
    assert t("complaint.button.send", "vi") in str(proposal["reply_markup"])
    await bot.press(proposal, t("complaint.button.lookup", "vi", code=CODE))
    card = await bot.reply()
    assert "Cấp giấy chứng nhận quyền sử dụng đất" in card["text"]
    # The proposal still stands: the complaint can be sent after looking.
    await bot.press(proposal, t("complaint.button.send", "vi"))
    assert (await bot.reply())["text"] == plain(t("complaint.ask_contact", "vi"))
