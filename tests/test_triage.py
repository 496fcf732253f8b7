"""The triage engine: scoring, routing rules, wards, the JSON contract and the dev-set guard."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.config import AgencyConfig, CategoryConfig, Config, Keyword, TriageConfig, load_config
from bot.domain.text import fold_diacritics, normalize
from bot.domain.triage import (
    SPELLING_CUTOFF,
    TRIAGE,
    Classifier,
    Decision,
    WardIndex,
    spelling_candidates,
)

DEV_SET = Path(__file__).parent / "data" / "complaints-dev.jsonl"
HOLDOUT = Path(__file__).parent / "data" / "complaints-holdout.jsonl"
HOLDOUT_TUNED = 240  # lines 1-240 were used for tuning; 241-360 are the untouched check
HOLDOUT2 = Path(__file__).parent / "data" / "complaints-holdout2.jsonl"
HOLDOUT2_DIAGNOSIS = 160  # lines 1-160 were used to find error classes; 161-240 are untouched
SPEC_FIELDS = {"category", "agency", "confidence", "track", "ward", "subject_agency", "evidence"}


# The keyword engine alone (these tests) keeps the threshold it was tuned with; the combined
# engine's calibrated default is tested in tests/test_triage_learning.py.
KEYWORD_THRESHOLD = 0.55


@pytest.fixture(scope="module")
def config() -> Config:
    loaded = load_config()
    triage = dataclasses.replace(loaded.triage, confidence_threshold=KEYWORD_THRESHOLD)
    return dataclasses.replace(loaded, triage=triage)


@pytest.fixture(scope="module")
def classifier(config: Config) -> Classifier:
    return Classifier.from_config(config, learned=False)


def small_classifier(threshold: float = 0.5) -> Classifier:
    """A two-category directory for testing the matcher itself."""
    agencies = [AgencyConfig("a", "Agency A"), AgencyConfig("b", "Agency B")]
    categories = [
        CategoryConfig(
            "tax",
            "Thuế",
            "a",
            40,
            keywords=(Keyword("thuế"), Keyword("an", 0.5), Keyword("hóa đơn điện tử")),
            negative_keywords=(Keyword("tiền thuê nhà"),),
        ),
        CategoryConfig(
            "fees",
            "Lạm thu",
            "b",
            40,
            keywords=(Keyword("lạm thu"), Keyword("tiền luật"), Keyword("đổ trách nhiệm")),
        ),
        CategoryConfig("other", "Khác", None, 40),
    ]
    return Classifier(categories, agencies, confidence_threshold=threshold)


# --- decisions on representative complaints ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "agency"),
    [
        ("Nộp hồ sơ cấp phép kinh doanh từ đầu tháng 8, phiếu hẹn ghi 10 ngày mà nay vẫn chưa "
         "có kết quả.", "tre-han", "trung-tam-hcc"),
        ("ho so cua toi qua han 2 tuan roi ma van chua co ket qua", "tre-han", "trung-tam-hcc"),
        ("nhân viên một cửa đòi tiền bồi dưỡng mới nhận hồ sơ", "nhung-nhieu", "thanh-tra"),
        ("gửi đơn lên mấy nơi, nơi nào cũng trả lời không thuộc thẩm quyền", "dun-day", "noi-vu"),
        ("can bo tiep dan thai do hach dich, noi nang khong ton trong", "thai-do", "noi-vu"),
        ("thu tuc ruom ra qua, phai di nhieu noi xin nhieu con dau", "thu-tuc", "vp-ubnd"),
        ("dat nha toi bi thu hoi lam du an ma tien den bu qua thap", "dat-dai", "nn-mt"),
        ("Nhà máy giấy xả nước thải ra sông, nước đen ngòm và bốc mùi.", "moi-truong", "nn-mt"),
        ("cong trinh xay dung sai phep ma khong ai xu ly", "xay-dung", "xay-dung"),
        ("den giao thong o nga tu bi hu may ngay roi", "giao-thong", "xay-dung"),
        ("Khu phố tôi mất nước 2 ngày nay mà công ty cấp nước không thông báo gì.",
         "cap-nuoc", "xay-dung"),
        ("muon giai the doanh nghiep thi can thu tuc gi", "doanh-nghiep", "tai-chinh"),
        ("hoan thue gtgt cho doanh nghiep xuat khau qua cham", "thue", "thue"),
        ("muon rut bao hiem xa hoi mot lan thi lam o dau", "bhxh", "bhxh"),
        ("cong ty no luong 2 thang khong tra", "lao-dong", "noi-vu"),
        ("Bệnh viện tỉnh quá tải, bệnh nhân nằm ghép 3 người một giường.", "y-te", "y-te"),
        ("giao vien ep hoc sinh di hoc them", "giao-duc", "gd-dt"),
        ("xin ly lich tu phap so 2 mat bao lau", "tu-phap", "tu-phap"),
        ("dang ky tam tru cho nguoi thue tro o dau", "cu-tru", "cong-an"),
        ("bị lừa đảo qua điện thoại mất 20 triệu", "an-ninh", "cong-an"),
        ("giá xăng tăng mà cây xăng còn bơm thiếu", "thi-truong", "cong-thuong"),
        ("khong dang nhap duoc cong dich vu cong", "dich-vu-cong-truc-tuyen", "kh-cn"),
        ("mn ơi cb phường ko chịu nhận hs, bảo ko phải việc của phường", "dun-day", "noi-vu"),
        ("cans booj xax quats natj nguwowif giaf", "thai-do", "noi-vu"),
        ("Our company has not paid our wages for two months.", "lao-dong", "noi-vu"),
        ("Someone stole my motorbike in front of the supermarket.", "an-ninh", "cong-an"),
        ("We keep having power outages in our factory with no warning.",
         "thi-truong", "cong-thuong"),
    ],
)  # fmt: skip
def test_classify_routes_representative_complaints(
    classifier: Classifier, text: str, category: str, agency: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.category, decision.agency) == (category, agency)
    assert decision.evidence


def test_classify_routes_the_same_without_diacritics(classifier: Classifier) -> None:
    text = "Hàng xóm lấn đất, xây tường sang phần đất nhà tôi gần nửa mét, xin đo đạc lại ranh."
    accented = classifier.classify(text)
    plain = classifier.classify(fold_diacritics(text))
    assert (accented.category, accented.agency) == ("dat-dai", "nn-mt")
    assert (plain.category, plain.agency) == ("dat-dai", "nn-mt")


def test_classify_reports_evidence_as_configured_phrases(classifier: Classifier) -> None:
    decision = classifier.classify("cb xa voi tien lot tay")
    assert {"vòi tiền", "lót tay"} <= set(decision.evidence)


# --- rule 1: conflict of interest ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "subject"),
    [
        ("cán bộ phường đòi tiền cà phê mới ký xác nhận", "nhung-nhieu", "ubnd-xa"),
        ("Bên Sở Xây dựng hạch sách, ra hiệu phải lo lót thì mới ký giấy phép xây dựng.",
         "nhung-nhieu", "xay-dung"),
        ("Cán bộ Chi cục Thuế quát nạt, thái độ hách dịch với doanh nghiệp", "thai-do", "thue"),
        ("hỏi bên phường thì bảo ko phải việc của phường, kêu lên tỉnh", "dun-day", "ubnd-xa"),
        ("Officers of the provincial police asked for a bribe to approve our fire safety file.",
         "nhung-nhieu", "cong-an"),
    ],
)  # fmt: skip
def test_classify_conflict_of_interest_names_the_subject_and_never_routes_to_it(
    classifier: Classifier, config: Config, text: str, category: str, subject: str
) -> None:
    decision = classifier.classify(text)
    assert decision.category == category
    assert decision.subject_agency == subject
    assert decision.agency == config.category(category).agency  # type: ignore[union-attr]
    assert decision.agency != subject


def test_classify_conflict_with_the_oversight_agency_goes_to_its_supervisor(
    classifier: Classifier,
) -> None:
    decision = classifier.classify("Cán bộ Sở Nội vụ thái độ hách dịch, quát nạt người dân")
    assert decision.category == "thai-do"
    assert decision.subject_agency == "noi-vu"
    assert decision.agency == "vp-ubnd"


def test_classify_addressee_is_not_the_subject(classifier: Classifier) -> None:
    decision = classifier.classify(
        "Cán bộ phường vòi tiền lót tay mới ký. Đề nghị Thanh tra tỉnh xử lý."
    )
    assert decision.subject_agency == "ubnd-xa"
    assert decision.agency == "thanh-tra"


def test_classify_complaint_about_agency_staff_never_goes_to_that_agency(
    classifier: Classifier,
) -> None:
    decision = classifier.classify(
        "Đoàn kiểm tra thuế xuống công ty, nói muốn biên bản nhẹ nhàng thì chuẩn bị 50 triệu, "
        "không thì soi từng hóa đơn thuế."
    )
    assert decision.agency != "thue"
    assert decision.subject_agency == "thue"


def test_classify_hospital_staff_accused_never_goes_to_the_health_department(
    classifier: Classifier,
) -> None:
    decision = classifier.classify("nhân viên bệnh viện bảo muốn mổ sớm thì phải bồi dưỡng bác sĩ")
    assert decision.agency != "y-te"
    assert decision.subject_agency == "y-te"


@pytest.mark.parametrize(
    ("text", "category", "subject", "not_evidence"),
    [
        ("Cán bộ địa chính xã nói chuyện trịch thượng, coi dân như đi xin",
         "thai-do", "ubnd-xa", "địa chính"),
        ("The officer at the tax office shouted at me and threw my papers",
         "thai-do", "thue", "tax"),
    ],
)  # fmt: skip
def test_classify_words_naming_the_accused_staff_are_no_topic(
    classifier: Classifier, text: str, category: str, subject: str, not_evidence: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.category, decision.agency) == (category, "noi-vu")
    assert decision.subject_agency == subject
    assert not_evidence not in decision.evidence
    assert all(c != "dat-dai" and c != "thue" for c, _, _ in decision.alternatives)


# --- rule 2: named dossier -------------------------------------------------------------------


def test_classify_late_dossier_goes_to_the_agency_holding_it(classifier: Classifier) -> None:
    text = "Hồ sơ HS-2025-000123 của tôi trễ hẹn 3 lần rồi vẫn chưa có kết quả"
    assert classifier.classify(text).agency == "trung-tam-hcc"
    decision = classifier.classify(text, dossier_agency="nn-mt")
    assert (decision.category, decision.agency) == ("tre-han", "nn-mt")


def test_classify_dossier_agency_only_applies_to_late_dossiers(classifier: Classifier) -> None:
    text = "Cúp điện liên tục cả tuần, mất điện không báo trước"
    decision = classifier.classify(text, dossier_agency="nn-mt")
    assert (decision.category, decision.agency) == ("thi-truong", "cong-thuong")


def test_classify_ignores_an_unknown_dossier_agency(classifier: Classifier) -> None:
    decision = classifier.classify("hồ sơ quá hạn chưa trả kết quả", dossier_agency="no-such")
    assert decision.agency == "trung-tam-hcc"


# --- rule 3: commune matters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        ("Quán nhậu ở p. tam hiep lấn chiếm vỉa hè", "Phường Tam Hiệp"),
        ("quan nhau o xa long thanh lan chiem via he", "Xã Long Thành"),
        ("Hàng quán lấn chiếm vỉa hè ở Trảng Bom", "Xã Trảng Bom"),
        ("Karaoke ồn ào tới khuya ở P.Hố Nai", "Phường Hố Nai"),
        ("hát karaoke ồn ào tại Xã Phước An", "Xã Phước An"),
        ("hat karaoke on ao tai xa An Phuoc", "Xã An Phước"),
    ],
)
def test_classify_commune_matter_goes_to_the_commune_named(
    classifier: Classifier, text: str, ward: str
) -> None:
    decision = classifier.classify(text)
    assert decision.category == "trat-tu-do-thi"
    assert (decision.agency, decision.ward) == ("ubnd-xa", ward)


def test_classify_commune_matter_without_commune_goes_to_operators(
    classifier: Classifier,
) -> None:
    decision = classifier.classify("đăng ký khai sinh cho con cần giấy tờ gì")
    assert decision.category == "ho-tich"
    assert decision.agency == TRIAGE
    assert decision.ward is None
    assert decision.alternatives[0][:2] == ("ho-tich", TRIAGE)


@pytest.mark.parametrize(
    "text",
    [
        "con phải học xa nhà 7km",  # "xa" means far here
        "trước đây ở huyện Long Thành",  # old districts span many communes now
        "xa lòng thành quá",  # typed diacritics contradict the ward name
        "phường 5 quận 3",
        "xin cho Tam Hiep biet lich tiem",  # bare "cho" is "for", not a market
    ],
)
def test_find_ward_does_not_guess(classifier: Classifier, text: str) -> None:
    assert classifier.find_ward(text) is None


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        ("I rent a room in Trang Dai ward and need to declare it", "Phường Trảng Dài"),
        ("Is there a planning map for Long Thanh commune?", "Xã Long Thành"),
        ("register our marriage in Bien Hoa ward", "Phường Biên Hòa"),
        ("the new Long Thanh airport", None),
    ],
)
def test_find_ward_reads_the_english_kind_after_the_name(
    classifier: Classifier, text: str, ward: str | None
) -> None:
    assert classifier.find_ward(text) == ward


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        ("Nhà tôi cách chợ Tam Hiệp một con hẻm, karaoke hát tới 2 giờ sáng", "Phường Tam Hiệp"),
        ("Trước cổng chợ Hố Nai xe ba gác đậu giữa làn đường", "Phường Hố Nai"),
        # a ward named outright wins over the market's name
        ("Tôi ở phường Trảng Dài, hay đi chợ Tam Hiệp", "Phường Trảng Dài"),
    ],
)
def test_find_ward_reads_a_market_named_after_its_commune(
    classifier: Classifier, text: str, ward: str
) -> None:
    assert classifier.find_ward(text) == ward


def test_ward_index_prefers_the_named_division() -> None:
    wards = WardIndex([("Phường Long Hưng", "phường"), ("Xã Long Hưng", "xã")])
    commune = wards.find(normalize("ở xã Long Hưng"))
    ward = wards.find(normalize("ở p Long Hưng"))
    assert commune is not None
    assert ward is not None
    assert (commune.name, ward.name) == ("Xã Long Hưng", "Phường Long Hưng")


def test_ward_index_for_unknown_province_is_empty() -> None:
    assert len(WardIndex.for_province("Atlantis")) == 0
    assert len(WardIndex.for_province("tỉnh Đồng Nai")) == 95


def test_provinces_read_from_the_data_file_are_the_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    import bot.domain.triage as triage

    from_file = [(name, list(wards)) for name, wards in triage._provinces()]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    from_api = [(name, list(wards)) for name, wards in triage._provinces()]
    assert from_file == from_api
    assert len(from_file) == 34


# --- rule 4: low confidence ------------------------------------------------------------------


def test_classify_low_confidence_goes_to_operators_with_suggestions(
    classifier: Classifier,
) -> None:
    decision = classifier.classify("hóa đơn tiền điện và hóa đơn điện tử")
    assert decision.agency == TRIAGE
    assert 0 < decision.confidence < 0.55
    assert len(decision.alternatives) >= 2
    assert {c for c, _, _ in decision.alternatives} >= {"thue", "thi-truong"}


def test_classify_threshold_comes_from_config(config: Config) -> None:
    strict = dataclasses.replace(config, triage=TriageConfig(confidence_threshold=0.99))
    decision = Classifier.from_config(strict, learned=False).classify("mất nước 3 ngày")
    assert decision.category == "cap-nuoc"
    assert decision.agency == TRIAGE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "alo có ai không",
        "Cảm ơn đã hỗ trợ nhé",
        "cho hỏi thời tiết ngày mai",
        "Tôi muốn hỏi một việc nhưng không biết hỏi ai cho đúng ạ",
    ],
)
def test_classify_unrelated_messages_go_to_operators(classifier: Classifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.category == "khac"
    assert decision.agency == TRIAGE


# --- the matcher -----------------------------------------------------------------------------


def test_matcher_matches_whole_words_only() -> None:
    small = small_classifier()
    assert small.classify("ban bè").category == "other"  # "an" inside "ban"
    assert small.classify("an").category == "tax"


def test_matcher_respects_typed_diacritics() -> None:
    small = small_classifier()
    assert small.classify("làm thủ tục").category == "other"  # not "lạm thu"
    assert small.classify("lam thu").category == "fees"  # no diacritics: may be "lạm thu"
    assert small.classify("lạm thu").category == "fees"


def test_matcher_does_not_cross_clause_punctuation() -> None:
    small = small_classifier()
    assert small.classify("nhận tiền, luật sư không đến").category == "other"
    assert small.classify("nhận tiền luật").category == "fees"


def test_matcher_allows_one_extra_word_in_long_phrases() -> None:
    decision = small_classifier().classify("xuất hóa đơn bằng điện tử")
    assert decision.category == "tax"
    assert small_classifier().classify("hóa đơn của tôi").category == "other"


def test_negative_keywords_lower_the_score() -> None:
    small = small_classifier()
    assert small.classify("thuế").category == "tax"
    assert small.classify("tiền thuê nhà thuế").category == "other"


def test_matcher_reads_a_toneless_accented_word_as_another_word() -> None:
    small = small_classifier()
    assert small.classify("người thuê trọ").category == "other"  # renting, not "thuế"
    assert small.classify("nguoi thue tro").category == "tax"  # no diacritics: may be "thuế"
    assert small.classify("thúe").category == "tax"  # the tone on the wrong vowel


def test_matcher_skips_a_filler_word_inside_a_two_word_phrase(classifier: Classifier) -> None:
    decision = classifier.classify("hồ sơ nộp từ lâu mà vẫn chưa được trả")
    assert decision.category == "tre-han"
    assert "chưa trả" in decision.evidence
    assert "lạm thu" not in small_classifier().classify("lạm nhiều thu").evidence


def test_matcher_reads_an_amount_of_money_as_tien(classifier: Classifier) -> None:
    assert "đưa tiền" in classifier.classify("cán bộ bảo đưa 5 triệu thì xong ngay").evidence
    assert "kẹp tiền" in classifier.classify("phải kẹp 500k vào hồ sơ mới nhận").evidence
    assert "đưa tiền" not in classifier.classify("đưa 5 người đi khám").evidence


def test_matcher_reads_english_keywords_as_english(classifier: Classifier) -> None:
    decision = classifier.classify("The emergency room made us wait five hours")
    assert (decision.category, decision.agency) == ("y-te", "y-te")
    assert "emergency room" in decision.evidence


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Cán bộ rất nhiệt tình, không hề hách dịch, nhưng hồ sơ trễ hẹn 2 tuần rồi", "tre-han"),
        ("can bo ko hach dich gi, chi la ho so cham tra ket qua", "tre-han"),
        ("không có phong bì thì hồ sơ nằm đó", "nhung-nhieu"),  # a condition, not a denial
        ("ko bồi dưỡng thì lập biên bản", "nhung-nhieu"),
    ],
)
def test_classify_denied_conduct_is_no_conduct_complaint(
    classifier: Classifier, text: str, category: str
) -> None:
    assert classifier.classify(text).category == category


def _two_agency_directory() -> Classifier:
    agencies = [
        AgencyConfig("roads", "Sở Giao thông", aliases=("sở giao thông",)),
        AgencyConfig("schools", "Sở Giáo dục"),
    ]
    categories = [
        CategoryConfig("road", "Đường", "roads", 24, keywords=(Keyword("biển báo"),)),
        CategoryConfig("permit", "Giấy phép", "roads", 24, keywords=(Keyword("giấy phép"),)),
        CategoryConfig("school", "Trường", "schools", 24, keywords=(Keyword("tiểu học", 0.75),)),
        CategoryConfig("other", "Khác", None, 40),
    ]
    return Classifier(categories, agencies, confidence_threshold=0.55)


def test_classify_categories_of_one_agency_do_not_compete() -> None:
    directory = _two_agency_directory()
    same = directory.classify("biển báo và giấy phép")
    assert same.agency == "roads"
    assert same.confidence >= 0.55
    assert directory.classify("biển báo gần trường tiểu học").agency == TRIAGE


def test_classify_agency_named_as_handler_supports_its_categories() -> None:
    directory = _two_agency_directory()
    decision = directory.classify("đề nghị sở giao thông lắp biển báo gần trường tiểu học")
    assert (decision.category, decision.agency) == ("road", "roads")
    # named as the people complained about, it is no support
    accused = directory.classify("cán bộ sở giao thông lắp biển báo gần trường tiểu học")
    assert accused.agency == TRIAGE


def test_decision_is_frozen_and_serialises_to_the_spec_fields(classifier: Classifier) -> None:
    decision = classifier.classify("Cô cán bộ ở bộ phận một cửa P.Tam Hiệp quát tôi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.agency = "x"  # type: ignore[misc]
    payload = decision.to_json()
    assert set(payload) >= SPEC_FIELDS
    assert set(payload) - SPEC_FIELDS <= {"alternatives"}
    assert payload["ward"] == "Phường Tam Hiệp"
    assert payload["subject_agency"] == "ubnd-xa"
    assert payload["agency"] == "noi-vu"
    assert json.loads(json.dumps(payload, ensure_ascii=False)) == payload


# --- robustness --------------------------------------------------------------------------------


def _assert_valid(decision: Decision, config: Config) -> None:
    agencies = {a.id for a in config.agencies} | {TRIAGE}
    assert decision.category in {c.id for c in config.categories}
    assert decision.agency in agencies
    assert 0.0 <= decision.confidence <= 1.0
    assert decision.track in ("pakn", "to-cao")
    assert decision.subject_agency is None or decision.subject_agency in agencies
    assert decision.ward is None or decision.ward.startswith(("Phường ", "Xã "))
    assert len(decision.alternatives) <= 3
    assert all(0.0 <= s <= 1.0 for _, _, s in decision.alternatives)
    assert set(decision.to_json()) >= SPEC_FIELDS


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_classify_any_unicode_gives_a_valid_decision(
    classifier: Classifier, config: Config, text: str
) -> None:
    _assert_valid(classifier.classify(text), config)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["xã", "phường", "p.", "ở", "cb", "ko", "đòi", "tiền", "trễ", "hẹn", "thuế", "Sở",
             "Xây", "dựng", "công", "an", "Tam", "Hiệp", "Long", "Thành", "nhungx", "dd", ",",
             "karaoke", "sổ", "đỏ", "hồ", "sơ", "HS-2025-1", "\u0301", "🙂", "\n"]
        ),
        max_size=60,
    ),
    st.sampled_from([None, "nn-mt", "thue", "nope"]),
)  # fmt: skip
def test_classify_complaint_like_noise_gives_a_valid_decision(
    classifier: Classifier, config: Config, words: list[str], dossier: str | None
) -> None:
    _assert_valid(classifier.classify(" ".join(words), dossier_agency=dossier), config)


def test_classify_empty_string(classifier: Classifier, config: Config) -> None:
    decision = classifier.classify("")
    _assert_valid(decision, config)
    assert (decision.category, decision.agency, decision.confidence) == ("khac", TRIAGE, 0.0)


@pytest.mark.parametrize("kind", ["complaints", "random", "one-word", "no-space"])
def test_classify_100kb_input_is_valid(classifier: Classifier, config: Config, kind: str) -> None:
    rng = random.Random(7)
    texts = {
        "complaints": DEV_SET.read_text(encoding="utf-8"),
        "random": "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(100_000)),
        "one-word": "xã " * 40_000,
        "no-space": "đ" * 100_000,
    }
    text = (texts[kind] * 3)[:100_000]
    # Speed is bench-triage's to measure; a unit test on a shared machine only checks the answer.
    decision = classifier.classify(text)
    _assert_valid(decision, config)


# --- regression guard on the labelled dev set ----------------------------------------------------


def test_dev_set_accuracy_stays_above_the_bar(classifier: Classifier) -> None:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    decisions = [classifier.classify(row["text"]) for row in rows]
    pairs = list(zip(rows, decisions, strict=True))
    exact = sum(d.agency == r["agency"] for r, d in pairs) / len(pairs)
    routed = [(r, d) for r, d in pairs if d.agency != TRIAGE]
    precision = sum(d.agency == r["agency"] for r, d in routed) / len(routed)
    accused = [
        r["id"] for r, d in pairs if r["subject_agency"] and d.agency == r["subject_agency"]
    ]
    assert exact >= 0.90
    assert precision >= 0.95
    assert accused == []


def test_holdout_tuned_part_stays_above_the_bar(classifier: Classifier) -> None:
    lines = HOLDOUT.read_text(encoding="utf-8").splitlines()[:HOLDOUT_TUNED]
    rows = [json.loads(line) for line in lines]
    decisions = [classifier.classify(row["text"]) for row in rows]
    pairs = list(zip(rows, decisions, strict=True))
    exact = sum(d.agency == r["agency"] for r, d in pairs) / len(pairs)
    routed = [(r, d) for r, d in pairs if d.agency != TRIAGE]
    precision = sum(d.agency == r["agency"] for r, d in routed) / len(routed)
    routable = [(r, d) for r, d in pairs if r["agency"] != TRIAGE]
    coverage = sum(d.agency != TRIAGE for _, d in routable) / len(routable)
    accused = [
        r["id"] for r, d in pairs if r["subject_agency"] and d.agency == r["subject_agency"]
    ]
    # reached 92.9 % / 100 % / 92.2 %; the margin allows a few changes, not a slide
    assert exact >= 0.91
    assert precision >= 0.98
    assert coverage >= 0.90
    assert accused == []


# --- general fixes found on the second holdout --------------------------------------------------


def test_classify_bare_word_in_accented_text_is_read_as_written(classifier: Classifier) -> None:
    decision = classifier.classify("Nước tràn vô nhà mang theo rác từ bãi tập kết, hôi thối quá.")
    assert decision.category == "moi-truong"
    assert "dich-vu-cong-truc-tuyen" not in {c for c, _, _ in decision.alternatives}


def test_classify_bare_words_still_match_in_unaccented_text(classifier: Classifier) -> None:
    decision = classifier.classify("nha mang tu dang ky goi cuoc roi tru tien")
    assert decision.category == "dich-vu-cong-truc-tuyen"


def test_classify_staff_of_a_named_agency_insulting_never_goes_to_that_agency(
    classifier: Classifier,
) -> None:
    decision = classifier.classify(
        "Mẹ tôi lên bảo hiểm xã hội hỏi chế độ thai sản, nhân viên ở đó nói hỏi gì mà hỏi hoài, "
        "rất xúc phạm."
    )
    assert decision.agency != "bhxh"


def test_classify_xa_in_xa_hoi_is_no_commune(classifier: Classifier) -> None:
    analysis = classifier.analyse("sổ bảo hiểm xã hội của tôi bị sai ngày sinh")
    assert "ubnd-xa" not in {m.agency for m in analysis.mentions}


@pytest.mark.parametrize(
    "text",
    [
        "Mẹ tôi nguyên là giáo viên, nghỉ hưu năm ngoái mà chưa nhận được lương hưu tháng nào",
        "Bố tôi là bác sĩ, lương hưu tháng này chưa nhận được",
    ],
)
def test_classify_who_the_writer_is_does_not_pull_the_category(
    classifier: Classifier, text: str
) -> None:
    decision = classifier.classify(text)
    assert decision.category == "bhxh"
    assert decision.agency == "bhxh"


def test_classify_english_persona_is_no_topic(classifier: Classifier) -> None:
    decision = classifier.classify("I'm a teacher. How do I get a personal tax code?")
    assert decision.category == "thue"


def test_classify_an_identity_alone_may_be_the_topic(classifier: Classifier) -> None:
    decision = classifier.classify("chế độ của ông nội tôi là thương binh hạng 2 bị cắt")
    assert decision.category == "lao-dong"


def test_find_ward_reads_english_in_before_the_name(classifier: Classifier) -> None:
    text = "There is a chemical smell from a factory in Nhon Trach every night"
    assert classifier.find_ward(text) == "Xã Nhơn Trạch"


def test_holdout2_diagnosis_part_stays_above_the_bar(classifier: Classifier) -> None:
    lines = HOLDOUT2.read_text(encoding="utf-8").splitlines()[:HOLDOUT2_DIAGNOSIS]
    rows = [json.loads(line) for line in lines]
    pairs = [(row, classifier.classify(row["text"])) for row in rows]
    exact = sum(d.agency == r["agency"] for r, d in pairs) / len(pairs)
    routed = [(r, d) for r, d in pairs if d.agency != TRIAGE]
    precision = sum(d.agency == r["agency"] for r, d in routed) / len(routed)
    accused = [
        r["id"] for r, d in pairs if r["subject_agency"] and d.agency == r["subject_agency"]
    ]
    # reached 83.8 % agency exact and 96.1 % precision; a few changes allowed, not a slide
    assert exact >= 0.82
    assert precision >= 0.95
    assert accused == []


@pytest.mark.parametrize(
    ("text", "accused"),
    [
        ("Phó công an phường Tân Phong bắt dân đưa tiền mới cho đăng ký tạm trú", "cong-an"),
        ("Giám đốc bệnh viện đa khoa tỉnh quát nạt bệnh nhân, đề nghị xử lý", "y-te"),
    ],
)
def test_titles_name_the_accused_agency_which_never_receives_it(
    classifier: Classifier, text: str, accused: str
) -> None:
    decision = classifier.classify(text)
    assert decision.agency != accused
    assert decision.subject_agency == accused


# --- routing rules follow the config's flags, not the shipped ids --------------------------------


def _renamed(
    config: Config, categories: dict[str, str], agencies: dict[str, str] | None = None
) -> Config:
    """The shipped directory with some category and agency ids renamed (flags kept)."""
    agencies = agencies or {}
    return dataclasses.replace(
        config,
        agencies=tuple(
            dataclasses.replace(a, id=agencies.get(a.id, a.id)) for a in config.agencies
        ),
        categories=tuple(
            dataclasses.replace(
                c,
                id=categories.get(c.id, c.id),
                agency=agencies.get(c.agency, c.agency) if c.agency else None,
            )
            for c in config.categories
        ),
    )


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Bên Sở Xây dựng hạch sách, ra hiệu phải lo lót thì mới ký giấy phép xây dựng.",
         "xay-dung"),
        ("cán bộ phường đòi tiền cà phê mới ký xác nhận", "ubnd-xa"),
        ("Cán bộ Thanh tra tỉnh vòi tiền lót tay mới cho qua", "thanh-tra"),
    ],
)  # fmt: skip
def test_classify_renamed_conduct_category_never_routes_to_the_accused(
    config: Config, text: str, subject: str
) -> None:
    renamed = Classifier.from_config(_renamed(config, {"nhung-nhieu": "tieu-cuc"}), learned=False)
    decision = renamed.classify(text)
    assert decision.category == "tieu-cuc"
    assert decision.subject_agency == subject
    assert decision.agency != subject
    assert decision.agency in ("thanh-tra", "vp-ubnd")


def test_classify_conflict_rule_follows_the_flag(config: Config) -> None:
    unflagged = dataclasses.replace(
        config,
        categories=tuple(
            dataclasses.replace(c, conflict_of_interest=False) if c.id == "nhung-nhieu" else c
            for c in config.categories
        ),
    )
    text = "Bên Sở Xây dựng hạch sách, ra hiệu phải lo lót thì mới ký giấy phép xây dựng."
    keywords = Classifier.from_config(config, learned=False)
    assert keywords.classify(text).subject_agency == "xay-dung"
    assert Classifier.from_config(unflagged, learned=False).classify(text).subject_agency is None


def test_classify_unsure_complaint_goes_to_a_renamed_fallback(config: Config) -> None:
    renamed = Classifier.from_config(_renamed(config, {"khac": "chua-ro"}), learned=False)
    for text in ("", "xin chào", "asdf qwerty zxcv"):
        decision = renamed.classify(text)
        assert decision.category == "chua-ro"
        assert decision.agency == TRIAGE


def test_classify_fallback_flag_wins_over_other_categories_without_agency() -> None:
    agencies = [AgencyConfig("roads", "Sở Giao thông")]
    categories = [
        CategoryConfig("road", "Đường", "roads", 24, keywords=(Keyword("biển báo"),)),
        CategoryConfig("hold", "Chờ xử lý", None, 40, keywords=(Keyword("chờ"),)),
        CategoryConfig("unsure", "Chưa rõ", None, 40, fallback=True),
    ]
    directory = Classifier(categories, agencies, confidence_threshold=0.55)
    decision = directory.classify("không biết nói gì")
    assert (decision.category, decision.agency) == ("unsure", TRIAGE)


def test_classify_renamed_dossier_category_goes_to_the_dossier_holder(config: Config) -> None:
    renamed = Classifier.from_config(_renamed(config, {"tre-han": "cham-tre"}), learned=False)
    decision = renamed.classify("Hồ sơ đất đai của tôi trễ hẹn 3 lần", dossier_agency="nn-mt")
    assert (decision.category, decision.agency) == ("cham-tre", "nn-mt")


def test_classify_renamed_commune_agency_keeps_the_commune_rule(config: Config) -> None:
    renamed = Classifier.from_config(
        _renamed(config, {}, {"ubnd-xa": "ubnd-cap-xa"}), learned=False
    )
    named = renamed.classify(
        "Nhà hàng xóm ở phường Tam Hiệp hát karaoke tới 12 giờ đêm, rất ồn ào"
    )
    assert (named.category, named.agency) == ("trat-tu-do-thi", "ubnd-cap-xa")
    assert named.ward == "Phường Tam Hiệp"
    unnamed = renamed.classify("Nhà hàng xóm hát karaoke tới 12 giờ đêm, rất ồn ào")
    assert (unnamed.category, unnamed.agency) == ("trat-tu-do-thi", TRIAGE)
    accused = renamed.classify("cán bộ phường Tam Hiệp đòi tiền cà phê mới ký xác nhận")
    assert accused.subject_agency == "ubnd-cap-xa"
    assert accused.agency == "thanh-tra"


@settings(max_examples=400, deadline=None)
@given(st.text("abcdeghiklmnoprstuvxy", min_size=5, max_size=16), st.data())
def test_spelling_candidates_keep_every_word_the_cutoff_can_reach(
    typed: str, data: st.DataObject
) -> None:
    # the word compared with: the typed one with a few letters changed, dropped or added
    letters = st.text("abcdeghiklmnoprstuvxy", max_size=4)
    known = data.draw(letters) + typed[data.draw(st.integers(0, 2)) :] + data.draw(letters)
    if fuzz.ratio(typed, known) >= SPELLING_CUTOFF:
        assert known in spelling_candidates([known], len(typed))


def test_spelling_repair_finds_the_same_word_among_candidates_of_its_length(
    classifier: Classifier,
) -> None:
    typed_words = ("khongg", "constructon", "apartmnt", "bureacracy", "behaviourr", "xyzzyq")
    for typed in typed_words:
        everywhere = process.extractOne(
            typed, classifier.vocabulary, scorer=fuzz.ratio, score_cutoff=SPELLING_CUTOFF
        )
        assert classifier._spell(typed) == (everywhere[0] if everywhere else None)
    assert classifier._spell("constructon") == "construction"
