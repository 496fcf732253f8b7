"""Complaint triage: which category, which agency, and whether the machine should decide at all.

Each category has weighted keyword phrases (config). A complaint is normalised (`bot.domain.text`)
and phrases are found on whole tokens of its folded form, so text typed without diacritics, with
chat shorthand or Telex leftovers matches too; diacritics that were typed must agree with the
phrase ("thuê" is not "thuế"; a hỏi/ngã mix-up or a tone on the wrong vowel only costs a little). A
phrase of three words or more may have one extra word inside it, any phrase a filler word ("chưa
được trả"); an amount of money reads as "tiền" ("đưa 5 triệu"); phrases never span clause
punctuation; English words are compared by crude stems (ASCII phrases are never read as Telex in
English text); words that are neither Vietnamese syllables nor known are repaired by spelling
(rapidfuzz ratio) before lookup. Overlapping finds go to the longer phrase. Words that name the
accused staff ("cán bộ địa chính") are no topic, and conduct that is denied ("không hề hách dịch")
is no conduct complaint, unless the denial is a condition ("không có phong bì thì").

A category scores the sum of weight × length factor × similarity over its distinct phrases,
plus a small hint when the complaint names the agency handling it; "process" categories (late
dossier, paperwork, conduct: `about_process` in the config) outrank the subject matter they are
about once they have clear evidence. Confidence is top / (top + runner-up + prior), where the
runner-up is the best category that would route elsewhere, scaled down when the top score itself
is small (a single weak hint).

The routing rules of the taxonomy then apply, each to the categories or agency the config flags:

1. conflict of interest: the agency accused is never the one a complaint is routed to
   (`conflict_of_interest` categories);
2. a late dossier known to the system goes to the agency holding it (`follows_dossier`);
3. commune matters go to the commune named (from `vietnam-provinces`), else to the operators
   (the `commune_level` agency);
4. below the confidence threshold, the operators decide, with the top suggestions; what fits no
   category is the `fallback` category's.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process

from bot.config import AgencyConfig, CategoryConfig, Config
from bot.domain.learned import (
    LearnedModel,
    LearnedScores,
    learned_calibration,
    load_default,
)
from bot.domain.routing import TRIAGE, Router
from bot.domain.text import (
    NormalizedText,
    fold_diacritics,
    is_syllable,
    mark_similarity,
    marks_compatible,
    normalize,
)

logger = logging.getLogger(__name__)

__all__ = ["TRIAGE", "Classifier", "Decision", "WardIndex", "clear_caches", "spelling_candidates"]

# The commune-level agency of the shipped directory, for the benchmark's baseline only: routing
# reads `commune_level` from the config.
COMMUNE_AGENCY = "ubnd-xa"
# Complaints about how a service is delivered always name their subject matter too ("sổ đỏ" in a
# late land dossier), so when a process category leads, the subject-matter ones weigh less.
TOPIC_DISCOUNT = 0.5
PROCESS_EVIDENCE = 0.9  # a process category needs this much before it outranks the topic
# A one-stop desk named together with a commune is that commune's desk.
ONE_STOP_DESK = "trung-tam-hcc"

# Scoring constants. A phrase of n tokens counts LENGTH_FACTOR[min(n, 4)] times its weight.
LENGTH_FACTOR = (0.0, 0.6, 1.0, 1.15, 1.3)
CONFIDENCE_PRIOR = 0.225  # evidence needed before the top score alone earns confidence
MIN_EVIDENCE = 0.15  # below this the complaint is the fallback category's
FULL_EVIDENCE = 0.5  # below this much evidence, confidence shrinks in proportion
SKIP_PENALTY = 0.85  # a phrase of 3+ words matched with one extra word inside it
SKIP_MIN_LENGTH = 3
# Words that may sit inside even a two-word phrase without changing what it says:
# "chưa (được) trả", "không (có) phép", "mất (hết) nước".
FILLERS = frozenset({"được", "có", "bị", "hề", "hết", "cả"})
SPELLING_CREDIT = 0.8  # a token repaired by spelling correction
MIN_SIMILARITY = 0.55  # weaker phrase matches are ignored
MAX_SPELLING_LOOKUPS = 64  # per complaint, so that a 100 KB paste stays fast
SPELLING_MIN_LENGTH = 5  # shorter words have too many neighbours to repair safely
SPELLING_CUTOFF = 85  # fuzz.ratio from which an unknown word is read as a known one
MENTION_MIN_SIMILARITY = 0.74
AGENCY_HINT = 0.3  # a category handled by an agency the complaint names
CONDUCT_EVIDENCE = 0.5  # conduct evidence that makes a named agency the one complained about
CONDUCT_CLEAR = 1.0  # one clear sign of conduct: enough, however rich the topic's own words
# With no agency named, a topic the learned model sees this likely names the service given.
# The conduct detector (an official asked for money, was rude, passed the citizen on): from
# CONDUCT_SWITCH the complaint is filed as conduct whatever its topic; from CONDUCT_DOUBT it
# is not routed by the machine (to the operators), for the topic's agency may be the accused.
CONDUCT_SWITCH = 0.6
# (0.4: over the measuring sets, 1,888 complaints, the denunciations heard between 0.3 and 0.4
# were all held by their low confidence anyway, while this line held 17 topic complaints, 16 of
# which the machine routes right.)
CONDUCT_DOUBT = 0.4
# A complaint that tells what a teacher, a nurse or "they" at the office said or did may be about
# the agency it would go to: a weaker conduct signal is enough to let the operators route it
# (0.2 since the detector also learned conduct in schools, clinics and utilities, which lifted
# its signal on plain service stories that name their staff; 0.3 let a teacher's paid lessons
# "for better marks", heard at 0.25, reach the school authority in an untouched set).
CONDUCT_DOUBT_PEOPLE = 0.2
SERVICE_PROBABILITY = 0.05
# An amount of money stands for the word "tiền" in phrases: a number before a unit of money,
# or written in one piece ("500k", "20tr").
MONEY_KEY = "tien"
MONEY_CREDIT = 0.95
_MONEY_UNITS = frozenset({"trieu", "tr", "nghin", "ngan", "k", "dong", "cu", "xi", "ty"})
_MONEY = re.compile(r"\d+(?:[.,]\d+)?(?:k|tr|trieu|nghin|ngan|d|dong|cu|ty)")


@dataclass(frozen=True)
class Decision:
    """Where a complaint goes, how sure the classifier is, and why."""

    category: str
    agency: str
    confidence: float
    track: str
    ward: str | None = None
    subject_agency: str | None = None
    evidence: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, str, float], ...] = ()

    @property
    def needs_triage(self) -> bool:
        """Tell whether the operators must route this complaint."""
        return self.agency == TRIAGE

    def to_json(self) -> dict[str, Any]:
        """Return the `hotline classify` JSON object (SPEC §5) plus the alternatives."""
        return {
            "category": self.category,
            "agency": self.agency,
            "confidence": round(self.confidence, 3),
            "track": self.track,
            "ward": self.ward,
            "subject_agency": self.subject_agency,
            "evidence": list(self.evidence),
            "alternatives": [
                {"category": c, "agency": a, "score": round(s, 3)} for c, a, s in self.alternatives
            ],
        }


# --- phrase index ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One configured phrase, normalised."""

    phrase: str
    owner: str
    weight: float
    tokens: tuple[str, ...]


