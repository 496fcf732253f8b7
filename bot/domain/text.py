"""Vietnamese text normalisation for the classifier.

People write to a hotline the way they chat: with or without diacritics, with shorthand
("ko dc", "cb xã", "hs"), with Telex leftovers when the input method was off ("nhungx nhieeux"),
and in any Unicode form. `normalize` turns all of that into one canonical accented form and a
folded form (no diacritics, đ→d) that line up token by token.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import accumulate

__all__ = [
    "NormalizedText",
    "char_info",
    "clear_caches",
    "mark_similarity",
    "marks_compatible",
    "decode_telex",
    "fold_diacritics",
    "is_syllable",
    "normalize",
    "plain_is_word",
]

# --- character tables ----------------------------------------------------------------------

_SHAPED_VOWELS = "aăâeêioôơuưy"
# Combining tone marks in the order: none, sắc, huyền, hỏi, ngã, nặng.
_TONE_MARKS = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_TONE_KEYS = {"s": 1, "f": 2, "r": 3, "x": 4, "j": 5}
# Shape marks as (base letter, mark) so that partial diacritics can be compared.
_SHAPE_OF = {"ă": ("a", "("), "â": ("a", "^"), "ê": ("e", "^"), "ô": ("o", "^"), "ơ": ("o", "+")}
_SHAPE_OF |= {"ư": ("u", "+"), "đ": ("d", "-")}

# toned vowel -> (shaped vowel, tone); (shaped vowel, tone) -> toned vowel
_VOWEL_TONE: dict[str, tuple[str, int]] = {}
_COMPOSE: dict[tuple[str, int], str] = {}
for _vowel in _SHAPED_VOWELS:
    for _tone, _mark in enumerate(_TONE_MARKS):
        _char = unicodedata.normalize("NFC", _vowel + _mark)
        _VOWEL_TONE[_char] = (_vowel, _tone)
        _COMPOSE[(_vowel, _tone)] = _char

# char -> (ascii base, shape mark, tone) for every Vietnamese letter with a diacritic
_CHAR_INFO: dict[str, tuple[str, str, int]] = {"đ": ("d", "-", 0)}
for _char, (_vowel, _tone) in _VOWEL_TONE.items():
    _base, _shape = _SHAPE_OF.get(_vowel, (_vowel, ""))
    _CHAR_INFO[_char] = (_base, _shape, _tone)


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D", ord("ð"): "d", ord("Ð"): "D"}
    for start, end in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for code in range(start, end + 1):
            decomposed = unicodedata.normalize("NFD", chr(code))
            if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
                table[code] = decomposed[0]
    return table


_FOLD_TABLE = _build_fold_table()
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN = re.compile(r"[^\W_]+")
# A word, or punctuation that ends a clause (phrases are not matched across it; quotes are no
# break: "phải 'lo' thì mới ký"). `findall` gives the word, or "" for the punctuation.
_PIECE = re.compile(r"([^\W_]+)|[.,;:!?()\[\]{}…\n]+")
# Initialisms joined by "&" or "-" ("Sở KH&ĐT", "TN&MT", "LĐ-TB&XH", "GD-ĐT") are one
# abbreviation; with hyphens only, when no part is a syllable ("Tam-Hiệp" stays two words).
_JOINED_INITIALS = re.compile(r"\b[^\W\d_]{1,4}(?:[&-][^\W\d_]{1,4})+\b")
_JOINERS = re.compile(r"[&-]")


def fold_diacritics(text: str) -> str:
    """Remove diacritics (Vietnamese and other Latin ones) and turn đ into d; keep the case."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)
    if folded.isascii():
        return folded
    return _COMBINING.sub("", unicodedata.normalize("NFD", folded))


