"""Benchmark the triage classifier on a labelled complaint set, beside a plain keyword baseline.

Run: .venv/bin/python benchmarks/bench_triage.py [--config FILE] [--data FILE] [--lines A:B]
     [--errors] [--check]

--data picks the labelled set (default the dev set; tests/data/complaints-holdout.jsonl is the
held-out one, whose lines 1-240 are for tuning and 241-360 stay untouched until the end);
--lines A:B keeps only lines A to B of it (1-based, inclusive; either side may be left out).

Prints agency exact accuracy ("triage" counts as right only where the label says so), category
accuracy, auto-route precision (of complaints routed without an operator, the share routed
right), coverage (of routable complaints, the share routed without an operator), subject-agency
and ward accuracy, the same per tag, the same complaints with their diacritics stripped, and
throughput and latency on one core. The baseline is what a keyword list gives without this
engine: plain substring search of the same keywords in the lower-cased accented text.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.classify_stream import worker_count  # noqa: E402
from bot.config import Config, load_config  # noqa: E402
from bot.domain.text import clear_caches as clear_text_caches  # noqa: E402
from bot.domain.text import fold_diacritics  # noqa: E402
from bot.domain.triage import COMMUNE_AGENCY, TRIAGE, Classifier, Decision  # noqa: E402
from bot.domain.triage import clear_caches as clear_triage_caches  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "complaints-dev.jsonl"
TAGS = (
    "accented",
    "no-diacritics",
    "teencode",
    "abbrev",
    "telex",
    "typo",
    "english",
    "long",
    "short",
    "agency-named",
    "ward-named",
    "indirect",
    "mixed-topic",
)


@dataclass(frozen=True)
class Example:
    """One labelled complaint."""

    id: str
    text: str
    category: str
    agency: str
    ward: str | None
    subject_agency: str | None
    tags: frozenset[str]


@dataclass(frozen=True)
class Outcome:
    """What a classifier said about one complaint."""

    category: str
    agency: str
    ward: str | None = None
    subject_agency: str | None = None


def parse_lines(spec: str) -> tuple[int, int | None]:
    """Parse 'A:B' (1-based, inclusive, either side optional) into a slice start and stop."""
    first, sep, last = spec.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected A:B, got {spec!r}")
    try:
        start = int(first) - 1 if first.strip() else 0
        stop = int(last) if last.strip() else None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected line numbers in A:B, got {spec!r}") from exc
    if start < 0 or (stop is not None and stop <= start):
        raise argparse.ArgumentTypeError(f"empty or invalid line range {spec!r}")
    return start, stop


def load_examples(path: Path, lines: tuple[int, int | None] = (0, None)) -> list[Example]:
    """Read a labelled JSON Lines set (optionally a line range); 'accented' tags diacritics."""
    examples = []
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in rows[lines[0] : lines[1]]:
        row = json.loads(line)
        tags = set(row["tags"])
        if not tags & {"no-diacritics", "telex", "english"}:
            tags.add("accented")
        examples.append(
            Example(
                row["id"],
                row["text"],
                row["category"],
                row["agency"],
                row["ward"],
                row["subject_agency"],
                frozenset(tags),
            )
        )
    return examples


class SubstringBaseline:
    """Category = the one with most keywords found as substrings of the accented text."""

    def __init__(self, config: Config) -> None:
        self.categories = config.categories
        self.keywords = {
            c.id: [k.phrase.lower() for k in c.keywords if k.weight > 0] for c in config.categories
        }

    def classify(self, text: str) -> Outcome:
        """Classify by counting substring hits; commune matters and no hit go to triage."""
        lowered = text.lower()
        best, best_hits = None, 0
        for category in self.categories:
            hits = sum(1 for k in self.keywords[category.id] if k in lowered)
            if hits > best_hits:
                best, best_hits = category, hits
        if best is None or best.agency is None or best.agency == COMMUNE_AGENCY:
            return Outcome(best.id if best else "khac", TRIAGE)
        return Outcome(best.id, best.agency)


@dataclass
class Scores:
    """Accuracy figures over a set of examples."""

    count: int
    agency: float
    category: float
    precision: float
    coverage: float
    subject: float
    ward: float
    accused: int

    @staticmethod
    def header() -> str:
        """Column titles matching `row`."""
        return (
            f"{'subset':<22}{'n':>5}{'agency':>9}{'categ':>8}{'prec':>8}{'cover':>8}"
            f"{'subject':>9}{'ward':>8}{'accused':>9}"
        )

    def row(self, name: str) -> str:
        """One formatted line."""
        return (
            f"{name:<22}{self.count:>5}{self.agency:>9.1%}{self.category:>8.1%}"
            f"{self.precision:>8.1%}{self.coverage:>8.1%}{self.subject:>9.1%}{self.ward:>8.1%}"
            f"{self.accused:>9}"
        )


def score(examples: Sequence[Example], outcomes: Sequence[Outcome]) -> Scores:
    """Compute the figures for paired examples and outcomes."""
    pairs = list(zip(examples, outcomes, strict=True))
    routed = [(e, o) for e, o in pairs if o.agency != TRIAGE]
    routable = [(e, o) for e, o in pairs if e.agency != TRIAGE]
    return Scores(
        count=len(pairs),
        agency=_share(o.agency == e.agency for e, o in pairs),
        category=_share(o.category == e.category for e, o in pairs),
        precision=_share(o.agency == e.agency for e, o in routed),
        coverage=_share(o.agency != TRIAGE for e, o in routable),
        subject=_share(o.subject_agency == e.subject_agency for e, o in pairs),
        ward=_share(o.ward == e.ward for e, o in pairs),
        accused=sum(1 for e, o in pairs if e.subject_agency and o.agency == e.subject_agency),
    )


def _share(values: object) -> float:
    items = list(values)  # type: ignore[call-overload]
    return sum(1 for v in items if v) / len(items) if items else float("nan")


def run(classify: Callable[[str], Outcome], examples: Sequence[Example]) -> list[Outcome]:
    """Classify every example."""
    return [classify(e.text) for e in examples]


def report(title: str, examples: Sequence[Example], outcomes: Sequence[Outcome]) -> None:
    """Print the overall and per-tag table."""
    print(f"\n{title}")
    print(Scores.header())
    print(score(examples, outcomes).row("all"))
    for tag in TAGS:
        subset = [(e, o) for e, o in zip(examples, outcomes, strict=True) if tag in e.tags]
        if subset:
            es, os_ = zip(*subset, strict=True)
            print(score(es, os_).row(tag))


def timing(
    classifier: Classifier | SubstringBaseline, texts: Sequence[str], rounds: int
) -> tuple[float, float, float]:
    """Return (complaints per second, median µs, p99 µs) over `rounds` passes of `texts`."""
    for text in texts:
        classifier.classify(text)
    latencies: list[int] = []
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            for text in texts:
                t0 = time.perf_counter_ns()
                classifier.classify(text)
                latencies.append(time.perf_counter_ns() - t0)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1000
    return len(latencies) / elapsed, statistics.median(latencies) / 1000, p99


def _outcome(d: Decision) -> Outcome:
    return Outcome(d.category, d.agency, d.ward, d.subject_agency)


CURVE = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def at_threshold(classifier: Classifier, threshold: float) -> Classifier:
    """The same engine with another threshold (every other rule as it is)."""
    other = copy.copy(classifier)
    other.threshold = threshold
    other.router = copy.copy(classifier.router)
    other.router.threshold = threshold
    return other


def print_curve(examples: Sequence[Example], classifier: Classifier) -> None:
    """Print agency exact, precision and coverage over thresholds, overall and per tag: the
    engine's whole decision at each threshold, conduct held for the operators included."""
    print(f"\nPRECISION / COVERAGE OVER THRESHOLDS (default {classifier.threshold})")
    print(f"{'threshold':<10} {'agency':>7} {'prec':>7} {'cover':>7}")
    outcomes: dict[float, list[Outcome]] = {}
    for threshold in CURVE:
        engine = at_threshold(classifier, threshold)
        outcomes[threshold] = [_outcome(engine.classify(e.text)) for e in examples]
        s = score(examples, outcomes[threshold])
        print(f"{threshold:<10} {s.agency:>7.1%} {s.precision:>7.1%} {s.coverage:>7.1%}")
    print("per tag (precision/coverage at thresholds " + ", ".join(map(str, CURVE[2::2])) + ")")
    for tag in TAGS:
        chosen = [i for i, e in enumerate(examples) if tag in e.tags]
        if not chosen:
            continue
        cells = []
        for threshold in CURVE[2::2]:
            s = score([examples[i] for i in chosen], [outcomes[threshold][i] for i in chosen])
            cells.append(f"{s.precision:6.1%}/{s.coverage:6.1%}")
        print(f"  {tag:<14} n={len(chosen):<4} " + "  ".join(cells))


