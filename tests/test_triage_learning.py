"""Triage learning (issue 7): learned weights combined with keywords, calibrated confidence,
conduct told inside another topic, and `hotline triage learn / learned / forget`."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Config, TriageConfig, load_config
from bot.domain import tickets
from bot.domain.learned import (
    CONDUCT_ROWS,
    THRESHOLD_ROWS,
    LearnedModel,
    LearnedRow,
    features,
    load_default,
)
from bot.domain.triage import CONDUCT_DOUBT, CONDUCT_DOUBT_PEOPLE, TRIAGE, Classifier
from bot.learned_store import REFRESH_TTL
from bot.learning import (
    Example,
    corpus,
    fit,
    learn_from_outcomes,
    read_history,
    text_features,
)
from storage.db import Database
from storage.learned import examples as stored_examples
from storage.learned import learned_phrases, learning_version, replace_phrases
from storage.tickets import get_ticket
from tests.harness import OTHER_CITIZEN, FakeClock, running_bot
from tests.test_tickets import MONDAY_9, open_one, wired

DATA = Path(__file__).parent / "data"
NONSENSE = "quixum"  # a word no shipped data knows: only learning can teach it


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(None, environ={})


@pytest.fixture(scope="module")
def classifier(config: Config) -> Classifier:
    return Classifier.from_config(config)


@dataclass
class Run:
    status: int
    out: str
    err: str


def run_cli(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return Run(status, out.getvalue(), err.getvalue())


def write_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{folder / "learn.db"}"\n', "utf-8")
    return path


# --- the combined engine -------------------------------------------------------------------


def test_classify_json_keeps_its_fields(classifier: Classifier) -> None:
    decision = classifier.classify("Nhà tôi mất nước ba ngày nay rồi")
    fields = set(decision.to_json())
    assert {
        "category",
        "agency",
        "confidence",
        "track",
        "ward",
        "subject_agency",
        "evidence",
    } <= fields


def test_classify_evidence_names_learned_phrases(classifier: Classifier) -> None:
    decision = classifier.classify("Nhà tôi mất nước ba ngày nay rồi, vòi nước khô")
    assert decision.category == "cap-nuoc"
    learned = [e for e in decision.evidence if e.startswith("learned: ")]
    assert learned and learned[0].endswith("→ cap-nuoc")


def test_learned_scores_match_scikit_learn_on_the_same_features() -> None:
    # the dict/NumPy scoring must reproduce the fitted model, not approximate it
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from bot.learning import MIN_DF, REGULARISATION, _idf, _matrix, text_features

    examples = [e for e in corpus() if e.group == "dev"][:120]
    documents = [text_features(e.text) for e in examples]
    idf = _idf(documents, MIN_DF)
    columns = {f: i for i, f in enumerate(sorted(idf))}
    reference = LogisticRegression(C=REGULARISATION, max_iter=2000).fit(
        _matrix(documents, columns, idf), [e.category for e in examples]
    )
    model = fit(examples)
    probe = "nuoc may chay yeu lam, chieu moi co"
    expected = reference.predict_proba(_matrix([text_features(probe)], columns, idf))[0]
    got = model.score(text_features(probe)).probabilities
    assert np.allclose([got[str(c)] for c in reference.classes_], expected, atol=2e-3)


def test_a_phrase_of_a_single_shipped_complaint_is_no_feature() -> None:
    # it could only memorise that one complaint; two complaints make it a phrase of the topic
    examples = [e for e in corpus() if e.group == "dev"][:120] + [
        Example("Đèn đường hẻm qwxyz tắt cả tuần", "giao-thong"),
        Example("Đèn đường hẻm plokm tắt cả tuần", "giao-thong"),
        Example("Hẻm plokm tối om vì đèn hỏng", "giao-thong"),
    ]
    model = fit(examples)
    assert "plokm" in model.index
    assert "qwxyz" not in model.index


def test_features_do_not_span_clause_punctuation() -> None:
    found = features(("mat", "nuoc", "ba", "ngay"), breaks=(2,))
    assert "mat nuoc" in found
    assert "nuoc ba" not in found


@pytest.mark.parametrize(
    "text",
    [
        "Mất nước 3 ngày rồi, cán bộ phường nói chờ. Mất nước thì ai chịu?",
        "ko co dien tu hom qua, 5 trieu tien dien ma van cat",
        "The pothole near the school, the pothole again!",
        "x",
        "",
    ],
)
def test_scoring_tokens_is_scoring_their_features(text: str) -> None:
    from bot.domain.text import normalize

    model = load_default()
    assert model is not None
    norm = normalize(text)
    direct = model.score_tokens(norm.folded_tokens, norm.breaks)
    listed = model.score(features(norm.folded_tokens, norm.breaks))
    assert list(direct.rows) == list(listed.rows)
    assert direct.probabilities == listed.probabilities
    assert direct.conduct == listed.conduct
    for category in model.classes:
        assert direct.phrases(category) == listed.phrases(category)
    assert direct.conduct_phrases() == listed.conduct_phrases()


def test_with_rows_adds_a_phrase_unknown_to_the_shipped_weights() -> None:
    model = load_default()
    assert model is not None
    taught = model.with_rows([LearnedRow(NONSENSE, "cap-nuoc", 40.0, 3)])
    category, probability = taught.score([NONSENSE, "nha"]).top()
    assert category == "cap-nuoc" and probability > 0.5
    assert taught.tickets[(NONSENSE, "cap-nuoc")] == 3
    assert NONSENSE not in model.index  # the shipped model is left as it was


def test_with_rows_takes_rows_as_the_database_gives_them_and_adds_up_equal_ones() -> None:
    model = load_default()
    assert model is not None
    rows = [
        (NONSENSE, "cap-nuoc", 1.5, 2),
        (NONSENSE, "cap-nuoc", 2.5, 1),
        ("", "cap-nuoc", 0.25, 0),
    ]
    from_tuples = model.with_rows(rows)  # what the SQLite reader returns
    from_rows = model.with_rows([LearnedRow(*row) for row in rows])
    column = model.position["cap-nuoc"]
    for taught in (from_tuples, from_rows):
        assert taught.matrix[taught.index[NONSENSE], column] == 4.0
        assert taught.intercept[column] == model.intercept[column] + 0.25
        assert taught.tickets[(NONSENSE, "cap-nuoc")] == 1  # the last row's count
    assert (from_tuples.matrix == from_rows.matrix).all()


def test_exported_weights_load_as_the_model_that_was_fitted(tmp_path: Path) -> None:
    from bot.learning import export

    told = [
        ("nước máy đục ngầu cả tuần", "cap-nuoc"),
        ("cán bộ đòi phong bì mới ký", "nhung-nhieu"),
        ("karaoke hát tới khuya", "trat-tu-do-thi"),
    ]
    model = fit([Example(text, category) for text, category in told * 2], ["nhung-nhieu"])
    path = tmp_path / "weights.npz"
    export(model, {"blend": 0.8}, path)
    loaded = LearnedModel.load(path)
    assert loaded.classes == model.classes and loaded.features == model.features
    assert loaded.conduct_weights is not None and model.conduct_weights is not None
    assert (loaded.conduct_weights == model.conduct_weights.astype("float32")).all()
    found = text_features("nước máy đục")
    assert loaded.score(found).probabilities == pytest.approx(model.score(found).probabilities)


# --- conduct first ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        (
            "Công an khu vực nói muốn đăng ký tạm trú nhanh thì gửi 500 nghìn, "
            "không thì chờ tháng sau",
            "cong-an",
        ),
        (
            "Cán bộ bên đăng ký đất đai nói hồ sơ sang tên sổ đỏ của tôi phải chi thêm "
            "3 triệu mới đi nhanh được",
            "nn-mt",
        ),
        (
            "Đoàn kiểm tra thuế tới quán, nói muốn biên bản ghi nhẹ thì hỗ trợ anh em vài triệu",
            "thue",
        ),
        ("CSGT chặn xe đòi 2 triệu thì cho đi không lập biên bản", "cong-an"),
    ],
)
def test_classify_bribe_inside_another_topic_is_conduct_against_its_agency(
    classifier: Classifier, text: str, subject: str
) -> None:
    decision = classifier.classify(text)
    assert decision.category == "nhung-nhieu"
    assert decision.subject_agency == subject
    assert decision.agency != subject


@pytest.mark.parametrize(
    ("text", "subject", "agency"),
    [
        (
            "Cán bộ thanh tra xây dựng ghé công trình nhà tôi ba lần, "
            "lần nào cũng nói muốn yên thì bồi dưỡng anh em ít tiền cà phê",
            "xay-dung",
            "thanh-tra",
        ),
        (
            "Bên thanh tra tỉnh giữ đơn tố cáo của tôi nửa năm, cán bộ thụ lý còn gợi ý "
            "muốn nhanh thì gửi chút quà",
            "thanh-tra",
            "vp-ubnd",
        ),
    ],
)
def test_a_departments_own_inspectors_are_that_departments_staff(
    classifier: Classifier, text: str, subject: str, agency: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.category, decision.subject_agency) == ("nhung-nhieu", subject)
    assert decision.agency == agency


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        (
            "Chị cán bộ BHXH ở quầy hướng dẫn tôi rất nhiệt tình, in cả tờ quá trình đóng. "
            "Nhưng trên ứng dụng VssID vẫn không hiện 4 năm tôi làm ở công ty cũ",
            "bhxh",
        ),
        (
            "Chị cán bộ thuế hướng dẫn qua điện thoại rất rõ, nhưng thông báo thuế cho thuê "
            "nhà tính sai diện tích",
            "thue",
        ),
    ],
)
def test_staff_spoken_of_without_a_word_of_conduct_leave_the_topic_to_its_agency(
    classifier: Classifier, text: str, agency: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.agency, decision.subject_agency) == (agency, None)


def test_staff_spoken_of_with_a_word_of_conduct_are_the_subject(classifier: Classifier) -> None:
    decision = classifier.classify(
        "Chị cán bộ BHXH ở quầy hướng dẫn rất nhiệt tình, in cả tờ quá trình đóng, "
        "rồi nói muốn rút một lần cho nhanh thì gửi chị 2 triệu"
    )
    assert decision.subject_agency == "bhxh"
    assert decision.agency != "bhxh"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "Tờ khai thuế điện tử nộp không được, ngân hàng bảo lỗi do hệ thống thuế, bên hỗ trợ "
            "phần mềm bảo lỗi do ngân hàng. Chi cục Thuế trả lời là không thuộc phạm vi giải "
            "quyết của chi cục. Hai tuần rồi tôi vẫn chưa nộp được, sắp bị phạt chậm nộp.",
            "thue",
        ),
        (
            "Thẻ BHYT của con tôi in sai ngày sinh, lên bệnh viện thì bảo ra BHXH sửa, gọi BHXH "
            "tỉnh thì được trả lời là không thuộc phạm vi xử lý, bảo hỏi lại trường học.",
            "bhxh",
        ),
    ],
)
def test_passing_the_buck_about_the_topics_agency_never_goes_to_it(
    classifier: Classifier, text: str, named: str
) -> None:
    # One clear sign of passing the buck about the agency the topic would go to is enough,
    # however many words the topic itself has (online-service faults have many).
    assert classifier.classify(text).agency != named


@pytest.mark.parametrize(
    ("heard", "routed_to_topic", "filed_as_conduct"),
    [(0.1, True, False), (0.45, False, False), (0.9, False, True)],
)
def test_conduct_detector_files_or_holds_a_topic_complaint(
    classifier: Classifier,
    monkeypatch: pytest.MonkeyPatch,
    heard: float,
    routed_to_topic: bool,
    filed_as_conduct: bool,
) -> None:
    # the same road complaint, as the conduct detector hears it: not at all, perhaps, surely
    text = "Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy té liên tục"
    plain = classifier.classify(text)
    assert (plain.category, plain.agency) == ("giao-thong", "xay-dung")
    monkeypatch.setattr(LearnedModel, "conduct_of", lambda self, rows, values: heard)
    decision = classifier.classify(text)
    assert (decision.agency == "xay-dung") is routed_to_topic
    assert (decision.category in {"nhung-nhieu", "dun-day", "thai-do"}) is filed_as_conduct
    if not routed_to_topic and not filed_as_conduct:
        assert decision.agency == TRIAGE  # the topic's agency may be the accused one
    heard_as_conduct = any(e.startswith("conduct ") for e in decision.evidence)
    assert heard_as_conduct is (heard >= 0.3)


def test_shipped_weights_carry_the_conduct_detector(classifier: Classifier) -> None:
    assert classifier.learned is not None
    bribe = classifier.learned.score(text_features("cán bộ đòi 2 triệu mới chịu duyệt hồ sơ"))
    road = classifier.learned.score(text_features("đường làng nhiều ổ gà, trời mưa ngập"))
    assert bribe.conduct is not None and road.conduct is not None
    assert bribe.conduct > 0.6 > 0.3 > road.conduct


# --- calibration -----------------------------------------------------------------------------


def test_calibrated_threshold_routes_an_unseen_writer_group_right_95_percent(
    config: Config,
) -> None:
    # a model fitted without writer group tr4 scores its complaints: at the default threshold,
    # what is routed without the operators has the right category at least 95 % of the time
    held_out = "tr4"
    model = fit([e for e in corpus() if e.group != held_out])
    engine = Classifier.from_config(config).with_learned(model)
    unseen = [
        json.loads(line)
        for line in (DATA / "complaints-train-tune.jsonl").read_text("utf-8").splitlines()
        if line.startswith(f'{{"id": "{held_out}-')
    ]
    decisions = [(engine.classify(row["text"]), row) for row in unseen]
    routed = [(d, row) for d, row in decisions if d.confidence >= engine.threshold]
    right = sum(d.category == row["category"] for d, row in routed)
    assert len(unseen) > 100
    assert len(routed) >= 0.3 * len(unseen)
    assert right / len(routed) >= 0.95


def test_below_threshold_goes_to_the_operators(config: Config) -> None:
    text = "Nhà tôi mất nước ba ngày nay rồi"
    strict = dataclasses.replace(config, triage=TriageConfig(confidence_threshold=0.999))
    routed = Classifier.from_config(config).classify(text)
    held = Classifier.from_config(strict).classify(text)
    assert routed.confidence < 0.999
    assert routed.agency == "xay-dung"
    assert (held.category, held.agency) == ("cap-nuoc", TRIAGE)


# --- the threshold measured on a province's tickets ---------------------------------------


@pytest.mark.parametrize(
    ("scored", "threshold"),
    [
        # right everywhere: from the floor of the range, never below it
        ([(True, c / 100) for c in range(40, 100)] * 2, 0.65),
        # half wrong between 0.7 and 0.75 (under 97 % from 0.7 down), none above
        ([(True, c / 100) for c in range(75, 100)] * 4 + [(False, 0.72), (True, 0.73)] * 5, 0.75),
        # wrong more often than 3 in 100 even at 0.9: the top of the range
        ([(True, 0.95)] * 30 + [(False, 0.95)] * 2, 0.9),
        # too few routed to say anything: the top of the range
        ([(True, 0.99)] * 10, 0.9),
    ],
)
def test_lowest_threshold_that_routes_the_provinces_tickets_right(
    scored: list[tuple[bool, float]], threshold: float
) -> None:
    from bot.learning import lowest_threshold

    assert lowest_threshold(scored) == threshold


def test_the_measured_threshold_is_never_above_the_configs() -> None:
    from bot.learning import lowest_threshold

    # tickets that would need 0.9 (wrong 1 in 16 even at 0.95) leave the config's 0.75
    hard = [(True, 0.95)] * 30 + [(False, 0.95)] * 2
    assert lowest_threshold(hard, ceiling=0.75) == 0.75
    # tickets right everywhere still lower it to the floor
    assert lowest_threshold([(True, c / 100) for c in range(40, 100)] * 2, ceiling=0.75) == 0.65
    # a ceiling under the floor is the threshold
    assert lowest_threshold(hard, ceiling=0.6) == 0.6
    # a threshold measured before the config lowered its own never routes above the config's
    shipped = load_default()
    assert shipped is not None
    engine = Classifier.from_config(
        load_config(), learned=shipped.with_rows([("", THRESHOLD_ROWS, 0.9, 300)])
    )
    assert engine.routing_threshold == engine.threshold == 0.75


def test_a_measured_threshold_routes_unless_the_config_fixes_it(config: Config) -> None:
    text = "Nhà tôi mất nước ba ngày nay rồi"
    shipped = load_default()
    assert shipped is not None
    strict = dataclasses.replace(config, triage=TriageConfig(confidence_threshold=0.999))
    fixed = dataclasses.replace(
        config, triage=TriageConfig(confidence_threshold=0.999, fixed_threshold=True)
    )
    measured = shipped.with_rows([LearnedRow("", THRESHOLD_ROWS, 0.6, 360)])
    assert measured.threshold == 0.6
    routed = Classifier.from_config(strict).with_learned(measured).classify(text)
    held = Classifier.from_config(fixed).with_learned(measured).classify(text)
    assert (routed.category, routed.agency) == ("cap-nuoc", "xay-dung")
    assert (held.category, held.agency) == ("cap-nuoc", TRIAGE)


@pytest.mark.parametrize(("fixed", "agency"), [(False, "xay-dung"), (True, TRIAGE)])
def test_hotline_classify_routes_from_the_threshold_learning_measured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fixed: bool,
    agency: str,
) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'learn.db'}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "{url}"\n[triage]\nconfidence_threshold = 0.999\n'
        f"fixed_threshold = {str(fixed).lower()}\n",
        "utf-8",
    )

    async def store() -> None:
        db = Database(url)
        await db.upgrade()
        async with db.transaction() as session:
            rows = [(NONSENSE, "cap-nuoc", 0.5, 3), ("", THRESHOLD_ROWS, 0.6, 360)]
            await replace_phrases(session, rows, MONDAY_9)
        await db.dispose()

    asyncio.run(store())
    monkeypatch.setattr("sys.stdin", io.StringIO("Nhà tôi mất nước ba ngày nay rồi\n"))
    assert main(["classify", "--config", str(config)]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert 0.6 <= decision["confidence"] < 0.999
    assert (decision["category"], decision["agency"]) == ("cap-nuoc", agency)


async def test_learning_a_history_measures_the_routing_threshold_on_its_tickets(
    db: Database, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.learning as learning

    # two folds of a small history instead of five of a year's: the same measure, faster
    monkeypatch.setattr(learning, "THRESHOLD_FOLDS", 2)
    monkeypatch.setattr(learning, "THRESHOLD_MIN_TICKETS", 12)
    monkeypatch.setattr(learning, "THRESHOLD_MIN_ROUTED", 4)
    told = [
        ("Nước máy khu tôi đục ngầu cả tuần nay", "cap-nuoc"),
        ("Ống nước bể trước nhà, nước chảy lênh láng mấy ngày", "cap-nuoc"),
        ("Đường vào ấp 3 ổ gà chi chít, xe máy té liên tục", "giao-thong"),
        ("Đèn tín hiệu ngã tư hư hai tuần chưa ai sửa", "giao-thong"),
        ("Quán karaoke phường Tam Hiệp hát tới 1 giờ sáng", "trat-tu-do-thi"),
        ("Xưởng gỗ xả bụi và mùi sơn ra khu dân cư", "moi-truong"),
    ]
    history = tmp_path / "history.jsonl"
    rows = [{"text": text, "category": category} for text, category in told] * 3
    history.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")

    report = await learning.learn_file(history, db, config, MONDAY_9)
    async with db.transaction() as session:
        stored = await learned_phrases(session, THRESHOLD_ROWS)
    low, high = learning.THRESHOLD_RANGE
    assert report.threshold is not None and low <= report.threshold <= high
    assert [(p.weight, p.tickets) for p in stored] == [(report.threshold, 18)]
    # too few tickets measure nothing: the threshold stays the config's
    few = [learning.Example(text, category) for text, category in told]
    assert learning.measure_threshold(few, config) is None


# --- learn / learned / forget ----------------------------------------------------------------

HISTORY = [{"text": f"Nước máy {NONSENSE} đục ngầu cả tuần", "category": "cap-nuoc"}] * 6 + [
    {"text": f"Vòi nước nhà tôi {NONSENSE} không chảy", "category": "cap-nuoc", "agency": ""},
    {"text": "", "category": "cap-nuoc"},
    {"text": "Đường hư", "category": "khong-co"},
    {"text": "Đèn đường tắt", "category": "giao-thong", "agency": "bo-ngoai-giao"},
]


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    folder = tmp_path_factory.mktemp("learn")
    history = folder / "history.jsonl"
    lines = [json.dumps(row, ensure_ascii=False) for row in HISTORY] + ["{not json"]
    history.write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(folder)
    return config, run_cli("triage", "learn", str(history), "--config", str(config))


def test_learn_lists_bad_rows_with_line_numbers_and_exits_2(
    learned: tuple[Path, Run],
) -> None:
    _, run = learned
    assert run.status == 2
    assert ":8: no text; skipped" in run.err
    assert ":9: unknown category 'khong-co'; skipped" in run.err
    assert ":10: unknown agency 'bo-ngoai-giao'; skipped" in run.err
    assert ":11: not valid JSON" in run.err
    assert "learned from 7 of 11 rows" in run.out


def test_learned_lists_phrase_category_weight_and_tickets(learned: tuple[Path, Run]) -> None:
    config, _ = learned
    run = run_cli("triage", "learned", "--category", "cap-nuoc", "--config", str(config))
    assert run.status == 0
    rows = [line.split("\t") for line in run.out.splitlines()[1:]]
    assert all(category == "cap-nuoc" for _, category, _, _ in rows)
    taught = {phrase: (float(weight), int(tickets)) for phrase, _, weight, tickets in rows}
    assert taught[NONSENSE][0] > 0
    assert taught[NONSENSE][1] == 7


def test_classify_uses_learned_phrases_without_restart(
    learned: tuple[Path, Run], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = learned
    # nothing but the learned word tells the topic ("mấy hôm nay" leans to `khac` by itself)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"nhà tôi {NONSENSE}\n"))
    assert main(["classify", "--config", str(config)]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["category"] == "cap-nuoc"
    assert any(
        NONSENSE in e and e.endswith("tickets") and e.startswith("learned: ")
        for e in decision["evidence"]
    )


def test_learned_rejects_an_unknown_category(learned: tuple[Path, Run]) -> None:
    config, _ = learned
    run = run_cli("triage", "learned", "--category", "khong-co", "--config", str(config))
    assert run.status == 2
    assert "unknown category" in run.err


def test_forget_removes_a_phrase_then_says_nothing_is_left(
    tmp_path: Path, learned: tuple[Path, Run]
) -> None:
    config, _ = learned
    first = run_cli("triage", "forget", f"{NONSENSE} đục", "--config", str(config))
    again = run_cli("triage", "forget", f"{NONSENSE} đục", "--config", str(config))
    listing = run_cli("triage", "learned", "--config", str(config))
    assert first.status == 0
    assert again.status == 2
    assert "nothing learned" in again.err
    assert f"{NONSENSE} duc\t" not in listing.out
    assert f"{NONSENSE}\tcap-nuoc" in listing.out


@pytest.mark.parametrize("phrase", ["", " ... "])
def test_forget_of_no_words_is_refused_and_forgets_nothing(
    learned: tuple[Path, Run], phrase: str
) -> None:
    config, _ = learned
    before = run_cli("triage", "learned", "--config", str(config))
    refused = run_cli("triage", "forget", phrase, "--config", str(config))
    after = run_cli("triage", "learned", "--config", str(config))
    assert refused.status == 2
    assert "is no phrase" in refused.err
    assert after.out == before.out


def test_learn_missing_file_exits_2(tmp_path: Path) -> None:
    run = run_cli(
        "triage", "learn", str(tmp_path / "none.csv"), "--config", str(write_config(tmp_path))
    )
    assert run.status == 2
    assert "file not found" in run.err


def test_read_history_csv_checks_header_and_rows(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "history.csv"
    path.write_text("text,category,agency\nMất nước,cap-nuoc,\n,cap-nuoc,\n", "utf-8")
    good, rejected = read_history(path, config)
    assert [(e.text, e.category, e.agency) for e in good] == [("Mất nước", "cap-nuoc", None)]
    assert rejected == [(3, "no text")]
    headless = tmp_path / "headless.csv"
    headless.write_text("noi dung,linh vuc\nMất nước,cap-nuoc\n", "utf-8")
    assert read_history(headless, config) == (
        [],
        [(1, "the header lacks column(s) category, text")],
    )


# --- learning from outcomes ------------------------------------------------------------------


async def test_outcomes_teach_a_resolved_ticket_and_a_returned_one_once(
    db: Database, config: Config
) -> None:
    cfg = wired(config)
    queued = await open_one(db, cfg, agency="triage")
    sent = await open_one(db, cfg, category="cap-nuoc", agency="xay-dung")
    later = MONDAY_9 + timedelta(hours=2)
    async with db.transaction() as session:
        ticket = await get_ticket(session=session, ticket_id=queued.id or 0)
        other = await get_ticket(session=session, ticket_id=sent.id or 0)
        assert ticket is not None and other is not None
        await tickets.route_ticket(
            session=session,
            config=cfg,
            ticket=ticket,
            agency_id="xay-dung",
            user_id="7",
            now=later,
        )
        for step in (tickets.accept_ticket, tickets.resolve_ticket):
            extra = {"answer": "Đã vá ổ gà"} if step is tickets.resolve_ticket else {}
            await step(
                session=session,
                config=cfg,
                ticket=ticket,
                agency_id="xay-dung",
                user_id="8",
                now=later,
                **extra,
            )
        await tickets.return_ticket(
            session=session,
            config=cfg,
            ticket=other,
            agency_id="xay-dung",
            user_id="8",
            reason="không thuộc thẩm quyền",
            now=later,
        )
    async with db.transaction() as session:
        # what `hotline triage learn` of a history measured, before these outcomes
        await replace_phrases(session, [("", THRESHOLD_ROWS, 0.65, 300)], MONDAY_9)
    first = await learn_from_outcomes(db, cfg, later)
    again = await learn_from_outcomes(db, cfg, later + timedelta(hours=2))
    async with db.transaction() as session:
        taught = await stored_examples(session)
        version = await learning_version(session)
        phrases = await learned_phrases(session)
    assert (first, again) == (2, 0)
    assert sorted((e.source, e.category, e.agency) for e in taught) == [
        ("resolved", "giao-thong", "xay-dung"),
        ("returned", "cap-nuoc", "xay-dung"),
    ]
    assert version == 2  # refitted once: nothing new on the second pass
    assert phrases
    # the refit keeps the threshold measured on the history, and refits the conduct detector
    kept = [(p.weight, p.tickets) for p in phrases if p.category_id == THRESHOLD_ROWS]
    assert kept == [(0.65, 300)]
    assert any(p.category_id == CONDUCT_ROWS for p in phrases)


async def test_outcomes_of_a_ticket_routed_by_the_machine_teach_nothing_when_resolved(
    db: Database, config: Config
) -> None:
    cfg = wired(config)
    sent = await open_one(db, cfg)
    async with db.transaction() as session:
        ticket = await get_ticket(session=session, ticket_id=sent.id or 0)
        assert ticket is not None
        await tickets.accept_ticket(
            session=session,
            config=cfg,
            ticket=ticket,
            agency_id="xay-dung",
            user_id="8",
            now=MONDAY_9,
        )
        await tickets.resolve_ticket(
            session=session,
            config=cfg,
            ticket=ticket,
            agency_id="xay-dung",
            user_id="8",
            answer="Đã xử lý",
            now=MONDAY_9,
        )
    assert await learn_from_outcomes(db, cfg, MONDAY_9) == 0


# --- a running bot ---------------------------------------------------------------------------


async def test_running_bot_picks_up_learned_phrases_without_restart(
    tmp_path: Path, config: Config
) -> None:
    clock = FakeClock()
    text = f"Nhà tôi {NONSENSE} mấy hôm nay, mong được giúp đỡ"
    async with running_bot(config, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", clock) as bot:
        before = await bot.say(text)
        async with bot.app.db.transaction() as session:
            await replace_phrases(session, [(NONSENSE, "cap-nuoc", 40.0, 5)], clock())
        clock.advance(seconds=REFRESH_TTL.total_seconds() + 1)
        after = await bot.say(text, chat=OTHER_CITIZEN)
    assert NONSENSE not in before["text"]
    assert f"'{NONSENSE}'" in after["text"]
    assert "from 5 tickets" in after["text"]


@pytest.mark.parametrize(
    ("text", "topic", "agency"),
    [
        ("Cô giáo lớp 2 trả bài kiểm tra cho con tôi trễ cả tháng", "giao-duc", "gd-dt"),
        ("Mất nước ba ngày nay, họ nói đang sửa đường ống chính", "cap-nuoc", "xay-dung"),
    ],
)
def test_a_weak_conduct_signal_holds_a_complaint_that_speaks_of_the_services_people(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch, text: str, topic: str, agency: str
) -> None:
    # a teacher or "they" at the office may be the accused: what the detector barely hears
    # in such a story is enough to let the operators route it, and they are told why
    plain = classifier.classify(text)
    assert (plain.category, plain.agency) == (topic, agency)
    weak = (CONDUCT_DOUBT_PEOPLE + CONDUCT_DOUBT) / 2  # too weak to hold a story of no one
    monkeypatch.setattr(LearnedModel, "conduct_of", lambda self, rows, values: weak)
    held = classifier.classify(text)
    assert (held.category, held.agency) == (topic, TRIAGE)
    assert any(e.startswith(f"conduct {weak:.2f}") for e in held.evidence)
    road = classifier.classify("Đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy té")
    assert road.agency == "xay-dung"  # no people spoken of: the same signal routes it


@pytest.mark.parametrize(
    "text",
    [
        # "đoạn" (a stretch of road) folds to the "đoàn" of an inspection team
        "Đoạn đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy té",
        "doan duong Nguyen Ai Quoc co nhieu o ga rat nguy hiem, xe may te",
        # "thấy" (to see) folds to "thầy" (a teacher)
        "Tôi thấy đường Nguyễn Ái Quốc có nhiều ổ gà rất nguy hiểm, xe máy té",
        "toi thay duong Nguyen Ai Quoc co nhieu o ga rat nguy hiem, xe may te",
        "toi thay co nhieu o ga tren duong Nguyen Ai Quoc rat nguy hiem, xe may te",
    ],
)
def test_words_that_only_fold_like_a_services_people_hold_nothing(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    weak = (CONDUCT_DOUBT_PEOPLE + CONDUCT_DOUBT) / 2
    monkeypatch.setattr(LearnedModel, "conduct_of", lambda self, rows, values: weak)
    decision = classifier.classify(text)
    assert (decision.category, decision.agency) == ("giao-thong", "xay-dung")


def test_the_person_in_charge_always_away_is_a_complaint_about_that_office(
    classifier: Classifier,
) -> None:
    decision = classifier.classify(
        "UBND xã Gia Kiệm: người phụ trách chứng thực hay vắng, dân xếp hàng chờ cả buổi mới "
        "sao y được giấy tờ."
    )
    assert decision.subject_agency == "ubnd-xa"
    assert decision.agency != "ubnd-xa"


def test_a_stretch_of_road_through_a_ward_is_no_ward_staff(classifier: Classifier) -> None:
    decision = classifier.classify(
        "Người ta bán trái cây chiếm lòng đường đoạn qua phường Xuân Lập, xe dừng mua gây kẹt xe"
    )
    assert (decision.category, decision.agency) == ("trat-tu-do-thi", "ubnd-xa")
    assert decision.subject_agency is None


# --- a province's conduct ----------------------------------------------------------------------

SLANG = "zuplo"  # a province's own word for a bribe, unknown to the shipped data
ONCE = "phà Mbrol"  # a local place told in a single ticket of the province


@pytest.fixture(scope="module")
def conduct_rows(config: Config) -> list[LearnedRow]:
    from bot.learning import conduct_categories, fit_delta

    told = [
        f"Cán bộ bên một cửa nói hồ sơ đất muốn nhanh thì {SLANG} cho anh em",
        f"Làm giấy phép quán ăn, người ta gợi ý {SLANG} thì tuần sau có",
        f"Xin xác nhận ở phường mà phải {SLANG} mới được ký",
    ]
    province = [Example(text, "nhung-nhieu") for text in told * 3]
    province.append(Example(f"Bến {ONCE} thu tiền vé xe máy gấp đôi giá niêm yết", "thi-truong"))
    return fit_delta(province, conduct_categories(config))


def test_a_provinces_phrase_told_in_one_ticket_is_learned(conduct_rows: list[LearnedRow]) -> None:
    # the shipped corpus needs two complaints for a phrase; a province's own local names
    # count from one ticket, since they come back in the province's next complaints
    (place,) = text_features(ONCE)[-1:]
    taught = {(row.phrase, row.category): row for row in conduct_rows}
    assert taught[(place, "thi-truong")].weight > 0
    assert taught[(place, "thi-truong")].tickets == 1


def test_learning_a_provinces_conduct_teaches_the_conduct_detector(
    conduct_rows: list[LearnedRow],
) -> None:
    from bot.domain.learned import CONDUCT_ROWS

    shipped = load_default()
    assert shipped is not None
    taught = {row.phrase: row for row in conduct_rows if row.category == CONDUCT_ROWS}
    assert taught[SLANG].weight > 0 and taught[SLANG].tickets == 9
    text = f"Lắp đồng hồ nước mới, phải {SLANG} thì tuần này có thợ"
    before = shipped.score(text_features(text)).conduct
    after = shipped.with_rows(conduct_rows).score(text_features(text)).conduct
    assert before is not None and after is not None
    assert before < CONDUCT_DOUBT <= after  # from not heard to held for the operators
    # a text without the province's word hears the same conduct as before, nearly
    road = text_features("Đường làng nhiều ổ gà, trời mưa ngập")
    plain = shipped.score(road).conduct
    learned = shipped.with_rows(conduct_rows).score(road).conduct
    assert plain is not None and learned is not None
    assert abs(learned - plain) < 0.05


def test_learning_never_makes_a_denunciation_sound_less_like_one() -> None:
    # A province whose tickets never used a phrase for conduct must not teach the engine to
    # hear less conduct in it: the complaint would go to the topic's agency, maybe the accused.
    from bot.domain.learned import CONDUCT_ROWS

    shipped = load_default()
    assert shipped is not None
    text = text_features("Cán bộ địa chính đòi phong bì 2 triệu mới chịu đo đạc thửa đất")
    weights = shipped.score(text)
    assert weights.conduct is not None and weights.conduct >= CONDUCT_DOUBT
    present = [shipped.features[row] for row in weights.rows]
    lowered = shipped.with_rows(
        [LearnedRow(phrase, CONDUCT_ROWS, -5.0, 3) for phrase in present]
        + [LearnedRow("", CONDUCT_ROWS, -5.0, 0)]
    )
    raised = shipped.with_rows([LearnedRow(present[0], CONDUCT_ROWS, 5.0, 3)])
    after_lowering = lowered.score(text).conduct
    after_raising = raised.score(text).conduct
    assert after_lowering is not None and after_raising is not None
    assert after_lowering == pytest.approx(weights.conduct)
    assert after_raising > weights.conduct


def test_learned_lists_the_conduct_detectors_rows_apart(tmp_path: Path) -> None:
    from bot.domain.learned import CONDUCT_ROWS

    history = tmp_path / "history.csv"
    lines = [f"Cán bộ nói muốn nhanh thì {SLANG} cho anh em {n},nhung-nhieu" for n in range(6)]
    history.write_text("text,category\n" + "\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path)
    assert run_cli("triage", "learn", str(history), "--config", str(config)).status == 0
    run = run_cli("triage", "learned", "--category", CONDUCT_ROWS, "--config", str(config))
    assert run.status == 0
    rows = [line.split("\t") for line in run.out.splitlines()[1:]]
    assert rows and {category for _, category, _, _ in rows} == {CONDUCT_ROWS}
    taught = {phrase: (float(weight), int(tickets)) for phrase, _, weight, tickets in rows}
    assert taught[SLANG][0] > 0 and taught[SLANG][1] == 6


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        # the oversight body named as one of the parties passing the citizen on
        (
            "Lên Sở Nội vụ hỏi chuyện công ty nợ lương, cán bộ Sở bảo qua bảo hiểm xã hội, "
            "bảo hiểm lại bảo về Sở Nội vụ, đi ba vòng chưa ai nhận đơn",
            TRIAGE,
        ),
        # only the accused named: the oversight body gets it
        (
            "Lên bảo hiểm xã hội hỏi chốt sổ, nhân viên bảo qua công ty, công ty bảo lên "
            "bảo hiểm, đi ba vòng chưa ai giải quyết",
            "noi-vu",
        ),
        # the oversight body addressed, not complained about
        (
            "Kính gửi Sở Nội vụ, tôi lên bảo hiểm xã hội hỏi chốt sổ thì bị đẩy qua đẩy lại "
            "ba lần",
            "noi-vu",
        ),
    ],
)
def test_a_conduct_complaint_naming_its_oversight_body_as_a_party_goes_to_a_person(
    classifier: Classifier, text: str, agency: str
) -> None:
    decision = classifier.classify(text)
    assert (decision.category, decision.subject_agency) == ("dun-day", "bhxh")
    assert decision.agency == agency