# --- syllable structure ----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_ONSETS = sorted(
    _words("ngh ng gh gi kh nh ph qu th tr ch b c d đ g h k l m n p r s t v x"),
    key=len,
    reverse=True,
)
# Rhymes without tone. "oong"/"ooc" exist (xoong, boong) but are rare enough that treating
# them as invalid lets "khoong", "coong" be repaired as Telex.
_RHYMES = frozenset(
    _words(
        """
        a ai ao au ay ac ach am an ang anh ap at
        ăc ăm ăn ăng ăp ăt
        âc âm ân âng âp ât âu ây
        e eo ec em en eng ep et
        ê êu êch êm ên ênh êp êt
        i ia iu ich im in inh ip it
        iêc iêm iên iêng iêp iêt iêu
        yêm yên yêng yêt yêu
        o oi oc om on ong op ot
        oa oai oay oac oach oam oan oang oanh oap oat
        oăc oăm oăn oăng oăt
        oe oeo oen oet oem
        ô ôi ôc ôm ôn ông ôp ôt
        ơ ơi ơm ơn ơp ơt
        u ua ui uc um un ung up ut
        uân uâng uât uây
        uê uênh uêch uơ
        uôc uôi uôm uôn uông uôt
        uy uya uych uyn uynh uyp uyt uyu uyên uyêt
        ư ưa ưi ưu ưc ưm ưn ưng ưt
        ươc ươi ươm ươn ương ươp ươt ươu
        y
        """
    )
)
_PLAIN_RHYMES = frozenset(fold_diacritics(r) for r in _RHYMES)
_PLAIN_ONSETS = sorted({fold_diacritics(o) for o in _ONSETS}, key=len, reverse=True)


def _strip_tone(token: str) -> tuple[str, list[int]]:
    """Return the token with tone marks removed and the tones found."""
    tones: list[int] = []
    chars: list[str] = []
    for char in token:
        info = _VOWEL_TONE.get(char)
        if info is None:
            chars.append(char)
            continue
        chars.append(info[0])
        if info[1]:
            tones.append(info[1])
    return "".join(chars), tones


def _rhyme_ok(onset: str, rest: str, rhymes: frozenset[str]) -> bool:
    if onset == "gi":
        return rest == "" or rest in rhymes or ("i" + rest) in rhymes
    return rest in rhymes


_ONSET_SET = frozenset(_ONSETS) | {""}
_PLAIN_ONSET_SET = frozenset(_PLAIN_ONSETS) | {""}
_ASCII_ONSET_SET = frozenset(o for o in _ONSETS if o.isascii()) | {""}
_MAX_ONSET = max(map(len, _ONSETS))


def _onset_and_rhyme(shape: str, onsets: frozenset[str], rhymes: frozenset[str]) -> bool:
    """Tell whether some onset (or none) begins `shape` and leaves a rhyme."""
    for size in range(min(len(shape), _MAX_ONSET) + 1):
        onset = shape[:size]
        if onset in onsets and _rhyme_ok(onset, shape[size:], rhymes):
            return True
    return False


_syllable_cache: dict[str, bool] = {}


def is_syllable(token: str) -> bool:
    """Tell whether a lower-case token is shaped like one Vietnamese syllable (tones ignored)."""
    known = _syllable_cache.get(token)
    if known is None:
        if not token:
            return False
        if token.isascii():
            known = _onset_and_rhyme(token, _PLAIN_ONSET_SET, _PLAIN_RHYMES)
        else:
            known = _onset_and_rhyme(_strip_tone(token)[0], _ONSET_SET, _RHYMES)
        if len(_syllable_cache) >= _CACHE_LIMIT:
            _syllable_cache.clear()
        _syllable_cache[token] = known
    return known


def _split_onset(shape: str) -> tuple[str, str]:
    for onset in _ONSETS:
        if shape.startswith(onset):
            rest = shape[len(onset) :]
            if onset in ("gi", "qu") and not any(c in _SHAPED_VOWELS for c in rest):
                # "gì", "gìn": the i is the vowel, not part of the onset
                return onset[0], shape[1:]
            return onset, rest
    return "", shape


def _place_tone(shape: str, tone: int) -> str:
    """Put the tone mark on the vowel Vietnamese spelling puts it on (traditional style)."""
    if tone == 0:
        return shape
    onset, rest = _split_onset(shape)
    end = 0
    while end < len(rest) and rest[end] in _SHAPED_VOWELS:
        end += 1
    cluster, final = rest[:end], rest[end:]
    if not cluster:
        return shape
    shaped = [i for i, c in enumerate(cluster) if c in "ăâêôơư"]
    if shaped:
        index = shaped[-1]
    elif len(cluster) == 1:
        index = 0
    elif final:
        index = len(cluster) - 1
    elif len(cluster) == 3:
        index = 1
    else:
        index = 0
    toned = _COMPOSE[(cluster[index], tone)]
    return onset + cluster[:index] + toned + cluster[index + 1 :] + final


def _canonical_tone(token: str) -> str:
    """Move a misplaced tone mark ("hoá" → "hóa", "thuỷ" → "thủy") to the canonical vowel."""
    shape, tones = _strip_tone(token)
    if len(tones) != 1 or not is_syllable(shape):
        return token
    return _place_tone(shape, tones[0])