class _Node:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entries: list[_Entry] = []


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    entry: _Entry
    similarity: float
    exact: bool = True


class _PhraseIndex:
    """A token trie over folded phrases, matched on whole tokens."""

    def __init__(self) -> None:
        self.root = _Node()
        self.vocabulary: set[str] = set()

    def add(self, phrase: str, owner: str, weight: float) -> None:
        variants = [normalize(phrase)]
        if phrase.isascii():
            # An ASCII phrase is English or an initialism: in English complaints it must not
            # be read as Telex ("room" is no "rôm"), in Vietnamese ones it may be.
            english = normalize(phrase, english=True)
            if english.tokens != variants[0].tokens:
                variants.insert(0, english)
        for norm in variants:
            if not norm.tokens:
                continue
            keys = [_stem(key) for key in norm.folded_tokens]
            node = self.root
            for key in keys:
                node = node.children.setdefault(key, _Node())
            node.entries.append(_Entry(phrase, owner, weight, norm.tokens))
            self.vocabulary.update(keys)

    def scan(
        self, text: NormalizedText, keys: Sequence[str], credits: Sequence[float]
    ) -> list[_Match]:
        """Find every phrase occurrence, allowing one extra word inside a phrase."""
        matches: list[_Match] = []
        count = len(keys)
        breaks = text.breaks
        tokens = text.tokens
        root = self.root.children
        # a phrase typed exactly as configured, no word of the text repaired, fits fully
        # (what `_similarity` finds too, without going word by word)
        repaired = min(credits, default=1.0) < 1.0
        for start in range(count):
            node = root.get(keys[start])
            if node is None:
                continue
            # (node, next position, skipped position or -1)
            stack = [(node, start + 1, -1)]
            while stack:
                node, position, skipped = stack.pop()
                for entry in node.entries:
                    if (
                        skipped >= 0
                        and len(entry.tokens) < SKIP_MIN_LENGTH
                        and not _is_filler(text, skipped)
                    ):
                        continue
                    if skipped < 0 and not repaired and tokens[start:position] == entry.tokens:
                        similarity = 1.0
                    else:
                        similarity = _similarity(
                            text, credits, entry.tokens, start, position, skipped
                        )
                    if similarity >= MIN_SIMILARITY:
                        matches.append(_Match(start, position, entry, similarity, skipped < 0))
                children = node.children
                if children and position < count and position not in breaks:
                    child = children.get(keys[position])
                    if child is not None:
                        stack.append((child, position + 1, skipped))
                    if skipped < 0 and position + 1 < count and position + 1 not in breaks:
                        child = children.get(keys[position + 1])
                        if child is not None:
                            stack.append((child, position + 2, position))
        return matches


def spelling_candidates(vocabulary: Sequence[str], length: int) -> list[str]:
    """The words of `vocabulary` (in its order) that a word of `length` letters can reach
    SPELLING_CUTOFF with: fuzz.ratio is at most 1 - |a - b| / (a + b) for lengths a and b, so
    the others need not be compared (each comparison costs, the vocabulary is a thousand)."""
    slack = 1.0 - SPELLING_CUTOFF / 100
    return [w for w in vocabulary if abs(len(w) - length) <= slack * (len(w) + length) + 1e-9]


_FOLDED_FILLERS = {fold_diacritics(word): word for word in FILLERS}


def _is_filler(text: NormalizedText, position: int) -> bool:
    """Tell whether the token at `position` is a filler word (typed diacritics permitting)."""
    filler = _FOLDED_FILLERS.get(text.folded_tokens[position])
    return filler is not None and marks_compatible(text.tokens[position], filler)


def _token_similarity(typed: str, folded: str, reference: str) -> float:
    """Typed without diacritics fits fully; typed diacritics must agree with the phrase's."""
    if typed in (reference, folded):
        return 1.0
    return mark_similarity(typed, reference)


_stem_cache: dict[str, str] = {}


def clear_caches() -> None:
    """Forget the stem cache (for cold-start measurements)."""
    _stem_cache.clear()


def _stem(key: str) -> str:
    """Reduce an English word to a crude stem ("scammed" → "scam", "potholes" → "pothol").

    Only ASCII words that are not Vietnamese syllables are touched, so "nguoi" stays.
    """
    cached = _stem_cache.get(key)
    if cached is not None:
        return cached
    stem = key
    if len(key) >= 4 and key.isascii() and key.isalpha() and not is_syllable(key):
        for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stem = stem[: -len(suffix)] + replacement
                if replacement == "" and len(stem) >= 4 and stem[-1] == stem[-2] != "s":
                    stem = stem[:-1]
                break
        else:
            if stem.endswith(("ches", "shes", "xes", "sses")):
                stem = stem[:-2]
            elif stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
                stem = stem[:-1]
        if stem.endswith("e") and len(stem) >= 4:
            stem = stem[:-1]
    if len(_stem_cache) > 100_000:
        _stem_cache.clear()
    _stem_cache[key] = stem
    return stem


def _similarity(
    text: NormalizedText,
    credits: Sequence[float],
    reference: tuple[str, ...],
    start: int,
    end: int,
    skipped: int,
) -> float:
    total = 0.0
    index = 0
    for position in range(start, end):
        if position == skipped:
            continue
        credit = credits[position]
        if credit < 1.0:
            total += credit
        elif position in text.literal:
            # a bare word among accented ones is the word as written: "mang" is not "mạng"
            total += 1.0 if text.tokens[position] == reference[index] else 0.0
        else:
            total += _token_similarity(
                text.tokens[position], text.folded_tokens[position], reference[index]
            )
        index += 1
    similarity = total / len(reference)
    return similarity * SKIP_PENALTY if skipped >= 0 else similarity


_START = attrgetter("start")
_SCORE = itemgetter(1)  # of a (category, score) pair


def _keep_longest(matches: list[_Match]) -> list[_Match]:
    """Resolve overlapping matches: longer phrases first, then exact ones, then earlier ones.

    A match inside a longer one is dropped ("y tế" in "bảo hiểm y tế"), and so is one sharing
    words with a preferred one ("rác thải đổ" is not also "thải đổ" → "thái độ"). Matches of the
    very same words all stay: a phrase may belong to several categories.
    """
    if len(matches) < 2:
        return matches
    ordered = sorted(matches, key=lambda m: (m.start - m.end, not m.exact, m.start))
    taken: dict[int, tuple[int, int]] = {}
    kept: list[_Match] = []
    for match in ordered:
        span = (match.start, match.end)
        if any(taken.get(p, span) != span for p in range(match.start, match.end)):
            continue
        kept.append(match)
        for position in range(match.start, match.end):
            taken[position] = span
    kept.sort(key=_START)
    return kept


