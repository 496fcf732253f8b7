"""Lookup or complaint: what a free-text message that names a dossier code asks for.

"mã hồ sơ của tôi là H23.22-…", "hồ sơ … tới đâu rồi" ask about the dossier: a lookup.
"hồ sơ … trễ hai tuần mà cán bộ cứ bảo chờ" complains about it: a complaint that follows the
dossier. Either way the presentation offers the other path one button away, so a wrong guess
costs the citizen one press.
"""

from __future__ import annotations

import re

from bot.domain.text import fold_diacritics

# A question about a dossier is short: past this many words (the code aside) it needs a cue.
LOOKUP_WORDS = 12
# The classifier's confidence in a complaint category that makes the message a complaint.
COMPLAINT_CONFIDENCE = 0.35

# Folded cues of a complaint about a dossier's handling: delay, being made to wait or come back,
# conduct. Whole words only ("tre" is not "tren").
_COMPLAINT_CUES = re.compile(
    r"\b(?:tre|cham|qua han|tre hen|tre han|lau qua|bao cho|bat cho|cu cho|hen lai|hen lan"
    r"|hen mai|hen hoai|mai chua|van chua|sao chua|chua giai quyet|chua tra|chua co ket qua"
    r"|nhung nhieu|gay kho|vong vo|boi duong|phong bi|lot tay|tien ca phe|doi tien|hach sach"
    r"|da qua da lai|do loi|bo be|bi tra ve|tra ho so|khong tiep nhan|phan anh|khieu nai|to cao"
    r"|late|delayed|overdue|still not|bribe|complain)\b"
)
# Folded cues of a question about the dossier's status.
_LOOKUP_CUES = re.compile(
    r"\b(?:toi dau|den dau|the nao roi|ra sao|bao gio|khi nao|tinh trang|trang thai|tra cuu"
    r"|kiem tra|xem giup|ma ho so|so ho so|status|where is|check|look up)\b"
)


def reads_as_lookup(text: str, codes: list[str], *, category: str, confidence: float) -> bool:
    """Tell whether a message naming dossier `codes` asks about them rather than complains.

    `category` and `confidence` are the classifier's reading of the same text; `category` is
    empty or the fallback category when it saw no complaint.
    """
    rest = text
    for code in codes:
        rest = re.sub(re.escape(code), " ", rest, flags=re.IGNORECASE)
    folded = " ".join(fold_diacritics(rest.lower()).split())
    if not folded.strip(" .,;:!?"):
        return True  # the code alone: nothing but a lookup
    if _COMPLAINT_CUES.search(folded):
        return False
    # a status question is a lookup whatever the classifier reads into "hồ sơ" (the learned
    # model has seen many late-dossier complaints start that way)
    if _LOOKUP_CUES.search(folded):
        return True
    if category and confidence >= COMPLAINT_CONFIDENCE:
        return False
    return len(folded.split()) <= LOOKUP_WORDS