_TELEX_TONE_INSIDE = re.compile(r"([aeiouyw])([sfrxj])(ch|nh|ng|c|m|n|p|t|i|y|o|u)$")
_UO_BEFORE_FINAL = re.compile(r"(?:uơ|ưo)(?=[cimnptu])")
# Loanwords that read as Telex ("gas" would become "gá").
_LOANWORDS = frozenset(
    _words(
        "gas bus tax fax vat sms ok app taxi visa atm pos usb wifi web email zalo facebook "
        "tiktok youtube shopee lazada grab online file pdf word excel camera game shop show"
    )
)


def decode_telex(token: str) -> str | None:
    """Decode a Telex leftover ("nhieeux" → "nhiễu"); None when the result is no syllable."""
    if not token.isascii() or token in _LOANWORDS or len(token) > 9:
        return None
    word = token
    tone = 0
    if len(word) >= 2 and word[-1] in _TONE_KEYS and any(c in "aeiouyw" for c in word[:-1]):
        tone = _TONE_KEYS[word[-1]]
        word = word[:-1]
    else:
        match = _TELEX_TONE_INSIDE.search(word)
        if match:
            tone = _TONE_KEYS[match.group(2)]
            word = word[: match.start(2)] + word[match.end(2) :]
    word = word.replace("dd", "đ").replace("aa", "â").replace("ee", "ê").replace("oo", "ô")
    word = word.replace("uw", "ư").replace("ow", "ơ").replace("aw", "ă").replace("w", "ư")
    word = _UO_BEFORE_FINAL.sub("ươ", word)
    if word == token or not is_syllable(word):
        return None
    return _place_tone(word, tone)


# --- shorthand -------------------------------------------------------------------------------

# Keys are folded (no diacritics), so "đc" and "dc" both expand.
_SHORTHAND: dict[str, str] = {
    # administrative abbreviations
    "tthc": "thủ tục hành chính",
    "ubnd": "ủy ban nhân dân",
    "hdnd": "hội đồng nhân dân",
    "cbcc": "cán bộ công chức",
    "cbccvc": "cán bộ công chức viên chức",
    "hs": "hồ sơ",
    "cb": "cán bộ",
    "nv": "nhân viên",
    "sdt": "số điện thoại",
    "gpxd": "giấy phép xây dựng",
    "dkkd": "đăng ký kinh doanh",
    "dkdn": "đăng ký doanh nghiệp",
    "hkd": "hộ kinh doanh",
    "mst": "mã số thuế",
    "tncn": "thu nhập cá nhân",
    "gtgt": "giá trị gia tăng",
    "hddt": "hóa đơn điện tử",
    "bhxh": "bảo hiểm xã hội",
    "bhyt": "bảo hiểm y tế",
    "bhtn": "bảo hiểm thất nghiệp",
    "cccd": "căn cước công dân",
    "cmnd": "chứng minh nhân dân",
    "cmt": "chứng minh thư",
    "qd": "quyết định",
    "lltp": "lý lịch tư pháp",
    "gcn": "giấy chứng nhận",
    "qsdd": "quyền sử dụng đất",
    "gcnqsdd": "giấy chứng nhận quyền sử dụng đất",
    "tnhh": "trách nhiệm hữu hạn",
    "cty": "công ty",
    "dn": "doanh nghiệp",
    "kd": "kinh doanh",
    "thpt": "trung học phổ thông",
    "thcs": "trung học cơ sở",
    "csgt": "cảnh sát giao thông",
    "pccc": "phòng cháy chữa cháy",
    "attp": "an toàn thực phẩm",
    "dvc": "dịch vụ công",
    "dvctt": "dịch vụ công trực tuyến",
    "hcc": "hành chính công",
    "kp": "khu phố",
    "tp": "thành phố",
    "tx": "thị xã",
    "hdld": "hợp đồng lao động",
    "nld": "người lao động",
    "bv": "bệnh viện",
    "bs": "bác sĩ",
    "gv": "giáo viên",
    "tnmt": "tài nguyên môi trường",
    "gtvt": "giao thông vận tải",
    "khdt": "kế hoạch đầu tư",
    "ldtbxh": "lao động thương binh xã hội",
    "tttt": "thông tin truyền thông",
    "khcn": "khoa học công nghệ",
    "gddt": "giáo dục đào tạo",
    "nnptnt": "nông nghiệp phát triển nông thôn",
    "qltt": "quản lý thị trường",
    "lh": "liên hệ",
    "dk": "đăng ký",
    "dky": "đăng ký",
    "dki": "đăng ký",
    "gpkd": "giấy phép kinh doanh",
    "gplx": "giấy phép lái xe",
    "kcn": "khu công nghiệp",
    "ccn": "cụm công nghiệp",
    "gxn": "giấy xác nhận",
    "gks": "giấy khai sinh",
    "cq": "cơ quan",
    "cqnn": "cơ quan nhà nước",
    "vp": "văn phòng",
    "nnmt": "nông nghiệp môi trường",
    "tnxh": "tệ nạn xã hội",
    "kq": "kết quả",
    "tk": "tài khoản",
    "cafe": "cà phê",
    "cf": "cà phê",
    # chat shorthand
    "ko": "không",
    "k": "không",
    "kh": "không",
    "kg": "không",
    "khg": "không",
    "hok": "không",
    "khum": "không",
    "k0": "không",
    "dc": "được",
    "j": "gì",
    "r": "rồi",
    "vs": "với",
    "mn": "mọi người",
    "tg": "thời gian",
    "h": "giờ",
    "v": "vậy",
    "bn": "bao nhiêu",
    "ntn": "như thế nào",
    "ng": "người",
    "nc": "nước",
    "ms": "mới",
    "cx": "cũng",
    "trc": "trước",
    "dt": "điện thoại",
    "wa": "quá",
    "lun": "luôn",
    "thg": "tháng",
    "lm": "làm",
    "nx": "nữa",
    "chx": "chưa",
    "nhiu": "nhiều",
    "ngta": "người ta",
    "ae": "anh em",
    "trg": "trường",
    "dg": "đường",
    "dag": "đang",
    "qa": "quá",
    "nhg": "nhưng",
    "mng": "mọi người",
    "tl": "trả lời",
    "dh": "đại học",
    "hnay": "hôm nay",
    "hqua": "hôm qua",
    "ns": "nói",
    "dj": "đi",  # "đj", "dj": i typed as j
}
# These are also units after a number ("10 kg", "8 h", "100 k").
_UNIT_LIKE = frozenset({"k", "kg", "h", "tr", "m", "dt"})
_ENGLISH_WORDS = frozenset(
    _words(
        "the a an and or of to in on at for from with by is are was were be been has have had "
        "do does did not no my our your their we i you he she it they this that these there "
        "what which who how why when where can could would should will please any some every "
        "me us them his her its after before about"
    )
)