def whole_process(config: Path | None, texts: Sequence[str], count: int = 5000) -> None:
    """Time `hotline classify` as a process on `count` lines, start-up included."""
    lines = "".join(texts[i % len(texts)].replace("\n", " ") + "\n" for i in range(count))
    command = [sys.executable, "-m", "bot", "classify"]
    if config is not None:
        command += ["--config", str(config)]
    started = time.perf_counter()
    subprocess.run(command, input="", capture_output=True, text=True, check=True)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(command, input=lines, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    assert done.stdout.count("\n") == count
    print(
        f"{'hotline classify':<22} {count / elapsed:>9,.0f} complaints/s as a whole process "
        f"({count} lines in {elapsed:.2f} s, {worker_count()} worker processes; "
        f"start-up incl. learned data {startup:.2f} s)"
    )


def classify_by_process(config: Path, texts: Sequence[str]) -> list[Outcome]:
    """Run `hotline classify` as a process on the texts; return its outcomes."""
    lines = "".join(t.replace("\n", " ") + "\n" for t in texts)
    command = [sys.executable, "-m", "bot", "classify", "--config", str(config)]
    done = subprocess.run(command, input=lines, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return [Outcome(r["category"], r["agency"], r["ward"], r["subject_agency"]) for r in rows]


def learning_effect(history: Path, examples: Sequence[Example]) -> None:
    """Measure `hotline triage learn HISTORY` as a province would run it: the data scored by
    `hotline classify` before and after, on a fresh database, and the start-up after."""
    import tempfile

    print(f"\nLEARNING FROM A PROVINCE'S HISTORY ({history.name}, `hotline triage learn`)")
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        database = Path(folder) / "learned.db"
        config.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{database}"\n', "utf-8")
        texts = [e.text for e in examples]
        before = score(examples, classify_by_process(config, texts))
        command = [sys.executable, "-m", "bot", "triage", "learn", str(history)]
        learned = subprocess.run(
            [*command, "--config", str(config)], capture_output=True, text=True, check=False
        )
        print(f"  {learned.stdout.strip()} (exit {learned.returncode})")
        after = score(examples, classify_by_process(config, texts))
        started = time.perf_counter()
        empty = [sys.executable, "-m", "bot", "classify", "--config", str(config)]
        subprocess.run(empty, input="", capture_output=True, text=True, check=True)
        startup = time.perf_counter() - started
    print(Scores.header())
    print(before.row("before learning"))
    print(after.row("after learning"))
    print(
        f"  agency exact {after.agency - before.agency:+.1%} points; "
        f"start-up with the learned data {startup:.2f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--lines",
        type=parse_lines,
        default=(0, None),
        metavar="A:B",
        help="only lines A to B of the data (1-based, inclusive), e.g. 1:240 or 241:",
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--history",
        type=Path,
        default=None,
        help="a province's past tickets: measure `hotline triage learn` on them (default config)",
    )
    parser.add_argument("--errors", action="store_true", help="list the misrouted complaints")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    config = load_config(args.config)
    examples = load_examples(args.data, args.lines)
    started = time.perf_counter()
    classifier = Classifier.from_config(config)
    built = time.perf_counter() - started
    baseline = SubstringBaseline(config)

    def engine(text: str) -> Outcome:
        d = classifier.classify(text)
        return Outcome(d.category, d.agency, d.ward, d.subject_agency)

    outcomes = run(engine, examples)
    base_outcomes = run(baseline.classify, examples)
    start, stop = args.lines
    part = ""
    if args.lines != (0, None):
        part = f" (lines {start + 1}-{stop or start + len(examples)})"
    print(f"data: {args.data.name}{part}, {len(examples)} complaints; config {config.source}")
    print(f"classifier built in {built * 1000:.0f} ms ({len(classifier.wards)} communes/wards)")
    report("ENGINE (normalisation + fuzzy routing)", examples, outcomes)
    report(
        "BASELINE (substring match of the same keywords, accented text)", examples, base_outcomes
    )

    accented = [e for e in examples if "accented" in e.tags]
    stripped = [
        Example(
            e.id, fold_diacritics(e.text), e.category, e.agency, e.ward, e.subject_agency, e.tags
        )
        for e in accented
    ]
    print("\nSAME COMPLAINTS WITH DIACRITICS STRIPPED (accented subset, typed again without them)")
    print(Scores.header())
    print(score(accented, run(engine, accented)).row("engine, accented"))
    print(score(stripped, run(engine, stripped)).row("engine, stripped"))
    print(score(accented, run(baseline.classify, accented)).row("baseline, accented"))
    print(score(stripped, run(baseline.classify, stripped)).row("baseline, stripped"))

    texts = [e.text for e in examples]
    typical = [t for t in texts if 20 <= len(t.split()) <= 40]
    print(f"\nTHROUGHPUT (one core; typical = the {len(typical)} complaints of 20-40 words)")
    clear_text_caches()
    clear_triage_caches()
    cold = Classifier.from_config(config)
    started = time.perf_counter()
    for text in typical:
        cold.classify(text)
    cold_rate = len(typical) / (time.perf_counter() - started)
    print(f"{'typical, cold caches':<22} {cold_rate:>9,.0f} complaints/s (first pass)")
    rates: dict[str, tuple[float, float, float]] = {}
    for name, sample in (("typical, warm", typical), ("whole set, warm", texts)):
        rates[name] = rate, median, p99 = timing(classifier, sample, args.rounds)
        print(f"{name:<22} {rate:>9,.0f} complaints/s  median {median:6.0f} µs  p99 {p99:6.0f} µs")

    # --- issue 7: keywords alone, the precision/coverage curve, the whole process ---
    keywords = Classifier.from_config(config, learned=False)
    report(
        "KEYWORDS ONLY (the engine without the learned weights, same threshold)",
        examples,
        run(lambda text: _outcome(keywords.classify(text)), examples),
    )
    print_curve(examples, classifier)
    base_rate, _, _ = timing(baseline, texts, args.rounds)
    print(f"{'substring baseline':<22} {base_rate:>9,.0f} complaints/s (whole set, warm)")
    whole_process(args.config, texts)
    if args.history is not None:
        learning_effect(args.history, examples)

    overall = score(examples, outcomes)
    plain = [(e, o) for e, o in zip(examples, outcomes, strict=True) if "no-diacritics" in e.tags]
    plain_base = [
        (e, o) for e, o in zip(examples, base_outcomes, strict=True) if "no-diacritics" in e.tags
    ]

    def subset(tag: str, outs: Sequence[Outcome] = outcomes) -> Scores:
        pairs = [(e, o) for e, o in zip(examples, outs, strict=True) if tag in e.tags]
        return score([e for e, _ in pairs], [o for _, o in pairs])

    accented_score = subset("accented")
    engine_plain = score([e for e, _ in plain], [o for _, o in plain])
    base_plain = score([e for e, _ in plain_base], [o for _, o in plain_base])
    rate, _, p99 = rates["typical, warm"]
    targets = [
        ("agency exact >= 90 %", f"{overall.agency:.1%}", overall.agency >= 0.90),
        ("auto-route precision >= 95 %", f"{overall.precision:.1%}", overall.precision >= 0.95),
        ("coverage >= 85 %", f"{overall.coverage:.1%}", overall.coverage >= 0.85),
        (
            "no-diacritics within 5 pts of accented",
            f"{engine_plain.agency:.1%} vs {accented_score.agency:.1%}",
            engine_plain.agency >= accented_score.agency - 0.05,
        ),
        (
            "teencode within 5 pts of accented",
            f"{subset('teencode').agency:.1%} vs {accented_score.agency:.1%}",
            subset("teencode").agency >= accented_score.agency - 0.05,
        ),
        ("zero routed to the agency accused", str(overall.accused), overall.accused == 0),
        (
            "no-diacritics: agency >= baseline + 15",
            f"{engine_plain.agency:.1%} vs {base_plain.agency:.1%}",
            engine_plain.agency >= base_plain.agency + 0.15,
        ),
        (
            "no-diacritics: coverage >= baseline + 15",
            f"{engine_plain.coverage:.1%} vs {base_plain.coverage:.1%}",
            engine_plain.coverage >= base_plain.coverage + 0.15,
        ),
        ("throughput >= 5,000/s (typical)", f"{rate:,.0f}/s", rate >= 5000),
        ("p99 latency < 2 ms (typical)", f"{p99:.0f} µs", p99 < 2000),
    ]
    print("\nTARGETS (issue 3)")
    for name, value, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<42} {value}")
    failed = [name for name, _, ok in targets if not ok]

    if args.errors:
        print("\nMISROUTED (id, expected -> got, text)")
        for e, o in zip(examples, outcomes, strict=True):
            wrong = (
                o.agency != e.agency or o.subject_agency != e.subject_agency or o.ward != e.ward
            )
            if wrong or o.category != e.category:
                d = classifier.classify(e.text)
                print(
                    f"{e.id} {e.category}/{e.agency}/{e.subject_agency}/{e.ward} -> "
                    f"{o.category}/{o.agency}/{o.subject_agency}/{o.ward} "
                    f"c={d.confidence:.2f} {list(d.evidence)} {d.alternatives[:3]}\n    {e.text}"
                )
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
