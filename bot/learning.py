"""Fitting the learned half of triage with scikit-learn (never imported by `hotline classify`).

`fit` turns labelled complaints into the exported weights `bot.domain.learned` scores with;
`fit_delta` refits with a province's examples on top of the shipped corpus and returns only what
changed, as listable rows. Run `python -m bot.learning` (`make triage-weights`) to regenerate the
shipped weights from the shipped corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import io
import json
import logging
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Config
from bot.domain.learned import (
    CONDUCT_ROWS,
    THRESHOLD_ROWS,
    WEIGHTS_FILE,
    LearnedModel,
    LearnedRow,
    features,
    load_default,
)
from bot.domain.text import normalize
from storage.db import Database
from storage.learned import (
    Outcome,
    StoredExample,
    add_examples,
    examples_since,
    learned_at,
    learned_phrases,
    new_outcomes,
    replace_phrases,
)
from storage.learned import examples as stored_examples

__all__ = ["Example", "corpus", "fit", "fit_delta", "text_features"]

log = logging.getLogger(__name__)
CORPUS_FILE = "triage_corpus.jsonl"
REGULARISATION = 50.0  # LogisticRegression C, chosen by cross-validation by writer group
CONDUCT_REGULARISATION = 20.0  # the conduct detector's C, chosen the same way
MIN_WEIGHT = 0.02  # exported weights smaller than this change no decision
MIN_DF = 2  # a phrase of a single shipped complaint only memorises that complaint
MIN_DELTA = 0.1  # learned rows smaller than this are noise of the refit (and cost start-up)
PROVINCE_WEIGHT = 20.0  # a province's own tickets count more than the shipped corpus (chosen on
# pairs of a history and the same province's later complaints)


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled complaint for fitting."""

    text: str
    category: str
    weight: float = 1.0
    group: str = ""  # the writer group, for cross-validation
    agency: str = ""  # where it must go, when the label says (calibration's target)


def text_features(text: str) -> list[str]:
    """Return the features of a raw complaint text."""
    norm = normalize(text)
    return features(norm.folded_tokens, norm.breaks)


