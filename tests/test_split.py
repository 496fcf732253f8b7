"""The senders split long texts: Telegram's HTML at 4096 characters, Zalo's plain text at 2000."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.channels import zalo
from bot.channels.telegram import MAX_TEXT_LENGTH, split_html, split_reply
from bot.chat import Button, Reply

ANSWER = "Sở đã kiểm tra và vá toàn bộ ổ gà &amp; vỉa hè. "


class Balance(HTMLParser):
    """Check that every tag opened in a message is closed in it, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.broken = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.broken = True


def balanced(text: str) -> bool:
    parser = Balance()
    parser.feed(text)
    parser.close()
    return not parser.broken and not parser.stack


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_split_html_keeps_a_short_text_whole() -> None:
    assert split_html("<b>PA-2026-000001</b> đã tiếp nhận") == [
        "<b>PA-2026-000001</b> đã tiếp nhận"
    ]


def test_split_html_cuts_between_words_and_reopens_tags() -> None:
    text = "<b>Kết quả</b>\n<i>" + ANSWER * 300 + "</i>"
    parts = split_html(text)
    assert len(parts) > 1
    assert all(len(part) <= MAX_TEXT_LENGTH for part in parts)
    assert all(balanced(part) for part in parts)
    assert all(part.startswith("<i>") for part in parts[1:])
    # No entity cut in two, no word lost: the words read the same once the parts are joined.
    assert " ".join(visible(part) for part in parts).split() == visible(text).split()


def test_split_html_cuts_a_word_longer_than_a_message() -> None:
    parts = split_html("x" * 9000)
    assert [len(part) for part in parts] == [4096, 4096, 808]


def test_split_html_keeps_a_link_whole() -> None:
    link = '<a href="https://dichvucong.gov.vn/p/home">Cổng dịch vụ công</a>'
    parts = split_html(("chữ " * 1020) + link, limit=4096)
    assert any(link in part for part in parts)
    assert all(balanced(part) for part in parts)


def test_split_reply_labels_the_parts_after_the_first() -> None:
    label = "<i>(tiếp theo, PA-2026-000001)</i>\n"
    reply = Reply(ANSWER * 300, extra={"continued": label}, buttons=((Button("⭐5", "r:5"),),))
    parts = split_reply(reply)
    assert not parts[0].startswith(label)
    assert all(part.startswith(label) for part in parts[1:])
    assert all(len(part) <= MAX_TEXT_LENGTH for part in parts)


def test_zalo_split_labelled_fits_2000_with_its_label() -> None:
    pieces = zalo.split_labelled("Nội dung phản ánh dài. " * 300, "(tiếp theo, PA-2026-000001)\n")
    assert len(pieces) > 1
    assert all(len(piece) <= zalo.MAX_TEXT_LENGTH for piece in pieces)
    assert all(piece.startswith("(tiếp theo, PA-2026-000001)") for piece in pieces[1:])