# Conduct denied ("cán bộ không hề hách dịch, nhưng hồ sơ trễ hẹn") is no complaint about
# conduct, unless the denial is a condition: "không có phong bì thì hồ sơ nằm đó" is a bribe.
_NEGATORS = {"khong": "không", "chang": "chẳng", "not": "not", "never": "never"}
_NEGATION_GAP = frozenset({"he", "co", "bi", "ai"})  # "không hề", "không có", "không ai"
_CONDITION = frozenset({"thi", "moi", "unless", "otherwise"})
NEGATION_REACH = 6  # tokens after the phrase searched for "thì"/"mới" in the same clause


def _negated(text: NormalizedText, match: _Match) -> bool:
    """Tell whether a phrase is denied by "không"/"chẳng"/"not" just before it, not as a
    condition."""
    folded, tokens, breaks = text.folded_tokens, text.tokens, text.breaks
    position = match.start - 1
    if position >= 0 and position + 1 not in breaks and folded[position] in _NEGATION_GAP:
        position -= 1
    if position < 0 or position + 1 in breaks or match.start in breaks:
        return False
    negator = _NEGATORS.get(folded[position])
    if negator is None or not marks_compatible(tokens[position], negator):
        return False
    for after in range(match.end, min(len(folded), match.end + NEGATION_REACH)):
        if after in breaks:
            break
        if folded[after] in _CONDITION:
            return False
    return True


# "<person> là/nguyên là <X>" and "I'm a <X>" say who someone is; X is rarely the subject.
PERSONA_DISCOUNT = 0.4
_PERSONS = frozenset(
    {"toi", "tui", "em", "minh", "anh", "chi", "con", "me", "ma", "ba", "bo", "cha", "ong"}
    | {"vo", "chong", "chau", "no", "ho", "chung"}
)
_PERSONA_VERBS = (("nguyen", "la"), ("von", "la"), ("dang", "la"), ("la",))
_PERSONA_ENGLISH: tuple[tuple[str, ...], ...] = (
    ("i", "m", "a"),
    ("i", "am", "a"),
    ("i", "m", "an"),
    ("i", "am", "an"),
    ("as", "a"),
    ("as", "an"),
    ("work", "as"),
)


_PERSONA_LAST = frozenset(cue[-1] for cue in (*_PERSONA_ENGLISH, *_PERSONA_VERBS))


def _introduces_person(folded: tuple[str, ...], start: int) -> bool:
    """Tell whether a phrase at `start` follows "<person> (nguyên) là" or "I'm a"."""
    if start == 0 or folded[start - 1] not in _PERSONA_LAST:
        return False  # every cue ends just before the phrase: most words end none
    for cue in _PERSONA_ENGLISH:
        if tuple(folded[max(0, start - len(cue)) : start]) == cue:
            return True
    for verb in _PERSONA_VERBS:
        before = start - len(verb)
        if before >= 1 and tuple(folded[before:start]) == verb:
            return folded[before - 1] in _PERSONS
    return False


def _strength(match: _Match) -> float:
    return match.entry.weight * match.similarity


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    size = len(inner)
    return size < len(outer) and any(
        outer[i : i + size] == inner for i in range(len(outer) - size + 1)
    )


# --- wards -----------------------------------------------------------------------------------

NESTED_DIVISIONS = "nested-divisions.json"  # vietnam_provinces.NESTED_DIVISIONS_JSON_PATH


@dataclass(frozen=True, slots=True)
class _Ward:
    name: str
    division: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WardMention:
    """A commune/ward of the province named in a complaint."""

    name: str
    start: int
    end: int
    strong: bool


class _Prefix(NamedTuple):
    """A word introducing a commune name: as it is accented, whether it says a commune name
    follows (else the name only may), the kind of division it names, and whether it counts
    only typed with its diacritics."""

    accented: tuple[str, ...]
    strong: bool
    division: str | None
    as_typed: bool = False


# Words that introduce a commune name, by their folded tokens.
# Old district and city names ("huyện Long Thành") are left out: each now spans many communes.
_WARD_PREFIXES: dict[tuple[str, ...], _Prefix] = {
    ("xa",): _Prefix(("xã",), True, "xã"),
    ("x",): _Prefix(("x",), True, "xã"),
    ("phuong",): _Prefix(("phường",), True, "phường"),
    ("p",): _Prefix(("p",), True, "phường"),
    ("thi", "tran"): _Prefix(("thị", "trấn"), True, "xã"),
    ("dac", "khu"): _Prefix(("đặc", "khu"), True, "đặc khu"),
    ("thi", "xa"): _Prefix(("thị", "xã"), True, "phường"),
    ("o",): _Prefix(("ở",), False, None),
    ("tai",): _Prefix(("tại",), False, None),
    ("in",): _Prefix(("in",), False, None),  # English: "a factory in Nhon Trach"
    # a market bears its commune's name ("chợ Tam Hiệp"); bare "cho" is the everyday "for"
    ("cho",): _Prefix(("chợ",), False, None, as_typed=True),
}
_WARD_PREFIX_LENGTHS = sorted({len(k) for k in _WARD_PREFIXES}, reverse=True)
_WARD_PREFIX_FIRST = frozenset(k[0] for k in _WARD_PREFIXES)
# English puts the kind after the name: "Trang Dai ward", "Long Thanh commune".
_WARD_SUFFIXES = {"ward": "phường", "commune": "xã"}


def _typed_as(typed: Sequence[str], reference: Sequence[str]) -> bool:
    """Tell whether typed tokens can be the reference tokens written with fewer diacritics."""
    return all(
        t == r or t.isascii() or marks_compatible(t, r)
        for t, r in zip(typed, reference, strict=True)
    )