def corpus() -> list[Example]:
    """Return the shipped labelled corpus the default weights are fitted on."""
    text = resources.files("bot.domain").joinpath(CORPUS_FILE).read_text("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Example(r["text"], r["category"], group=r.get("group", "")) for r in rows]


def _idf(documents: Sequence[list[str]], min_df: int = 1) -> dict[str, float]:
    """Smoothed idf, as scikit-learn's TfidfTransformer computes it, of the features found in
    at least `min_df` documents."""
    frequency: dict[str, int] = {}
    for found in documents:
        for feature in found:
            frequency[feature] = frequency.get(feature, 0) + 1
    count = len(documents)
    return {
        f: math.log((1 + count) / (1 + df)) + 1.0 for f, df in frequency.items() if df >= min_df
    }


def _matrix(documents: Sequence[list[str]], columns: dict[str, int], idf: dict[str, float]) -> Any:
    """Binary TF-IDF rows, L2-normalised, over the given columns."""
    from scipy.sparse import csr_matrix

    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    for found in documents:
        row = [(columns[f], idf[f]) for f in found if f in columns]
        norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
        for column, value in row:
            indices.append(column)
            data.append(value / norm)
        pointers.append(len(indices))
    return csr_matrix((data, indices, pointers), shape=(len(documents), len(columns)))


def _fit_arrays(
    documents: Sequence[list[str]],
    labels: Sequence[str],
    weights: Sequence[float],
    idf: dict[str, float],
    classes: Sequence[str] | None = None,
) -> tuple[list[str], list[str], Any, Any]:
    """Fit the regression; return (classes, columns, coef, intercept)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    columns = {f: i for i, f in enumerate(sorted(idf))}
    matrix = _matrix(documents, columns, idf)
    model = LogisticRegression(C=REGULARISATION, max_iter=2000)
    model.fit(matrix, list(labels), sample_weight=np.asarray(weights, dtype=float))
    fitted = [str(c) for c in model.classes_]
    coef, intercept = model.coef_, model.intercept_
    if classes is not None and list(classes) != fitted:
        # keep the shipped class order; a class missing from the refit keeps no weights
        order = {c: i for i, c in enumerate(fitted)}
        coef = np.vstack(
            [coef[order[c]] if c in order else np.zeros(coef.shape[1]) for c in classes]
        )
        intercept = np.array([intercept[order[c]] if c in order else -10.0 for c in classes])
        fitted = list(classes)
    return fitted, list(columns), coef, intercept


def fit(examples: Sequence[Example], conduct: Iterable[str] = ()) -> LearnedModel:
    """Fit the learned weights on labelled complaints, and the conduct detector when the
    conduct categories (conflict of interest) are given."""
    import numpy as np

    documents = [text_features(e.text) for e in examples]
    idf = _idf(documents, MIN_DF)
    classes, columns, coef, intercept = _fit_arrays(
        documents, [e.category for e in examples], [e.weight for e in examples], idf
    )
    # features whose every weight is negligible change no decision: not shipped
    significant = np.abs(coef).max(axis=0) >= MIN_WEIGHT
    detector = _fit_conduct(documents, examples, frozenset(conduct), columns, idf)
    if detector is not None:
        significant |= np.abs(detector[0]) >= MIN_WEIGHT
    keep = np.flatnonzero(significant)
    kept = [columns[k] for k in keep]
    return LearnedModel(
        classes,
        intercept,
        kept,
        np.array([idf[f] for f in kept]),
        coef[:, keep].T.astype(np.float32),
        conduct=(detector[0][keep], detector[1]) if detector is not None else None,
    )


def _fit_conduct(
    documents: Sequence[list[str]],
    examples: Sequence[Example],
    conduct: frozenset[str],
    columns: list[str],
    idf: dict[str, float],
) -> tuple[Any, float] | None:
    """Fit "is this a conduct complaint?" over the same columns: told inside another topic
    ("bhxh đòi 2tr mới duyệt thai sản"), conduct loses to the topic among 24 categories, but
    a detector of its own hears it (balanced: conduct is an eighth of the complaints)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    labels = [e.category in conduct for e in examples]
    if not conduct or all(labels) or not any(labels):
        return None
    matrix = _matrix(documents, {f: i for i, f in enumerate(columns)}, idf)
    model = LogisticRegression(C=CONDUCT_REGULARISATION, max_iter=3000, class_weight="balanced")
    model.fit(matrix, labels, sample_weight=np.asarray([e.weight for e in examples], dtype=float))
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def export(model: LearnedModel, calibration: dict[str, Any], path: Path) -> None:
    """Write the model and its calibration in the form `bot.domain.learned` loads."""
    import numpy as np

    arrays: dict[str, Any] = {
        "classes": np.array(model.classes),
        "intercept": model.intercept,
        # one UTF-8 string, a feature a line: a tenth of an array of fixed-width strings
        "features": np.array("\n".join(model.features).encode("utf-8")),
        "idf": model.idf.astype(np.float32),
        "matrix": model.matrix.astype(np.float32),
        "calibration": np.array(json.dumps(calibration)),
    }
    if model.conduct_weights is not None:
        arrays["conduct_weights"] = model.conduct_weights.astype(np.float32)
        arrays["conduct_intercept"] = np.array(model.conduct_intercept)
    # stored, not deflated: inflating the weights was a quarter of `hotline classify`'s start-up
    with path.open("wb") as out:
        np.savez(out, **arrays)


def fit_delta(province: Sequence[Example], conduct: Iterable[str] = ()) -> list[LearnedRow]:
    """Refit with a province's examples on top of the shipped corpus; return the changed
    weights, relative to the shipped ones, the conduct detector's too when the conduct
    categories are given (a province's own ways of telling of a bribe).

    Features the shipped model knows keep its idf, so the rows add to the shipped weights;
    each row counts the province examples of its category that contain its phrase.
    """
    import numpy as np

    shipped = load_default()
    if shipped is None:
        raise RuntimeError("no shipped triage weights: run `make triage-weights`")
    base = corpus()
    base_documents = [text_features(e.text) for e in base]
    province_documents = [text_features(e.text) for e in province]
    # the shipped model's features keep its idf; a province's own features count from one
    # ticket, since a local name told once in the history may well come back
    told = {feature for found in province_documents for feature in found}
    idf = {
        **{f: v for f, v in _idf(base_documents + province_documents).items() if f in told},
        **_idf(base_documents, MIN_DF),
    }
    examples = base + [dataclasses.replace(e, weight=e.weight * PROVINCE_WEIGHT) for e in province]
    documents = base_documents + province_documents
    classes, columns, coef, intercept = _fit_arrays(
        documents,
        [e.category for e in examples],
        [e.weight for e in examples],
        idf,
        shipped.classes,
    )
    before = np.zeros_like(coef)
    known = [(column, shipped.index[f]) for column, f in enumerate(columns) if f in shipped.index]
    if known:
        new_columns, old_rows = (np.array(v) for v in zip(*known, strict=True))
        before[:, new_columns] = shipped.matrix[old_rows].T
    delta = coef - before
    taught: dict[tuple[str, str], int] = {}
    for example, found in zip(province, province_documents, strict=True):
        for feature in set(found):
            key = (feature, example.category)
            taught[key] = taught.get(key, 0) + 1
    rows: list[LearnedRow] = []
    for position, category in enumerate(classes):
        shift = float(intercept[position] - shipped.intercept[position])
        if abs(shift) >= MIN_DELTA:
            rows.append(LearnedRow("", category, round(shift, 4), 0))
        for column in np.flatnonzero(np.abs(delta[position]) >= MIN_DELTA):
            feature = columns[column]
            weight = round(float(delta[position, column]), 4)
            rows.append(LearnedRow(feature, category, weight, taught.get((feature, category), 0)))
    rows += _conduct_delta(
        shipped, examples, documents, frozenset(conduct), (columns, idf), taught
    )
    return rows


def _conduct_delta(
    shipped: LearnedModel,
    examples: Sequence[Example],
    documents: Sequence[list[str]],
    conduct: frozenset[str],
    space: tuple[list[str], dict[str, float]],
    taught: dict[tuple[str, str], int],
) -> list[LearnedRow]:
    """The conduct detector refitted on the same examples, as rows relative to the shipped one."""
    import numpy as np

    if shipped.conduct_weights is None:
        return []
    columns, idf = space
    detector = _fit_conduct(documents, examples, conduct, columns, idf)
    if detector is None:
        return []
    weights, intercept = detector
    before = np.array(
        [shipped.conduct_weights[shipped.index[f]] if f in shipped.index else 0.0 for f in columns]
    )
    delta = weights - before
    rows = []
    shift = intercept - shipped.conduct_intercept
    if abs(shift) >= MIN_DELTA:
        rows.append(LearnedRow("", CONDUCT_ROWS, round(float(shift), 4), 0))
    for column in np.flatnonzero(np.abs(delta) >= MIN_DELTA):
        feature = columns[column]
        count = sum(taught.get((feature, category), 0) for category in conduct)
        rows.append(LearnedRow(feature, CONDUCT_ROWS, round(float(delta[column]), 4), count))
    return rows


def load_jsonl(paths: Iterable[Path]) -> list[Example]:
    """Read labelled complaints (`text`, `category`) from JSON Lines files."""
    examples: list[Example] = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                group = str(row.get("id", "")).split("-")[0]
                examples.append(
                    Example(
                        row["text"], row["category"], group=group, agency=row.get("agency") or ""
                    )
                )
    return examples


# --- learning from a province's history and from outcomes ---

RETURNED_WEIGHT = 0.5  # a ticket an agency returned teaches "not this category", softly
IMPORT, RESOLVED, RETURNED = "import", "resolved", "returned"


@dataclass(frozen=True)
class LearnReport:
    """What `hotline triage learn` did: rows read and taught, bad rows with their reasons."""

    read: int
    taught: int
    phrases: int
    rejected: list[tuple[int, str]]
    threshold: float | None = None  # measured on the province's tickets, when enough


def read_history(path: Path, config: Config) -> tuple[list[StoredExample], list[tuple[int, str]]]:
    """Read a history file (JSON Lines or CSV: text, category, optional agency).

    Returns the good rows and the bad ones as (line number, reason).
    """
    raw = path.read_bytes().decode("utf-8-sig")
    records: list[tuple[int, Any]] = []
    rejected: list[tuple[int, str]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(raw, newline=""))
        lacking = {"text", "category"} - set(reader.fieldnames or ())
        if lacking:
            return [], [(1, f"the header lacks column(s) {', '.join(sorted(lacking))}")]
        line = 1
        for record in reader:
            records.append((line + 1, record))
            line = reader.line_num
    else:
        for number, line_text in enumerate(raw.split("\n"), start=1):
            if not line_text.strip():
                continue
            try:
                records.append((number, json.loads(line_text)))
            except json.JSONDecodeError as exc:
                rejected.append((number, f"not valid JSON ({exc.msg})"))
    agencies = {a.id for a in config.agencies} | {"triage"}
    categories = {c.id for c in config.categories}
    good: list[StoredExample] = []
    for number, record in records:
        reason = _bad_row(record, categories, agencies)
        if reason:
            rejected.append((number, reason))
            continue
        agency = str(record.get("agency") or "").strip() or None
        good.append(
            StoredExample(
                str(record["text"]).strip(), str(record["category"]).strip(), agency, IMPORT
            )
        )
    rejected.sort()
    return good, rejected


def _bad_row(record: Any, categories: set[str], agencies: set[str]) -> str | None:
    """Say what is wrong with one history row, or None."""
    if not isinstance(record, dict):
        return "not an object with text and category"
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return "no text"
    category = record.get("category")
    if not isinstance(category, str) or not category.strip():
        return "no category"
    if category.strip() not in categories:
        return f"unknown category {category.strip()!r}"
    agency = record.get("agency")
    if agency not in (None, "") and (
        not isinstance(agency, str) or agency.strip() not in agencies
    ):
        return f"unknown agency {agency!r}"
    return None


def _teaching(taught: Sequence[StoredExample], config: Config) -> list[Example]:
    fallback = next((c.id for c in config.categories if c.fallback), "khac")
    return [
        Example(e.text, fallback, RETURNED_WEIGHT)
        if e.source == RETURNED
        else Example(e.text, e.category, agency=e.agency or "")
        for e in taught
        if e.category
    ]


async def relearn(
    session: AsyncSession, config: Config, now: datetime, *, measure: bool = False
) -> tuple[int, float | None]:
    """Refit the learned phrases from every stored example; return how many rows there are
    and the routing threshold they carry. `measure` measures the threshold anew on the
    province's tickets (slow: a refit per fold); otherwise the one measured before is kept."""
    taught = _teaching(await stored_examples(session), config)
    rows = fit_delta(taught, conduct_categories(config)) if taught else []
    measured = _measured_row(taught, config) if measure else await _stored_threshold(session)
    rows = _with_threshold(rows, measured)
    await _store(session, rows, now)
    return len(rows), measured.weight if measured and rows else None


async def _stored_threshold(session: AsyncSession) -> LearnedRow | None:
    stored = await learned_phrases(session, THRESHOLD_ROWS)  # its one row, not every weight
    return next((LearnedRow(r.phrase, r.category_id, r.weight, r.tickets) for r in stored), None)


def _measured_row(taught: Sequence[Example], config: Config) -> LearnedRow | None:
    threshold = measure_threshold(taught, config)
    if threshold is None:
        return None
    return LearnedRow("", THRESHOLD_ROWS, threshold, sum(map(_told, taught)))


def _told(example: Example) -> bool:
    """Whether the province told this example's category (not a ticket an agency returned)."""
    return example.weight != RETURNED_WEIGHT


def _with_threshold(rows: list[LearnedRow], threshold: LearnedRow | None) -> list[LearnedRow]:
    """The rows, and the threshold's row when one was measured (nothing to carry it without
    rows: the shipped weights alone route from the config's threshold)."""
    return [*rows, threshold] if threshold is not None and rows else rows


async def _store(session: AsyncSession, rows: Sequence[LearnedRow], now: datetime) -> None:
    await replace_phrases(
        session, ((r.phrase, r.category, r.weight, r.tickets) for r in rows), now
    )


# The routing threshold measured on a province's own tickets: each fold of them scored by a
# refit taught without it, the lowest threshold from which they were routed right at least
# THRESHOLD_TARGET of the time, within THRESHOLD_RANGE (a province's tickets are a sample of
# its next complaints, not all of them: never below the range's floor) and never above the
# config's calibrated threshold: operators log tickets as one-line summaries, harder to read
# than the messages the bot receives, and a threshold raised on them held back 4-6 points of
# complaints the calibrated one routes right (history-hx, on m12 and m13).
THRESHOLD_FOLDS = 5
THRESHOLD_TARGET = 0.97
THRESHOLD_RANGE = (0.65, 0.9)
THRESHOLD_STEP = 0.05
THRESHOLD_MIN_TICKETS = 100  # fewer measure nothing: the config's threshold stays
THRESHOLD_MIN_ROUTED = 30  # a precision measured on fewer routed tickets says too little


def measure_threshold(taught: Sequence[Example], config: Config) -> float | None:
    """Measure the routing threshold on a province's tickets (None if too few)."""
    from bot.domain.triage import TRIAGE, Classifier

    measured = [i for i, e in enumerate(taught) if _told(e)]
    if len(measured) < THRESHOLD_MIN_TICKETS:
        return None
    shipped = load_default()
    if shipped is None:
        return None
    proposing = Classifier.from_config(config)
    proposing.threshold = 0.0  # every proposal, with its confidence (the refits measure none)
    scored: list[tuple[bool, float]] = []
    for fold in range(THRESHOLD_FOLDS):
        held = set(measured[fold::THRESHOLD_FOLDS])
        rows = fit_delta(
            [e for i, e in enumerate(taught) if i not in held], conduct_categories(config)
        )
        engine = proposing.with_learned(shipped.with_rows(rows))
        for index in sorted(held):
            example = taught[index]
            decision = engine.classify(example.text)
            if decision.agency == TRIAGE:
                continue  # the operators' either way
            right = _routed_right(example, decision.category, decision.agency)
            scored.append((right, decision.confidence))
    return lowest_threshold(scored, ceiling=config.triage.confidence_threshold)


def _routed_right(example: Example, category: str, agency: str) -> bool:
    """Routing is right when the agency is; without an agency label, when the category is."""
    return agency == example.agency if example.agency else category == example.category


def lowest_threshold(scored: Sequence[tuple[bool, float]], ceiling: float = 1.0) -> float:
    """The lowest threshold of THRESHOLD_RANGE, and not above `ceiling`, from which every
    higher one, too, routes right at least THRESHOLD_TARGET of (right, confidence) proposals
    (those routing too few to tell count as neither); the top when none does."""
    low, high = THRESHOLD_RANGE[0], min(THRESHOLD_RANGE[1], ceiling)
    if high <= low:
        return high
    steps = round((high - low) / THRESHOLD_STEP)
    chosen = high
    for step in range(steps, -1, -1):
        threshold = round(low + step * THRESHOLD_STEP, 4)
        kept = [right for right, confidence in scored if confidence >= threshold]
        if len(kept) < THRESHOLD_MIN_ROUTED:
            continue  # too few to tell: look lower, where more are routed
        if sum(kept) < THRESHOLD_TARGET * len(kept):
            break
        chosen = threshold
    return chosen


async def learn_file(path: Path, db: Database, config: Config, now: datetime) -> LearnReport:
    """`hotline triage learn FILE`: store a history file's good rows and refit."""
    good, rejected = read_history(path, config)
    phrases, threshold = 0, None
    async with db.transaction() as session:
        await add_examples(session, good, now)
        if good:
            phrases, threshold = await relearn(session, config, now, measure=True)
    return LearnReport(len(good) + len(rejected), len(good), phrases, rejected, threshold)


RELEARN_INTERVAL = timedelta(hours=1)  # outcomes are refitted at most this often


def outcome_category(outcome: Outcome, config: Config) -> str:
    """The category a resolved ticket teaches: its own if the resolving agency handles it,
    else the classifier's suggestion for that agency, else the agency's only category ("")."""
    handled = {c.id: c.agency for c in config.categories}
    if handled.get(outcome.category) == outcome.agency:
        return outcome.category
    for suggestion in outcome.suggestions:
        if (
            isinstance(suggestion, list | tuple)
            and len(suggestion) >= 2
            and suggestion[1] == outcome.agency
            and suggestion[0] in handled
        ):
            return str(suggestion[0])
    only = [c for c, agency in handled.items() if agency == outcome.agency]
    return only[0] if len(only) == 1 else ""


async def learn_from_outcomes(db: Database, config: Config, now: datetime) -> int:
    """Sweeper step: store what resolved and returned tickets teach; refit at most once per
    RELEARN_INTERVAL when something new was taught. Return the examples added."""
    async with db.transaction() as session:
        resolved = await new_outcomes(session, RESOLVED)
        returned = await new_outcomes(session, RETURNED)
        # a resolved ticket whose category cannot be told is stored untaught (category ""),
        # so that it is not looked at again
        added = await add_examples(
            session,
            [
                StoredExample(o.text, outcome_category(o, config), o.agency, RESOLVED, o.ticket_id)
                for o in resolved
            ]
            + [
                StoredExample(o.text, o.category, o.agency, RETURNED, o.ticket_id)
                for o in returned
            ],
            now,
        )
        last = await learned_at(session)
        due = (last is None or now - last >= RELEARN_INTERVAL) and await examples_since(
            session, last
        ) > 0
        taught = _teaching(await stored_examples(session), config) if due else []
        threshold = await _stored_threshold(session) if due else None
    if due:
        # the conduct detector's rows too: a province's words for a bribe, learned from its
        # history file, must outlive the next refit
        rows = await asyncio.to_thread(fit_delta, taught, conduct_categories(config))
        async with db.transaction() as session:
            await _store(session, _with_threshold(rows, threshold), now)
        log.info("triage relearned from %s examples: %s phrase weights", len(taught), len(rows))
    return added


BLEND = 0.8  # the learned share of the combined score, chosen by cross-validation by group
# groups written by people who never saw the engine or its keyword lists: the calibration is
# fitted on them
UNSEEN_GROUPS = ("t", "n", "m", "v", "p", "w", "g")  # "t": tr1-tr4 and t5 on
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def conduct_categories(config: Config) -> list[str]:
    """The conduct categories of a config: those the conflict-of-interest rule guards."""
    return [c.id for c in config.categories if c.conflict_of_interest]


def out_of_fold(examples: Sequence[Example], config: Config) -> list[tuple[bool, list[float]]]:
    """Signals of every example scored by a model fitted without its writer group."""
    from bot.domain.triage import Calibration, Classifier

    keywords = Classifier.from_config(config, learned=False)
    analyses = [keywords.analyse(e.text) for e in examples]
    found = [text_features(e.text) for e in examples]
    result: list[tuple[bool, list[float]]] = [(False, [])] * len(examples)
    for group in sorted({e.group for e in examples}):
        model = fit([e for e in examples if e.group != group], conduct_categories(config))
        combined = keywords.with_learned(model)
        combined.calibration = Calibration(blend=BLEND)
        for index, example in enumerate(examples):
            if example.group == group:
                analyses[index].learned = model.score(found[index])
                category, agency, signals = combined.signals(analyses[index])
                result[index] = (_routed_right(example, category, agency), signals)
    return result


def calibrate(scored: Sequence[tuple[bool, list[float]]]) -> dict[str, Any]:
    """Fit the map from signals to the probability of being right."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit([s for _, s in scored], [ok for ok, _ in scored])
    return {
        "blend": BLEND,
        "coefficients": [round(float(w), 4) for w in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 4),
        "fitted_on": len(scored),
    }


def curve(scored: Sequence[tuple[bool, float]]) -> list[tuple[float, float, float]]:
    """(threshold, coverage, precision) of a list of (right, confidence)."""
    rows = []
    for threshold in THRESHOLDS:
        kept = [ok for ok, c in scored if c >= threshold]
        precision = sum(kept) / len(kept) if kept else 1.0
        rows.append((threshold, len(kept) / max(1, len(scored)), precision))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the shipped corpus and weights from labelled JSON Lines files."""
    from bot.config import load_config
    from bot.domain.triage import Calibration

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data", nargs="+", type=Path, help="labelled complaints (JSON Lines)")
    here = Path(__file__).resolve().parent / "domain"
    parser.add_argument("--out", type=Path, default=here)
    args = parser.parse_args(argv)
    examples = load_jsonl(args.data)
    config = load_config(None)
    scored = out_of_fold(examples, config)
    unseen = [
        (s, e.group)
        for s, e in zip(scored, examples, strict=True)
        if e.group.startswith(UNSEEN_GROUPS)
    ]
    # nested: each unseen group's confidence comes from a calibration fitted without it
    checked: list[tuple[bool, float]] = []
    for group in sorted({g for _, g in unseen}):
        fitted = calibrate([s for s, g in unseen if g != group])
        mapping = Calibration(fitted["blend"], tuple(fitted["coefficients"]), fitted["intercept"])
        checked += [(ok, mapping.confidence(sig)) for (ok, sig), g in unseen if g == group]
    sys.stdout.write(
        f"cross-validated by writer group on {len(checked)} complaints (agency right):" + "\n"
    )
    sys.stdout.write(
        f"  accuracy {sum(ok for ok, _ in checked) / max(1, len(checked)):.3f}" + "\n"
    )
    for threshold, coverage, precision in curve(checked):
        sys.stdout.write(
            f"  threshold {threshold:.2f}: coverage {coverage:.3f} precision {precision:.3f}"
            + "\n"
        )
    model = fit(examples, conduct_categories(config))
    calibration = calibrate([s for s, _ in unseen])
    with (args.out / CORPUS_FILE).open("w", encoding="utf-8") as out:
        for e in examples:
            row = {"text": e.text, "category": e.category, "group": e.group}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    export(model, calibration, args.out / WEIGHTS_FILE)
    sys.stdout.write(f"fitted on {len(examples)} complaints, {len(model.features)} phrases" + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