def _looks_english(tokens: list[str], count: int | None = None) -> bool:
    """Tell whether words read as English; `count` is the number of words when `tokens` also
    holds non-words (never English words)."""
    hits = sum(map(_ENGLISH_WORDS.__contains__, tokens))
    return hits >= 2 and hits * 6 >= (len(tokens) if count is None else count)


# --- the normalised text ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A text in canonical accented form and folded form, token for token."""

    original: str
    accented: str
    folded: str
    tokens: tuple[str, ...]
    folded_tokens: tuple[str, ...]
    english: bool = False
    breaks: frozenset[int] = frozenset()  # indices of tokens that follow clause punctuation
    # indices of words typed without diacritics among words typed with them, that are words
    # as written ("nhà mang theo rác": "mang" is "mang", not "mạng")
    literal: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.tokens)


_EMPTY = NormalizedText("", "", "", (), (), False)
_CACHE_LIMIT = 200_000
_word_cache: dict[tuple[str, bool], tuple[str, ...]] = {}
_fold_cache: dict[str, str] = {}


def clear_caches() -> None:
    """Forget the per-word caches (for cold-start measurements)."""
    _word_cache.clear()
    _fold_cache.clear()
    _typing_cache.clear()
    _syllable_cache.clear()
    for cache in _piece_cache.values():
        cache.clear()


def _repair_word(token: str, english: bool) -> tuple[str, ...]:
    """Expand shorthand, repair Telex, canonicalise the tone of one token."""
    key = (token, english)
    cached = _word_cache.get(key)
    if cached is not None:
        return cached
    folded = fold_diacritics(token)
    expansion = _SHORTHAND.get(folded) if folded.isascii() else None
    if expansion is not None and not (english and len(folded) <= 2):
        result = tuple(expansion.split())
    elif token.isascii():
        repaired = None if english or is_syllable(token) else decode_telex(token)
        result = (repaired or token,)
    else:
        result = (_canonical_tone(token),)
    if len(_word_cache) >= _CACHE_LIMIT:
        _word_cache.clear()
    _word_cache[key] = result
    return result