class WardIndex:
    """The communes and wards of one province, matched the way people write them."""

    def __init__(self, wards: Iterable[tuple[str, str]]) -> None:
        self.by_folded: dict[tuple[str, ...], list[_Ward]] = {}
        self.first_tokens: set[str] = set()
        self.max_length = 0
        for name, division in wards:
            bare = name
            for prefix in ("Phường ", "Xã ", "Đặc khu ", "Thị trấn "):
                if name.startswith(prefix):
                    bare = name[len(prefix) :]
            norm = normalize(bare)
            if not norm.tokens:
                continue
            ward = _Ward(name, division, norm.tokens)
            self.by_folded.setdefault(norm.folded_tokens, []).append(ward)
            self.first_tokens.add(norm.folded_tokens[0])
            self.max_length = max(self.max_length, len(norm.tokens))
        # The words a mention can start with; most words of a complaint are none of them.
        self.starts = _WARD_PREFIX_FIRST | self.first_tokens

    @classmethod
    def for_province(cls, province: str) -> WardIndex:
        """Build the index from the `vietnam-provinces` data; empty if the province is unknown."""
        wanted = _province_key(province)
        for name, wards in _provinces():
            if _province_key(name) == wanted:
                return cls(wards)
        logger.warning("province %s not found in vietnam-provinces; no ward matching", province)
        return cls(())

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_folded.values())

    def find(self, text: NormalizedText) -> WardMention | None:
        """Return the first commune/ward named (introduced by xã/phường first, else ở/tại)."""
        weak: WardMention | None = None
        tokens, folded = text.tokens, text.folded_tokens
        starts = self.starts
        if starts.isdisjoint(folded):
            return None
        position = 0  # where the next mention may start
        for start in [index for index, word in enumerate(folded) if word in starts]:
            if start < position:
                continue
            found = self._at(tokens, folded, start)
            if found is not None:
                if found.strong:
                    return found
                if weak is None:
                    weak = found
                position = found.end
        return weak

    def _at(
        self, tokens: tuple[str, ...], folded: tuple[str, ...], start: int
    ) -> WardMention | None:
        for length in _WARD_PREFIX_LENGTHS:
            key = folded[start : start + length]
            spec = _WARD_PREFIXES.get(key)
            if spec is None or len(key) < length:
                continue
            accented, strong, division, as_typed = spec
            typed = tokens[start : start + length]
            if (typed != accented) if as_typed else not _typed_as(typed, accented):
                continue
            name_start = start + length
            for size in range(min(self.max_length, len(folded) - name_start), 0, -1):
                wards = self.by_folded.get(folded[name_start : name_start + size])
                if not wards:
                    continue
                typed = tokens[name_start : name_start + size]
                fitting = [w for w in wards if _typed_as(typed, w.tokens)]
                if not fitting:
                    continue
                same_kind = [w for w in fitting if w.division == division]
                ward = (same_kind or fitting)[0]
                return WardMention(ward.name, start, name_start + size, strong)
        if folded[start] in self.first_tokens:
            return self._before_suffix(tokens, folded, start)
        return None

    def _before_suffix(
        self, tokens: tuple[str, ...], folded: tuple[str, ...], start: int
    ) -> WardMention | None:
        """Match a name followed by its kind in English ("Bien Hoa ward")."""
        for size in range(min(self.max_length, len(folded) - start - 1), 0, -1):
            division = _WARD_SUFFIXES.get(folded[start + size])
            wards = self.by_folded.get(folded[start : start + size]) if division else None
            if not wards:
                continue
            fitting = [w for w in wards if _typed_as(tokens[start : start + size], w.tokens)]
            same_kind = [w for w in fitting if w.division == division]
            if same_kind or fitting:
                ward = (same_kind or fitting)[0]
                return WardMention(ward.name, start, start + size + 1, True)
        return None


def _provinces() -> Iterator[tuple[str, Iterable[tuple[str, str]]]]:
    """Each province of `vietnam-provinces` with its wards as (name, division type), in the
    package's order: read from the JSON file the package ships (`NESTED_DIVISIONS_JSON_PATH`),
    found without importing the package, whose code tables take a tenth of a second to import
    (the start-up of `hotline classify`); through its API if the file is not there."""
    spec = importlib.util.find_spec("vietnam_provinces")
    folders = spec.submodule_search_locations if spec is not None else None
    source = Path(folders[0], "data", NESTED_DIVISIONS) if folders else None
    if source is not None and source.is_file():
        for entry in json.loads(source.read_bytes()):
            yield entry["name"], [(w["name"], w["division_type"]) for w in entry["wards"]]
        return
    from vietnam_provinces import Province, Ward

    for candidate in Province.iter_all():
        wards = Ward.iter_by_province(candidate.code)  # lazy: only the province wanted is read
        yield candidate.name, ((w.name, w.division_type.value) for w in wards)