def _fold_word(token: str) -> str:
    folded = _fold_cache.get(token)
    if folded is None:
        folded = fold_diacritics(token)
        if len(_fold_cache) >= _CACHE_LIMIT:
            _fold_cache.clear()
        _fold_cache[token] = folded
    return folded


def _join_initials(match: re.Match[str]) -> str:
    found = match.group(0)
    parts = _JOINERS.split(found)
    if "&" not in found and any(is_syllable(fold_diacritics(part)) for part in parts):
        return found
    return "".join(parts)


# Syllables ending in a stop consonant carry sắc or nặng: "mat", "nuoc" typed bare are
# missing marks, never words as written.
_STOP_FINALS = ("c", "ch", "p", "t")
LITERAL_WINDOW = 4  # typed words on each side that tell whether diacritics are being typed
LITERAL_MIN_ACCENTED = 2


def plain_is_word(token: str) -> bool:
    """Tell whether an ASCII token is a Vietnamese syllable exactly as written (level tone,
    no shape marks): "mang", "theo", "tin" are; "nuoc", "mat", "thue" need marks."""
    if not token.isascii() or not token.isalpha() or token.endswith(_STOP_FINALS):
        return False
    return _onset_and_rhyme(token, _ASCII_ONSET_SET, _RHYMES)


# What the typist did with one word: typed it with diacritics, typed it bare although it needs
# them, typed it bare and it is a word as written, or something else (numbers, shorthand...).
_ACCENTED, _MISSING, _PLAIN_WORD, _OTHER = range(4)


_typing_cache: dict[str, int] = {}


def _typing_of(piece: str, repaired: tuple[str, ...]) -> int:
    kind = _typing_cache.get(piece)
    if kind is None:
        kind = _classify_typing(piece, repaired)
        if len(_typing_cache) >= _CACHE_LIMIT:
            _typing_cache.clear()
        _typing_cache[piece] = kind
    return kind


def _classify_typing(piece: str, repaired: tuple[str, ...]) -> int:
    if not piece.isascii():
        return _ACCENTED if piece.isalpha() else _OTHER
    if repaired != (piece,) or not piece.isalpha():
        return _OTHER
    if plain_is_word(piece):
        return _PLAIN_WORD
    return _MISSING if is_syllable(piece) else _OTHER


def _literal_positions(kinds: list[int], where: list[int]) -> frozenset[int]:
    """Token indices of bare words that sit among words typed with diacritics and none typed
    bare although they need them: there the typist marks words, so a bare word is itself.

    `kinds` holds the typing of the words whose typing tells something (not `_OTHER`), `where`
    their token indices. The window around each word is counted with running totals, not
    rescanned.
    """
    accented = list(accumulate(map(_ACCENTED.__eq__, kinds), initial=0))
    missing = list(accumulate(map(_MISSING.__eq__, kinds), initial=0))
    count = len(kinds)
    literal: set[int] = set()
    for index, kind in enumerate(kinds):
        if kind != _PLAIN_WORD:
            continue
        low, high = max(0, index - LITERAL_WINDOW), min(count, index + LITERAL_WINDOW + 1)
        if (
            accented[high] - accented[low] >= LITERAL_MIN_ACCENTED
            and missing[high] == missing[low]
        ):
            literal.add(where[index])
    return frozenset(literal)


@dataclass(frozen=True, slots=True)
class _Word:
    """What normalisation makes of one typed word: its tokens, their folded forms and how it
    was typed (meaningful outside English text only)."""

    tokens: tuple[str, ...]
    folded: tuple[str, ...]
    typing: int


# One cache per language mode: piece -> _Word. Each piece's repair, folding and typing are
# pure functions of the piece, so one lookup replaces three cached calls per word.
_piece_cache: dict[bool, dict[str, _Word]] = {False: {}, True: {}}


def _make_word(piece: str, repaired: tuple[str, ...], english: bool) -> _Word:
    typing = _OTHER if english else _typing_of(piece, repaired)
    return _Word(repaired, tuple(_fold_word(t) for t in repaired), typing)


def _cache_word(cache: dict[str, _Word], piece: str, english: bool) -> _Word:
    """Normalise one word not seen yet and remember it."""
    word = _make_word(piece, _repair_word(piece, english), english)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[piece] = word
    return word


def _unit_word(piece: str, english: bool) -> _Word:
    """A unit after a number ("10 kg", "8 h") is kept as typed, never expanded."""
    return _make_word(piece, (piece,), english)


def normalize(text: str, *, english: bool | None = None) -> NormalizedText:
    """Normalise a message: NFC, lower case, shorthand expanded, Telex repaired, folded.

    `english` overrides the detection of English text (no Telex repair, no two-letter
    shorthand), e.g. for an English keyword too short to be recognised as English.
    """
    if not text:
        return _EMPTY
    lowered = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())
    if "&" in lowered or "-" in lowered:
        lowered = _JOINED_INITIALS.sub(_join_initials, lowered)
    pieces = _PIECE.findall(lowered)  # words, and "" for clause punctuation
    words = len(pieces) - pieces.count("")
    if not words:
        return NormalizedText(text, "", "", (), (), False)
    if english is None:
        english = _looks_english(pieces, words)
    tokens: list[str] = []
    folded: list[str] = []
    breaks: set[int] = set()
    # the typing and token index of the words whose typing tells (never in English text:
    # its words are all `_OTHER`)
    kinds: list[int] = []
    where: list[int] = []
    previous = ""
    known = _piece_cache[english]
    add_tokens, add_folded = tokens.extend, folded.extend  # bound once: the loop is hot
    for piece in pieces:
        if not piece:
            if tokens:
                breaks.add(len(tokens))
            continue
        if piece in _UNIT_LIKE and previous.isdigit():
            word = _unit_word(piece, english)
        else:
            word = known.get(piece) or _cache_word(known, piece, english)
        typing = word.typing
        if typing != _OTHER:
            kinds.append(typing)
            where.append(len(tokens))
        add_tokens(word.tokens)
        add_folded(word.folded)
        previous = piece
    literal = (
        _literal_positions(kinds, where)
        if _ACCENTED in kinds and _PLAIN_WORD in kinds
        else frozenset()
    )
    breaks.discard(len(tokens))  # punctuation at the end breaks nothing
    return NormalizedText(
        original=text,
        accented=" ".join(tokens),
        folded=" ".join(folded),
        tokens=tuple(tokens),
        folded_tokens=tuple(folded),
        english=english,
        breaks=frozenset(breaks),
        literal=literal,
    )


def char_info(char: str) -> tuple[str, str, int]:
    """Return (ascii base, shape mark, tone) of a letter; plain letters have no marks."""
    return _CHAR_INFO.get(char, (char, "", 0))


def marks_compatible(typed: str, reference: str) -> bool:
    """Tell whether `typed` is `reference` with some diacritics left out (none contradicting)."""
    return mark_similarity(typed, reference) >= MISSING_MARKS


MISSING_MARKS = 0.9
HOI_NGA = 0.75
MISPLACED_TONE = 0.8
MISSING_TONE = 0.5


def mark_similarity(typed: str, reference: str) -> float:
    """Score how well typed diacritics fit a word: 1 same, 0.9 some left out, 0.8 the right tone
    on the wrong vowel ("thúe"), 0.75 hỏi/ngã mixed up (a common spelling habit), 0.5 a word typed
    with diacritics but without its tone, 0 contradicting or a different word.

    A word typed with some diacritics but no tone mark is most often level tone ("thuê" is
    renting, not "thuế"), sometimes a forgotten tone ("mất nươc"): too weak alone to match a
    one-word phrase, enough inside a longer one.
    """
    if typed == reference:
        return 1.0
    if len(typed) != len(reference):
        return 0.0
    score = 1.0
    accented = not typed.isascii()
    misplaced = False
    typed_tone = reference_tone = 0
    for a, b in zip(typed, reference, strict=True):
        base_a, shape_a, tone_a = _CHAR_INFO.get(a, (a, "", 0))
        base_b, shape_b, tone_b = _CHAR_INFO.get(b, (b, "", 0))
        typed_tone = typed_tone or tone_a
        reference_tone = reference_tone or tone_b
        if a == b:
            continue
        if base_a != base_b or shape_a not in ("", shape_b):
            return 0.0
        if tone_a == tone_b or (tone_a == 0 and not accented):
            score = min(score, MISSING_MARKS)
        elif {tone_a, tone_b} == {3, 4}:
            score = min(score, HOI_NGA)
        elif tone_a == 0 or tone_b == 0:
            misplaced = True  # settled below, once both tones are known
        else:
            return 0.0
    if accented and reference_tone and not typed_tone:
        return min(score, MISSING_TONE)
    if misplaced:
        # the one tone of the syllable sits on another vowel; an extra tone does not
        return min(score, MISPLACED_TONE) if typed_tone == reference_tone else 0.0
    return score