def _province_key(name: str) -> str:
    key = fold_diacritics(name).lower().strip()
    for prefix in ("tinh ", "thanh pho "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return " ".join(key.split())


# --- the classifier --------------------------------------------------------------------------

ADDRESSEE_WEIGHT = 0.3  # an agency addressed counts this much as one complained about
# Words naming an agency's people ("cán bộ thuế", "đoàn kiểm tra của Sở ...", "officers").
_STAFF_PHRASES = (
    "cán bộ",
    "nhân viên",
    "công chức",
    "người phụ trách",
    "đoàn",
    "đoàn kiểm tra",
    "officer",
    "officers",
    "inspectors",
    "staff",
    # titles name one of the agency's people as surely as "cán bộ" does
    "chủ tịch",
    "giám đốc",
    "trưởng phòng",
    "phó phòng",
    "trưởng ban",
    "trưởng công an",
    "phó công an",
    "cảnh sát",
    "chief",
    "director",
)
# The people a citizen meets in a public service, and the words that quote them.
_SERVICE_PHRASES = (
    "cô giáo",
    "thầy",
    "thầy giáo",
    "giáo viên",
    "hiệu trưởng",
    "điều dưỡng",
    "bác sĩ",
    "y tá",
    "họ nói",
    "họ bảo",
    "teacher",
    "principal",
    "nurse",
    "doctor",
    "they said",
    "they told",
)


@dataclass(frozen=True, slots=True)
class _Phrases:
    """Short phrases matched on folded tokens, whose typed diacritics must not contradict;
    those in `needs_marks` count only when typed with some."""

    accented: dict[tuple[str, ...], tuple[str, ...]]
    first: frozenset[str]
    needs_marks: frozenset[tuple[str, ...]] = frozenset()

    @classmethod
    def of(cls, phrases: Iterable[str], needs_marks: Iterable[str] = ()) -> _Phrases:
        accented = {tuple(fold_diacritics(p).split()): tuple(p.split()) for p in phrases}
        marked = frozenset(tuple(fold_diacritics(p).split()) for p in needs_marks)
        return cls(accented, frozenset(k[0] for k in accented), marked)

    def at(self, norm: NormalizedText, index: int, size: int) -> bool:
        """Tell whether one of the phrases is written at `index`, `size` words long."""
        key = norm.folded_tokens[index : index + size]
        accented = self.accented.get(key)
        if accented is None or len(key) < size:
            return False
        typed = norm.tokens[index : index + size]
        if key in self.needs_marks and all(t.isascii() for t in typed):
            return False
        return _typed_as(typed, accented)

    def anywhere(self, norm: NormalizedText, start: int = 0, end: int | None = None) -> bool:
        """Tell whether one of the phrases is written between `start` and `end`."""
        folded = norm.folded_tokens
        stop = len(folded) if end is None else min(end, len(folded))
        if self.first.isdisjoint(folded[start:stop]):
            return False
        return any(
            self.at(norm, index, size)
            for index in range(start, stop)
            if folded[index] in self.first
            for size in (3, 2, 1)
            if index + size <= stop
        )


# Alone and typed without diacritics these are other words more often than not: "doan" is
# "đoạn" (a stretch of road) and "thay" is "thấy" (to see) or "thay" (to change).
_STAFF = _Phrases.of(_STAFF_PHRASES, needs_marks=["đoàn"])
_SERVICE_PEOPLE = _Phrases.of(_SERVICE_PHRASES, needs_marks=["thầy"])
# Words before an agency name that make it the addressee rather than the one complained about.
_ADDRESSEE = _Phrases.of(["đề nghị", "kính gửi", "gửi", "kiến nghị", "mong", "nhờ", "báo"])


def _staff_named(norm: NormalizedText, start: int, end: int) -> bool:
    """Tell whether an agency name is introduced as its staff (just before or inside it)."""
    return _STAFF.anywhere(norm, max(0, start - 6), min(end, start + 3))


def _speaks_of_staff(norm: NormalizedText) -> bool:
    """Tell whether a text speaks of an agency's people anywhere ("nhân viên ở đó")."""
    return _STAFF.anywhere(norm)


def _speaks_of_service_people(norm: NormalizedText) -> bool:
    """Tell whether a text speaks of people met in a service ("cô giáo", "họ nói")."""
    return _SERVICE_PEOPLE.anywhere(norm)


@dataclass
class _Mention:
    agency: str
    start: int
    end: int
    weight: float
    staff: bool = False


@dataclass
class _Analysis:
    """Everything the classifier found in one complaint."""

    text: NormalizedText
    scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    mentions: list[_Mention] = field(default_factory=list)
    ward: WardMention | None = None
    keyword_spans: list[tuple[int, int]] = field(default_factory=list)
    staff_named: bool = False  # the text speaks of staff ("nhân viên ở đó nói ...")
    people_named: bool = False  # ... or of people met in a service ("cô giáo", "họ nói")
    learned: LearnedScores | None = None  # the learned model's view, when there is one


@dataclass(frozen=True)
class Calibration:
    """How the keyword and learned views combine, and the map from their signals to a
    probability that the category is right (fitted by cross-validation by writer group,
    `bot/learning.py`)."""

    blend: float = 0.8  # the learned probabilities' share in the combined score
    coefficients: tuple[float, ...] = ()
    intercept: float = 0.0

    @classmethod
    def shipped(cls) -> Calibration:
        """Return the calibration shipped beside the learned weights (or the identity)."""
        data = learned_calibration()
        if not data:
            return cls()
        return cls(float(data["blend"]), tuple(data["coefficients"]), float(data["intercept"]))

    def confidence(self, signals: Sequence[float]) -> float:
        """Map the signals of a decision to the probability that it is right."""
        if not self.coefficients:
            return signals[0]
        z = self.intercept + sum(w * x for w, x in zip(self.coefficients, signals, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


def _signals(
    blended: Sequence[tuple[str, float]],
    learned: LearnedScores,
    keyword_top: str,
    keyword_confidence: float,
    home: Mapping[str, str],
) -> list[float]:
    """What the calibration reads: the combined top score and margin, the learned model's
    probability and margin, whether the keyword engine agrees (with its confidence), and the
    same for the top category's agency: routing is right when the agency is, whichever of its
    categories it is filed under."""
    category, top = blended[0]
    second = blended[1][1] if len(blended) > 1 else 0.0
    probabilities = sorted(learned.probabilities.values(), reverse=True)
    learned_top, _ = learned.top()
    margin = probabilities[0] - probabilities[1] if len(probabilities) > 1 else 1.0
    agrees = category == keyword_top
    agency = home.get(category, TRIAGE)
    masses = _agency_masses(blended, home)
    mass = masses.pop(agency, 0.0)
    learned_mass = sum(p for c, p in learned.probabilities.items() if home.get(c) == agency)
    return [
        top,
        top - second,
        learned.probabilities.get(category, 0.0),
        margin,
        float(learned_top == category),
        float(agrees),
        keyword_confidence if agrees else 0.0,
        mass,
        learned_mass,
        mass - max(masses.values(), default=0.0),
    ]


def _agency_masses(
    blended: Sequence[tuple[str, float]], home: Mapping[str, str]
) -> dict[str, float]:
    """Sum the combined scores of the categories by the agency that handles them."""
    masses: dict[str, float] = {}
    for category, score in blended:
        agency = home.get(category, TRIAGE)
        masses[agency] = masses.get(agency, 0.0) + score
    return masses


class _Routes:
    """The routes of one complaint under each category, each worked out when first asked for:
    a decision needs those of a few categories only, not of every one that scored."""

    __slots__ = ("_analysis", "_classifier", "_dossier_agency", "_known")

    def __init__(
        self, classifier: Classifier, analysis: _Analysis, dossier_agency: str | None
    ) -> None:
        self._classifier = classifier
        self._analysis = analysis
        self._dossier_agency = dossier_agency
        self._known: dict[str, tuple[str, str | None]] = {}

    def __getitem__(self, category_id: str) -> tuple[str, str | None]:
        """Return (agency or "triage", subject agency) of the complaint under a category."""
        route = self._known.get(category_id)
        if route is None:
            route = self._classifier._route(category_id, self._analysis, self._dossier_agency)
            self._known[category_id] = route
        return route


class Classifier:
    """Scores complaints against the directory's categories and applies the routing rules."""

    def __init__(
        self,
        categories: Sequence[CategoryConfig],
        agencies: Sequence[AgencyConfig],
        *,
        confidence_threshold: float = 0.55,
        wards: WardIndex | None = None,
        learned: LearnedModel | None = None,
        calibration: Calibration | None = None,
        measured_threshold: bool = True,
    ) -> None:
        self.learned = learned
        self.measured_threshold = measured_threshold
        self.calibration = calibration or Calibration()
        self.categories = {c.id: c for c in categories}
        self.agencies = {a.id: a for a in agencies}
        self.threshold = confidence_threshold
        self.wards = wards or WardIndex(())
        self.router = Router(categories, agencies, confidence_threshold=confidence_threshold)
        # The routing rules' categories and agency, as the config flags them.
        # Conduct: the agency named is the subject, not the recipient.
        self.conflict = frozenset(c.id for c in categories if c.conflict_of_interest)
        self.process = frozenset(c.id for c in categories if c.is_process)
        self.commune = next((a.id for a in agencies if a.commune_level), None)
        self.commune_level_of = (
            {ONE_STOP_DESK: self.commune}
            if self.commune and ONE_STOP_DESK in self.agencies
            else {}
        )
        self.fallback = next((c.id for c in categories if c.fallback), None) or next(
            (c.id for c in categories if c.agency is None), None
        )
        # the agency each category's complaints go to, before the rules look at the text
        self.home = {c.id: c.agency or TRIAGE for c in categories}
        self.keywords = _PhraseIndex()
        for category in categories:
            for keyword in category.keywords:
                self.keywords.add(keyword.phrase, category.id, keyword.weight)
            for keyword in category.negative_keywords:
                self.keywords.add(keyword.phrase, category.id, -abs(keyword.weight))
        self.names = _PhraseIndex()
        for agency in agencies:
            for alias in dict.fromkeys((agency.name, *agency.aliases)):
                self.names.add(alias, agency.id, 1.0)
        self.vocabulary = sorted(
            v for v in self.keywords.vocabulary | self.names.vocabulary if len(v) >= 3
        )
        self._known = frozenset(self.keywords.vocabulary | self.names.vocabulary)
        self._spelling: dict[str, str | None] = {}
        self._spelling_candidates: dict[int, list[str]] = {}

    @classmethod
    def from_config(
        cls, config: Config, *, learned: LearnedModel | None | bool = True
    ) -> Classifier:
        """Build the classifier once for a configuration (keywords, agencies, wards).

        `learned` is the learned model to combine with the keywords: True for the shipped
        weights, False for keywords only.
        """
        model = load_default() if learned is True else (learned or None)
        return cls(
            config.categories,
            config.agencies,
            confidence_threshold=config.triage.confidence_threshold,
            wards=WardIndex.for_province(config.hotline.province),
            learned=model,
            calibration=Calibration.shipped() if model is not None else None,
            measured_threshold=not config.triage.fixed_threshold,
        )

    @property
    def routing_threshold(self) -> float:
        """The confidence a proposal needs to be routed without the operators: the one
        measured on the province's own tickets when learning measured one (unless the config
        fixes it), else the config's; never above the config's."""
        learned = self.learned
        if learned is None or learned.threshold is None or not self.measured_threshold:
            return self.threshold
        return min(learned.threshold, self.threshold)

    def with_learned(self, learned: LearnedModel | None) -> Classifier:
        """Return this classifier with another learned model (a province's rows on top)."""
        other = copy.copy(self)
        other.learned = learned
        return other

    # -- public API --

    def classify(self, text: str, *, dossier_agency: str | None = None) -> Decision:
        """Decide the category and agency of one complaint."""
        analysis = self.analyse(text)
        return self._decide(analysis, dossier_agency)

    def route_as(
        self, text: str, category_id: str, *, dossier_agency: str | None = None
    ) -> Decision:
        """Route a complaint under a category a person chose, by the same rules and evidence.

        The confidence is 1.0: a person decided. Callers keep the machine's own where it matters.
        """
        analysis = self.analyse(text)
        category = self.categories.get(category_id)
        agency, subject = (
            self._route(category_id, analysis, dossier_agency) if category else (TRIAGE, None)
        )
        return Decision(
            category_id,
            agency,
            1.0,
            category.track if category else "pakn",
            analysis.ward.name if analysis.ward else None,
            subject,
            tuple(dict.fromkeys(analysis.evidence.get(category_id, ()))),
        )

    def suggestions(self, text: str) -> list[tuple[str, str, float]]:
        """Return the top 3 (category, agency, score) for the operators' triage view."""
        return list(self.classify(text).alternatives)

    def find_ward(self, text: str) -> str | None:
        """Return the official name of the commune/ward named in a text, if any."""
        mention = self.wards.find(normalize(text))
        return mention.name if mention else None

    # -- analysis --

    def analyse(self, text: str) -> _Analysis:
        """Normalise a complaint and collect keyword scores, agency and ward mentions."""
        norm = normalize(text)
        analysis = _Analysis(norm)
        if not norm.tokens:
            return analysis
        keys, credits = self._keys(norm)
        analysis.ward = self.wards.find(norm)
        scanned = self.keywords.scan(norm, keys, credits)
        # a name word inside a longer topic phrase is no name: "xã" in "bảo hiểm xã hội"
        analysis.mentions = [
            m
            for m in self._mentions(norm, keys, credits, analysis.ward)
            if not any(
                k.start <= m.start and m.end <= k.end and len(k.entry.tokens) > m.end - m.start
                for k in scanned
                if k.entry.weight > 0
            )
        ]
        analysis.staff_named = _speaks_of_staff(norm)
        analysis.people_named = analysis.staff_named or _speaks_of_service_people(norm)
        if self.learned is not None:
            analysis.learned = self.learned.score_tokens(norm.folded_tokens, norm.breaks)
        # Words that name an agency's people ("cán bộ địa chính", "officer at the tax office")
        # say who is complained about, not what about.
        staff_spans = [(m.start, m.end) for m in analysis.mentions if m.staff]
        topical = scanned
        if staff_spans:
            topical = [
                m
                for m in topical
                if not any(start <= m.start and m.end <= end for start, end in staff_spans)
            ]
        matches = _keep_longest(
            [m for m in topical if not (m.entry.owner in self.conflict and _negated(norm, m))]
        )
        # one phrase per category and span ("chưa giải quyết" with a skip inside "chưa được
        # giải quyết" is the same evidence), then each phrase once however often it occurs
        # who the writer is ("mẹ tôi nguyên là giáo viên", "I'm a teacher") is no topic when
        # the text is about something else ("ông tôi là thương binh" alone may be the topic)
        persona = {
            id(m)
            for m in matches
            if m.entry.weight > 0 and _introduces_person(norm.folded_tokens, m.start)
        }
        if persona:
            owners = {m.entry.owner for m in matches if id(m) in persona}
            if any(
                m.entry.weight > 0 and id(m) not in persona and m.entry.owner not in owners
                for m in matches
            ):
                matches = [
                    dataclasses.replace(m, similarity=m.similarity * PERSONA_DISCOUNT)
                    if id(m) in persona
                    else m
                    for m in matches
                ]
        per_span: dict[tuple[str, int, int], _Match] = {}
        for match in matches:
            span = (match.entry.owner, match.start, match.end)
            known = per_span.get(span)
            if known is None or _strength(known) < _strength(match):
                per_span[span] = match
        best: dict[tuple[str, str], tuple[float, _Entry]] = {}
        for match in per_span.values():
            key = (match.entry.owner, match.entry.phrase)
            if key not in best or best[key][0] < match.similarity:
                best[key] = (match.similarity, match.entry)
        analysis.keyword_spans = [(m.start, m.end) for m in matches if m.entry.weight > 0]
        by_owner: dict[str, list[tuple[float, _Entry]]] = {}
        for (owner, _), best_match in best.items():
            by_owner.setdefault(owner, []).append(best_match)
        for owner, found in by_owner.items():
            for similarity, entry in found:
                # "căn cước" adds nothing when "căn cước công dân" matched elsewhere
                if any(_contains(other.tokens, entry.tokens) for _, other in found):
                    continue
                size = min(len(entry.tokens), len(LENGTH_FACTOR) - 1)
                contribution = entry.weight * LENGTH_FACTOR[size] * similarity
                analysis.scores[owner] = analysis.scores.get(owner, 0.0) + contribution
                if contribution > 0:
                    analysis.evidence.setdefault(owner, []).append(entry.phrase)
        self._agency_hints(analysis)
        return analysis

    def _agency_hints(self, analysis: _Analysis) -> None:
        """Let an agency named as handler ("Đề nghị Sở GTVT lắp biển báo") support the
        categories it handles that the text already points to; not one named as the people
        complained about, not the commune (named in most addresses), and not a name whose
        words already count as a keyword ("bệnh viện")."""
        named = {
            m.agency
            for m in analysis.mentions
            if not m.staff
            and m.agency != self.commune
            and not any(s < m.end and m.start < e for s, e in analysis.keyword_spans)
        }
        for category_id, score in list(analysis.scores.items()):
            category = self.categories.get(category_id)
            if (
                score > 0
                and category is not None
                and category.agency in named
                and category_id not in self.conflict
            ):
                analysis.scores[category_id] = score + AGENCY_HINT

    def _keys(self, norm: NormalizedText) -> tuple[list[str], list[float]]:
        """Folded tokens to look up: unknown non-syllables repaired by spelling, an amount of
        money read as "tiền" ("đưa 5 triệu" is "đưa tiền", "kẹp 500k" is "kẹp tiền")."""
        stemmed = _stem_cache.get  # most words were stemmed before: no call for them
        keys = [stemmed(key) or _stem(key) for key in norm.folded_tokens]
        credits = [1.0] * len(keys)
        lookups = 0
        for index, key in enumerate(keys):
            if key[0].isdigit():
                if _MONEY.fullmatch(key) or (
                    index + 1 < len(keys) and keys[index + 1] in _MONEY_UNITS and key.isdigit()
                ):
                    keys[index] = MONEY_KEY
                    credits[index] = MONEY_CREDIT
                continue
            if key in self._known or len(key) < SPELLING_MIN_LENGTH or not key.isalpha():
                continue
            if key in self._spelling:
                repaired = self._spelling[key]
            elif lookups >= MAX_SPELLING_LOOKUPS or is_syllable(key):
                continue
            else:
                lookups += 1
                repaired = self._spell(key)
            if repaired is not None:
                keys[index] = repaired
                credits[index] = SPELLING_CREDIT
        return keys, credits

    def _spell(self, key: str) -> str | None:
        candidates = self._spelling_candidates.get(len(key))
        if candidates is None:
            candidates = spelling_candidates(self.vocabulary, len(key))
            self._spelling_candidates[len(key)] = candidates
        found = process.extractOne(
            key, candidates, scorer=fuzz.ratio, score_cutoff=SPELLING_CUTOFF
        )
        repaired = found[0] if found else None
        if len(self._spelling) > 100_000:
            self._spelling.clear()
        self._spelling[key] = repaired
        return repaired

    def _mentions(
        self,
        norm: NormalizedText,
        keys: list[str],
        credits: list[float],
        ward: WardMention | None,
    ) -> list[_Mention]:
        matches = _keep_longest(
            [
                m
                for m in self.names.scan(norm, keys, credits)
                if m.similarity >= MENTION_MIN_SIMILARITY
            ]
        )
        mentions: list[_Mention] = []
        for match in matches:
            agency = match.entry.owner
            if ward is not None and match.end <= ward.start <= match.end + 1:
                agency = self.commune_level_of.get(agency, agency)
            weight = ADDRESSEE_WEIGHT if self._addressed(norm, match.start) else 1.0
            staff = _staff_named(norm, match.start, match.end)
            mentions.append(_Mention(agency, match.start, match.end, weight, staff))
        if ward is not None and self.commune is not None:
            inside = any(m.start <= ward.start < m.end for m in mentions)
            if not inside:
                mentions.append(_Mention(self.commune, ward.start, ward.end, 0.6))
        return mentions

    @staticmethod
    def _addressed(norm: NormalizedText, start: int) -> bool:
        return any(_ADDRESSEE.at(norm, start - size, size) for size in (2, 1) if start >= size)

    # -- decision --

    def _ranking(self, analysis: _Analysis) -> list[tuple[str, float]]:
        """Categories by score; with clear process evidence, subject matter weighs less."""
        ranked = [(c, s) for c, s in analysis.scores.items() if s > 0 and c in self.categories]
        process = max((s for c, s in ranked if c in self.process), default=0.0)
        if process >= PROCESS_EVIDENCE:
            ranked = [(c, s if c in self.process else s * TOPIC_DISCOUNT) for c, s in ranked]
        ranked.sort(key=_SCORE, reverse=True)
        return ranked

    def _decide(self, analysis: _Analysis, dossier_agency: str | None) -> Decision:
        doubt = False  # conduct may be the complaint: the operators decide, not the machine
        ranked = self._ranking(analysis)
        routes = _Routes(self, analysis, dossier_agency)
        ward = analysis.ward.name if analysis.ward else None
        total = sum(s for _, s in ranked) + CONFIDENCE_PRIOR
        if not ranked or ranked[0][1] < MIN_EVIDENCE:
            category_id = self.fallback or (ranked[0][0] if ranked else "")
            confidence = 0.0
        else:
            category_id = ranked[0][0]
            confidence = self._keyword_confidence(ranked, routes)
        if analysis.learned is None:
            alternatives = tuple((c, routes[c][0], s / total) for c, s in ranked[:3])
            evidence = tuple(dict.fromkeys(analysis.evidence.get(category_id, ())))
        else:
            blended = self._blend(ranked, total, analysis.learned)
            signals = _signals(blended, analysis.learned, category_id, confidence, self.home)
            category_id = blended[0][0]
            confidence = self.calibration.confidence(signals)
            conduct = analysis.learned.conduct
            if conduct is not None and self.conflict and category_id not in self.conflict:
                if conduct >= CONDUCT_SWITCH:
                    category_id, confidence = self._as_conduct(blended, conduct)
                elif conduct >= CONDUCT_DOUBT or (
                    conduct >= CONDUCT_DOUBT_PEOPLE and analysis.people_named
                ):
                    doubt = True
            alternatives = tuple((c, routes[c][0], s) for c, s in blended[:3])
            evidence = tuple(dict.fromkeys(analysis.evidence.get(category_id, ())))
            phrases = analysis.learned.phrases(category_id)
            if phrases:
                evidence += (self._learned_evidence(phrases, category_id),)
            if conduct is not None and (conduct >= CONDUCT_DOUBT or doubt):
                cues = ", ".join(f"'{p}'" for p in analysis.learned.conduct_phrases())
                evidence += (f"conduct {conduct:.2f}: {cues}",)
        category = self.categories.get(category_id)
        track = category.track if category else "pakn"
        if category is None or category.agency is None:
            return Decision(
                category_id, TRIAGE, confidence, track, ward, None, evidence, alternatives
            )
        agency, subject = routes[category_id]
        if confidence < self.routing_threshold or doubt:
            agency = TRIAGE  # rule 4, on the proposal's own confidence
        return Decision(
            category_id, agency, confidence, track, ward, subject, evidence, alternatives
        )

    @staticmethod
    def _keyword_confidence(ranked: list[tuple[str, float]], routes: _Routes) -> float:
        """The keyword engine's own confidence in its top category."""
        category_id, top = ranked[0]
        # Only categories that would send the complaint elsewhere compete with the top one:
        # "ổ gà" and "quy hoạch" disagree on the category, not on the agency.
        agency = routes[category_id][0]
        # `ranked` is best first: the first one routed elsewhere is the best of them, and the
        # categories after it need no route.
        second = next((s for c, s in ranked[1:] if routes[c][0] != agency), 0.0)
        # a lone weak hint ("người già") is no reason to route, however alone it is
        strength = min(1.0, top / FULL_EVIDENCE)
        return strength * top / (top + second + CONFIDENCE_PRIOR)

    def signals(self, analysis: _Analysis) -> tuple[str, str, list[float]]:
        """Return the combined category, the agency it routes to and the signals calibration
        reads (for fitting it)."""
        assert analysis.learned is not None
        ranked = self._ranking(analysis)
        total = sum(s for _, s in ranked) + CONFIDENCE_PRIOR
        if not ranked or ranked[0][1] < MIN_EVIDENCE:
            keyword_top, confidence = self.fallback or "", 0.0
        else:
            routes = _Routes(self, analysis, None)
            keyword_top, confidence = ranked[0][0], self._keyword_confidence(ranked, routes)
        blended = self._blend(ranked, total, analysis.learned)
        category = blended[0][0]
        known = self.categories.get(category)
        agency = self._route(category, analysis, None)[0] if known and known.agency else TRIAGE
        signals = _signals(blended, analysis.learned, keyword_top, confidence, self.home)
        return category, agency, signals

    def _blend(
        self, ranked: list[tuple[str, float]], total: float, learned: LearnedScores
    ) -> list[tuple[str, float]]:
        """Combine the keyword shares with the learned probabilities, best first."""
        share = self.calibration.blend
        scores = {c: share * p for c, p in learned.probabilities.items() if c in self.categories}
        for c, s in ranked:
            scores[c] = scores.get(c, 0.0) + (1.0 - share) * s / total
        if not scores:
            return [(self.fallback or "", 0.0)]
        return sorted(scores.items(), key=_SCORE, reverse=True)

    def _as_conduct(self, blended: list[tuple[str, float]], conduct: float) -> tuple[str, float]:
        """The conduct category a complaint the detector hears as conduct is filed under,
        and the confidence: the detector's, shared among the conduct categories."""
        shares = [(c, s) for c, s in blended if c in self.conflict]
        if not shares:
            return next(iter(sorted(self.conflict))), 0.0
        total = sum(s for _, s in shares) or 1.0
        best, score = shares[0]
        return best, conduct * score / total

    def _learned_evidence(self, phrases: list[str], category_id: str) -> str:
        """Say which learned phrases decided and how many province tickets taught them."""
        assert self.learned is not None
        taught = sum(self.learned.tickets.get((p, category_id), 0) for p in phrases)
        quoted = ", ".join(f"'{p}'" for p in phrases)
        if taught:
            return f"learned: {quoted} → {category_id}, from {taught} tickets"
        return f"learned: {quoted} → {category_id}"

    def _route(
        self, category_id: str, analysis: _Analysis, dossier_agency: str | None
    ) -> tuple[str, str | None]:
        """Route one category through the routing rules: (agency or "triage", subject agency)."""
        category = self.categories[category_id]
        ward = analysis.ward.name if analysis.ward else None
        subject = None
        parties: frozenset[str] = frozenset()
        if category.conflict_of_interest and category.agency is not None:
            subject = self._accused(analysis, category.agency)
            parties = frozenset(m.agency for m in analysis.mentions if m.weight > ADDRESSEE_WEIGHT)
        route = self.router.route(
            category_id,
            subject_agency=subject,
            ward=ward,
            dossier_agency=dossier_agency,
            parties=parties,
        )
        if subject is None and not route.to_operators and self._accuses(analysis, route.agency):
            # a complaint about an agency's own staff never goes to that agency
            route = self.router.route(
                category_id, subject_agency=route.agency, ward=ward, dossier_agency=dossier_agency
            )
        return route.agency, route.subject_agency

    def _accuses(self, analysis: _Analysis, agency: str) -> bool:
        """Tell whether a complaint outside the conduct categories is about `agency`'s staff."""
        if not analysis.mentions:
            return False  # only an agency the complaint names can be the one it is about
        conduct = max((analysis.scores.get(c, 0.0) for c in self.conflict), default=0.0)
        if any(m.staff and m.agency == agency for m in analysis.mentions):
            # its staff spoken of, unless nothing in it sounds like conduct: "chị cán bộ BHXH
            # hướng dẫn rất nhiệt tình, nhưng trên ứng dụng vẫn không hiện 4 năm đóng"
            heard = analysis.learned.conduct if analysis.learned is not None else None
            return conduct > 0 or heard is None or heard >= CONDUCT_DOUBT_PEOPLE
        if conduct < CONDUCT_EVIDENCE:
            return False  # never enough, whatever the topic's score
        top = max(analysis.scores.values(), default=0.0)
        # with staff spoken of, conduct evidence need not outweigh the topic: "lên bảo hiểm xã
        # hội hỏi lương hưu, nhân viên ở đó nói ... xúc phạm" is about that agency's staff
        # without them, it must weigh half the topic, or be a clear sign itself: "Sở KH-CN trả
        # lời là không thuộc phạm vi hỗ trợ" about a portal fault told in many portal words
        needed = (
            CONDUCT_EVIDENCE
            if analysis.staff_named
            else max(CONDUCT_EVIDENCE, min(0.5 * top, CONDUCT_CLEAR))
        )
        return conduct >= needed and self._subject(analysis, agency) == agency

    def _accused(self, analysis: _Analysis, oversight: str) -> str | None:
        """The agency a conduct complaint is about: the one named or whose staff is named,
        else the one giving the service it is told inside ("đăng ký tạm trú", "sổ đỏ")."""
        named = self._subject(analysis, oversight)
        if named is not None:
            return named
        service = {
            c: s
            for c, s in analysis.scores.items()
            if s > 0 and c not in self.process and c in self.categories
        }
        if not service and analysis.learned is not None:
            service = {
                c: p
                for c, p in analysis.learned.probabilities.items()
                if p >= SERVICE_PROBABILITY and c not in self.process and c in self.categories
            }
        for category_id in sorted(service, key=service.__getitem__, reverse=True):
            agency = self.categories[category_id].agency
            if agency is not None and agency not in (oversight, self.commune):
                return agency
        return None

    def _subject(self, analysis: _Analysis, oversight: str) -> str | None:
        """Pick the agency the complaint is about among those named."""
        totals: dict[str, float] = {}
        first: dict[str, int] = {}
        for mention in analysis.mentions:
            totals[mention.agency] = totals.get(mention.agency, 0.0) + mention.weight
            first.setdefault(mention.agency, mention.start)
        if len(totals) > 1:
            totals.pop(oversight, None)
        if not totals:
            return None
        return max(totals, key=lambda a: (totals[a], -first[a]))
