"""What a citizen can do in a private chat: look up dossiers, file and follow complaints."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

from rapidfuzz import fuzz

from bot.chat import Attachment, Button, Incoming, Reply
from bot.domain import dossiers
from bot.domain.intent import reads_as_lookup
from bot.domain.routing import TRIAGE
from bot.domain.text import fold_diacritics
from bot.domain.tickets import (
    Reporter,
    default_privacy,
    expected_resolution,
    latest_resolution,
    open_ticket,
    sla_hours_of,
)
from bot.domain.triage import Decision
from handlers import cards
from handlers import lookup as dossier_texts
from handlers.context import Context
from handlers.messages import Safe, fmt_date, fmt_datetime, t
from storage import dossiers as dossier_store
from storage import tickets as ticket_store
from storage.models import Dossier, Privacy, Ticket, TicketState

MIN_COMPLAINT_WORDS = 4
SIMILARITY_THRESHOLD = 82
PHONE_PATTERN = re.compile(r"(?:\+?84|0)(?:[\s.\-]?\d){8,10}")
TICKET_CODE_PATTERN = re.compile(r"\bPA-\d{4}-\d{6}\b", re.IGNORECASE)

# Dialog states of the complaint intake.
WRITING = "complaint:text"
CONFIRMING = "complaint:confirm"
CHOOSING = "complaint:category"
SIMILAR = "complaint:similar"
CONTACT = "complaint:contact"
PRIVACY = "complaint:privacy"
# A lookup answered from free text, with its text kept for the [file a complaint] button.
OFFERED = "complaint:offered"


def main_menu(lang: str) -> tuple[tuple[Button, ...], ...]:
    """Return the four main-menu buttons."""
    return (
        (
            Button(t("menu.lookup", lang), "m:lookup"),
            Button(t("menu.complain", lang), "m:complain"),
        ),
        (Button(t("menu.track", lang), "m:track"), Button(t("menu.help", lang), "m:help")),
    )


async def start(ctx: Context, msg: Incoming) -> list[Reply]:
    """Greet and show the main menu."""
    ctx.reset()
    hotline = ctx.config.hotline
    text = t("start", ctx.lang, hotline=hotline.name, province=hotline.province)
    return [Reply(text, buttons=main_menu(ctx.lang), remove_keyboard=True)]


async def help_(ctx: Context, msg: Incoming) -> list[Reply]:
    """Explain the commands and what the bot does not handle."""
    return [Reply(t("help", ctx.lang, phone=ctx.config.hotline.phone))]


async def unknown_command(ctx: Context, msg: Incoming) -> list[Reply]:
    """Answer an unknown command with the help."""
    return [Reply(t("unknown_command", ctx.lang)), *await help_(ctx, msg)]


async def set_language(ctx: Context, msg: Incoming) -> list[Reply]:
    """Switch the bot's language for this chat."""
    choice = msg.args.lower()
    if choice not in ("vi", "en"):
        return [Reply(t("lang.usage", ctx.lang))]
    ctx.lang = choice
    return [Reply(t("lang.set", ctx.lang))]


async def cancel(ctx: Context, msg: Incoming) -> list[Reply]:
    """Leave the current dialog."""
    had_dialog = bool(ctx.state)
    ctx.reset()
    key = "cancelled" if had_dialog else "nothing_to_cancel"
    return [Reply(t(key, ctx.lang), remove_keyboard=True)]


async def menu(ctx: Context, msg: Incoming) -> list[Reply]:
    """Handle a press on the main menu."""
    choice = (msg.callback_data or "").removeprefix("m:")
    if choice == "lookup":
        return [Reply(t("dossier.ask_code", ctx.lang))]
    if choice == "complain":
        ctx.enter(WRITING)
        return [Reply(t("complaint.ask_text", ctx.lang))]
    if choice == "track":
        return await _list_tickets(ctx, msg)
    return await help_(ctx, msg)


# --- dossier lookup -------------------------------------------------------------------------


async def lookup(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/hoso CODE [LAST4]`: show the dossier's card."""
    code, last4 = dossiers.parse_lookup_args(msg.args)
    if code is None:
        return [Reply(t("dossier.ask_code", ctx.lang))]
    return await _answer_lookup(ctx, msg, code, last4)


async def _answer_lookup(ctx: Context, msg: Incoming, code: str, last4: str | None) -> list[Reply]:
    return await dossier_texts.answer_lookup(
        session=ctx.session,
        config=ctx.config,
        channel=msg.channel,
        chat_id=msg.chat_id,
        user_id=msg.user_id,
        code=code,
        last4=last4,
        now=ctx.now,
        lang=ctx.lang,
    )


async def subscribe_dossier(ctx: Context, msg: Incoming) -> list[Reply]:
    """The [Theo dõi hồ sơ này] button of a verified card."""
    code = (msg.callback_data or "").removeprefix("dsub:")
    return await dossier_texts.subscribe(
        session=ctx.session,
        channel=msg.channel,
        chat_id=msg.chat_id,
        user_id=msg.user_id,
        code=code,
        now=ctx.now,
        lang=ctx.lang,
        config=ctx.config,
    )


async def unsubscribe_dossier(ctx: Context, msg: Incoming) -> list[Reply]:
    """The [🔕] button of a dossier card or notice."""
    return await dossier_texts.unsubscribe(
        session=ctx.session,
        channel=msg.channel,
        chat_id=msg.chat_id,
        code=(msg.callback_data or "").removeprefix("dunsub:"),
        lang=ctx.lang,
    )


# --- free text ------------------------------------------------------------------------------


async def free_text(ctx: Context, msg: Incoming) -> list[Reply]:
    """Text outside any dialog: a question about a dossier is a lookup; a complaint is proposed.

    Either way the other path is one button away.
    """
    if not msg.text.strip():
        return [Reply(t("empty_message", ctx.lang))]
    codes = dossiers.find_dossier_codes(msg.text)
    if len(msg.text.split()) < MIN_COMPLAINT_WORDS and not codes and not msg.attachments:
        return [Reply(t("too_short", ctx.lang), buttons=main_menu(ctx.lang))]
    attachments, location = _attachments_of(msg), _location_of(msg)
    if codes and not attachments:
        decision, _ = await _classify(ctx, msg.text)
        seen = "" if decision.category == ctx.config.fallback_category_id else decision.category
        if reads_as_lookup(msg.text, codes, category=seen, confidence=decision.confidence):
            return await _lookup_from_text(ctx, msg, codes[0])
    # A photo with a caption is a complaint with its evidence: keep both.
    return await _propose(ctx, msg, msg.text, attachments=attachments, location=location)


async def _lookup_from_text(ctx: Context, msg: Incoming, code: str) -> list[Reply]:
    """Answer the lookup a message asks for, offering to file it as a complaint instead."""
    _, last4 = dossiers.parse_lookup_args(msg.text)
    replies = await _answer_lookup(ctx, msg, code, last4)
    ctx.enter(OFFERED, text=msg.text)
    offer = Button(t("lookup.button.complain", ctx.lang), f"c:{ctx.nonce}:propose")
    return [*replies, Reply(t("lookup.or_complain", ctx.lang), buttons=((offer,),))]


async def press_a_button(ctx: Context, msg: Incoming) -> list[Reply]:
    """Text typed where the dialog waits for a button press."""
    return [Reply(t("dialog.press_button", ctx.lang))]


async def nothing_readable(ctx: Context, msg: Incoming) -> list[Reply]:
    """A sticker or an unsupported message outside a dialog."""
    return [Reply(t("empty_message", ctx.lang))]


# --- complaint intake -----------------------------------------------------------------------


async def complain(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/phananh [text]`: start a complaint, with its text if given."""
    if msg.args:
        return await _propose(
            ctx, msg, msg.args, attachments=_attachments_of(msg), location=_location_of(msg)
        )
    ctx.enter(WRITING)
    return [Reply(t("complaint.ask_text", ctx.lang))]


async def complaint_text(ctx: Context, msg: Incoming) -> list[Reply]:
    """The complaint's first message (text and/or files): files alone wait for the text."""
    attachments = _attachments_of(msg)
    location = _location_of(msg)
    if not msg.text.strip():
        if ctx.state != WRITING:
            ctx.enter(WRITING)
        ctx.data.setdefault("attachments", []).extend(attachments)
        if location:
            ctx.data["location"] = location
        return [Reply(t("complaint.ask_text", ctx.lang))]
    attachments = [*ctx.data.get("attachments", []), *attachments]
    location = location or ctx.data.get("location")
    return await _propose(ctx, msg, msg.text, attachments=attachments, location=location)


async def _propose(
    ctx: Context,
    msg: Incoming,
    text: str,
    *,
    attachments: list[dict[str, str]],
    location: list[float] | None,
) -> list[Reply]:
    decision, dossier = await _classify(ctx, text)
    codes = dossiers.find_dossier_codes(text)
    ctx.enter(
        CONFIRMING,
        text=text,
        attachments=attachments,
        location=location,
        category=decision.category,
        decision=_decision_to_data(decision),
        dossier=dossier.code if dossier else None,
        dossier_agency=dossier.agency_id if dossier else None,
        lookup_code=codes[0] if codes else None,
    )
    return [_proposal(ctx)]


async def _classify(ctx: Context, text: str) -> tuple[Decision, Dossier | None]:
    """Classify, telling the classifier which agency holds a dossier the text names."""
    for code in dossiers.find_dossier_codes(text):
        dossier = await dossier_store.get_dossier(session=ctx.session, code=code)
        if dossier is not None:
            return ctx.classifier.classify(text, dossier_agency=dossier.agency_id), dossier
    return ctx.classifier.classify(text), None


def _decision_to_data(decision: Decision) -> dict[str, Any]:
    return {
        "category": decision.category,
        "agency": decision.agency,
        "confidence": decision.confidence,
        "track": decision.track,
        "ward": decision.ward,
        "subject_agency": decision.subject_agency,
        "evidence": list(decision.evidence),
        "alternatives": [list(a) for a in decision.alternatives],
    }


def _decision_from_data(data: dict[str, Any]) -> Decision:
    return Decision(
        category=data["category"],
        agency=data["agency"],
        confidence=float(data["confidence"]),
        track=data["track"],
        ward=data.get("ward"),
        subject_agency=data.get("subject_agency"),
        evidence=tuple(data.get("evidence", ())),
        alternatives=tuple(tuple(a) for a in data.get("alternatives", ())),  # type: ignore[misc]
    )


def _routing(ctx: Context) -> tuple[str | None, str]:
    """Return (agency id or None for triage, the agency's display name) of the decision."""
    decision = ctx.data["decision"]
    agency_id = decision["agency"]
    if agency_id == TRIAGE or agency_id is None:
        return None, t("complaint.triage_agency", ctx.lang)
    if agency_id == ctx.config.commune_agency_id and decision.get("ward"):
        return agency_id, t("complaint.ward_agency", ctx.lang, ward=decision["ward"])
    agency = ctx.config.agency(agency_id)
    return agency_id, agency.name if agency else agency_id


def _proposal(ctx: Context) -> Reply:
    lang = ctx.lang
    category = ctx.config.category(ctx.data["category"])
    _, agency_name = _routing(ctx)
    due = expected_resolution(config=ctx.config, category_id=ctx.data["category"], now=ctx.now)
    evidence = ctx.data["decision"].get("evidence") or []
    evidence_line = (
        t("complaint.evidence", lang, phrases=", ".join(evidence[:5])) if evidence else ""
    )
    files = len(ctx.data.get("attachments", []))
    has_location = bool(ctx.data.get("location"))
    extras = (
        t(
            "complaint.extras",
            lang,
            files=files,
            location=Safe(t("complaint.extras_location", lang) if has_location else ""),
        )
        if files or has_location
        else ""
    )
    text = t(
        "complaint.proposal",
        lang,
        category=_category_name(
            ctx, category.id if category else ctx.config.fallback_category_id or ""
        ),
        agency=agency_name,
        due=fmt_date(due),
        evidence=Safe(evidence_line),
        extras=Safe(extras),
    )
    nonce = ctx.nonce
    buttons: tuple[tuple[Button, ...], ...] = (
        (
            Button(t("complaint.button.send", lang), f"c:{nonce}:send"),
            Button(t("complaint.button.change", lang), f"c:{nonce}:change"),
        ),
        (Button(t("complaint.button.cancel", lang), f"c:{nonce}:cancel"),),
    )
    if code := ctx.data.get("lookup_code"):
        lookup = Button(t("complaint.button.lookup", lang, code=code), f"c:{nonce}:lookup")
        buttons = (*buttons, (lookup,))
    return Reply(text, buttons=buttons)


def _category_name(ctx: Context, category_id: str) -> str:
    category = ctx.config.category(category_id)
    if category is None:
        return category_id
    return category.name_en if ctx.lang == "en" and category.name_en else category.name


async def complaint_more(ctx: Context, msg: Incoming) -> list[Reply]:
    """Files, a location or more text sent while the proposal is shown."""
    attachments = _attachments_of(msg)
    location = _location_of(msg)
    what = "text"
    if attachments:
        ctx.data.setdefault("attachments", []).extend(attachments)
        what = attachments[0]["kind"] if attachments[0]["kind"] == "photo" else "document"
    if location:
        ctx.data["location"] = location
        what = "location"
    if msg.text.strip():
        ctx.data["text"] = f"{ctx.data['text']}\n{msg.text}"
    if not (attachments or location or msg.text.strip()):
        return [Reply(t("empty_message", ctx.lang))]
    return [
        Reply(t("complaint.attached", ctx.lang, what=t(f"complaint.attached.{what}", ctx.lang)))
    ]


async def complaint_button(ctx: Context, msg: Incoming) -> list[Reply]:
    """Buttons of the intake dialog: `c:<nonce>:<action>[:<value>]`."""
    parts = (msg.callback_data or "").split(":")
    if len(parts) < 3 or parts[1] != ctx.nonce or not ctx.state.startswith("complaint:"):
        return [Reply(t("stale_button", ctx.lang))]
    action, value = parts[2], ":".join(parts[3:])
    lang = ctx.lang
    if action == "cancel":
        ctx.reset()
        return [Reply(t("cancelled", lang), remove_keyboard=True)]
    if action == "change" and ctx.state == CONFIRMING:
        ctx.move(CHOOSING)
        return [Reply(t("complaint.choose_category", lang), buttons=_category_buttons(ctx))]
    if action == "cat" and ctx.state == CHOOSING and ctx.config.category(value):
        _choose_category(ctx, value)
        ctx.move(CONFIRMING)
        return [_proposal(ctx)]
    if action == "lookup" and ctx.state in (CONFIRMING, CHOOSING) and ctx.data.get("lookup_code"):
        return await _answer_lookup(ctx, msg, ctx.data["lookup_code"], None)
    if action == "propose" and ctx.state == OFFERED:
        return await _propose(ctx, msg, ctx.data["text"], attachments=[], location=None)
    if action == "send" and ctx.state == CONFIRMING:
        similar = await _similar_open_ticket(ctx)
        if similar is not None:
            ctx.move(SIMILAR)
            ctx.data["similar"] = similar.code
            return [_similar_offer(ctx, similar)]
        return _ask_contact(ctx)
    if action == "follow" and ctx.state == SIMILAR:
        code = ctx.data.get("similar", "")
        ctx.reset()
        return [Reply(t("complaint.following_similar", lang, code=code))]
    if action == "new" and ctx.state == SIMILAR:
        return _ask_contact(ctx)
    if action == "anon" and ctx.state in (CONTACT, PRIVACY):
        return await _create(ctx, msg, Privacy.ANONYMOUS)
    if action == "priv" and ctx.state == PRIVACY and value in Privacy.__members__.values():
        return await _create(ctx, msg, Privacy(value))
    return [Reply(t("stale_button", lang))]


def _choose_category(ctx: Context, category_id: str) -> None:
    """The citizen's own category: routed by the same rules, the machine's confidence kept."""
    if category_id == ctx.data["category"]:
        return
    machine = _decision_from_data(ctx.data["decision"])
    chosen = ctx.classifier.route_as(
        ctx.data["text"], category_id, dossier_agency=ctx.data.get("dossier_agency")
    )
    ctx.data["category"] = category_id
    ctx.data["decision"] = _decision_to_data(
        dataclasses.replace(chosen, confidence=machine.confidence)
    )


def _category_buttons(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(_category_name(ctx, c.id)[:60], f"c:{ctx.nonce}:cat:{c.id}")
        for c in ctx.config.categories
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


async def _similar_open_ticket(ctx: Context) -> Ticket | None:
    since = ctx.now - timedelta(days=ctx.config.triage.similar_ticket_days)
    candidates = await ticket_store.list_recent_open_in_category(
        session=ctx.session, category_id=ctx.data["category"], since=since
    )
    mine = fold_diacritics(ctx.data["text"].lower())
    best: tuple[float, Ticket | None] = (0.0, None)
    for candidate in candidates:
        score = fuzz.token_set_ratio(mine, fold_diacritics(candidate.text.lower()))
        if score > best[0]:
            best = (score, candidate)
    return best[1] if best[0] >= SIMILARITY_THRESHOLD else None


def _similar_offer(ctx: Context, ticket: Ticket) -> Reply:
    lang = ctx.lang
    text = t(
        "complaint.similar",
        lang,
        code=ticket.code,
        category=_category_name(ctx, ticket.category_id),
        date=fmt_date(ticket.created_at),
        excerpt=_excerpt(ticket.text, 200),
    )
    buttons = (
        (Button(t("complaint.button.follow_similar", lang), f"c:{ctx.nonce}:follow"),),
        (Button(t("complaint.button.send_anyway", lang), f"c:{ctx.nonce}:new"),),
    )
    return Reply(text, buttons=buttons)


def _ask_contact(ctx: Context) -> list[Reply]:
    ctx.move(CONTACT)
    lang = ctx.lang
    return [
        Reply(
            t("complaint.ask_contact", lang),
            request_contact=True,
            extra={"keyboard_label": t("complaint.share_phone", lang)},
        ),
        Reply(
            t("complaint.or_anonymous", lang),
            buttons=((Button(t("complaint.button.anonymous", lang), f"c:{ctx.nonce}:anon"),),),
        ),
    ]


async def complaint_contact(ctx: Context, msg: Incoming) -> list[Reply]:
    """The reporter's contact: the shared-contact button, or a typed name and phone."""
    if msg.contact is not None:
        name = msg.contact.name or msg.user_name
        phone = msg.contact.phone
    else:
        match = PHONE_PATTERN.search(msg.text)
        if not match:
            return [Reply(t("complaint.bad_contact", ctx.lang))]
        phone = re.sub(r"[\s.\-]", "", match.group(0))
        name = (msg.text[: match.start()] + " " + msg.text[match.end() :]).strip(" ,;:-")
        name = name or msg.user_name
    ctx.data["name"] = name[:120]
    ctx.data["phone"] = phone[:20]
    ctx.move(PRIVACY)
    return [
        Reply(t("complaint.keyboard_closed", ctx.lang), remove_keyboard=True),
        Reply(
            t("complaint.ask_privacy", ctx.lang, name=ctx.data["name"], phone=ctx.data["phone"]),
            buttons=_privacy_buttons(ctx),
        ),
    ]


def _privacy_buttons(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    recommended = default_privacy(ctx.data["decision"].get("track", "pakn"))
    rows = []
    for choice in (Privacy.AGENCY, Privacy.OPERATORS, Privacy.ANONYMOUS):
        label = t(f"complaint.privacy.{choice.value}", ctx.lang)
        if choice == recommended:
            label += t("complaint.privacy.recommended", ctx.lang)
        rows.append((Button(label, f"c:{ctx.nonce}:priv:{choice.value}"),))
    return tuple(rows)


async def _create(ctx: Context, msg: Incoming, privacy: Privacy) -> list[Reply]:
    data = ctx.data
    anonymous = privacy == Privacy.ANONYMOUS
    reporter = Reporter(
        channel=msg.channel,
        chat_id=msg.chat_id,
        user_id=msg.user_id,
        language=ctx.lang,
        name="" if anonymous else data.get("name", ""),
        phone="" if anonymous else data.get("phone", ""),
        privacy=privacy,
    )
    agency_id, agency_name = _routing(ctx)
    # The ticket carries the routing shown (the citizen's own category included).
    decision = _decision_from_data(data["decision"])
    location = data.get("location")
    ticket = await open_ticket(
        session=ctx.session,
        config=ctx.config,
        reporter=reporter,
        text=data["text"],
        decision=decision,
        category_id=data["category"],
        now=ctx.now,
        attachments=data.get("attachments", []),
        location=(location[0], location[1]) if location else None,
        dossier_code=data.get("dossier"),
    )
    ctx.reset()
    confirmation = _receipt(ctx, ticket, agency_name)
    if msg.channel == "zalo_oa" and not ctx.config.zalo_oa.proactive:
        # Zalo OA (issue 11): notices reach the citizen only within 48 h of their last message.
        confirmation += t("zalo_oa.follow_up_hint", ctx.lang, code=ticket.code)
    replies = [Reply(confirmation, remove_keyboard=True, ticket_id=ticket.id)]
    attachments = [Attachment(**item) for item in data.get("attachments", [])]
    replies.extend(cards.ticket_cards(ctx.config, ticket, attachments))
    return replies


def _receipt(ctx: Context, ticket: Ticket, agency_name: str) -> str:
    """Say the ticket's code and deadlines; a queued one's routing clock apart from its due."""
    category = _category_name(ctx, ticket.category_id)
    if ticket.state == TicketState.TRIAGE and ticket.triage_due_at is not None:
        return t(
            "complaint.created_triage",
            ctx.lang,
            code=ticket.code,
            category=category,
            route_by=fmt_datetime(ticket.triage_due_at),
            hours=f"{sla_hours_of(ctx.config, ticket.category_id):g}",
            due=fmt_datetime(latest_resolution(ticket, ctx.config)),
        )
    return t(
        "complaint.created",
        ctx.lang,
        code=ticket.code,
        category=category,
        agency=agency_name,
        due=fmt_datetime(ticket.resolve_due_at),
    )


def _attachments_of(msg: Incoming) -> list[dict[str, str]]:
    return [
        {"kind": a.kind, "file_id": a.file_id, "file_name": a.file_name, "mime_type": a.mime_type}
        for a in msg.attachments
        if a.kind in ("photo", "document", "video", "voice")
    ]


def _location_of(msg: Incoming) -> list[float] | None:
    return [msg.location.latitude, msg.location.longitude] if msg.location else None


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- following complaints -------------------------------------------------------------------


async def track(ctx: Context, msg: Incoming) -> list[Reply]:
    """`/theodoi [CODE]`: my complaints, one in detail, or subscribe to a dossier."""
    match = TICKET_CODE_PATTERN.search(msg.args)
    if match:
        return await _ticket_detail(ctx, msg, match.group(0).upper())
    codes = dossiers.find_dossier_codes(msg.args)
    if codes:
        return await dossier_texts.subscribe(
            session=ctx.session,
            channel=msg.channel,
            chat_id=msg.chat_id,
            user_id=msg.user_id,
            code=codes[0],
            now=ctx.now,
            lang=ctx.lang,
            config=ctx.config,
        )
    return await _list_tickets(ctx, msg)


async def _list_tickets(ctx: Context, msg: Incoming) -> list[Reply]:
    tickets = await ticket_store.list_reporter_tickets(
        session=ctx.session, channel=msg.channel, chat_id=msg.chat_id
    )
    if not tickets:
        return [Reply(t("track.none", ctx.lang))]
    lines = [t("track.list_header", ctx.lang)]
    for ticket in tickets:
        lines.append(
            t(
                "track.item",
                ctx.lang,
                code=ticket.code,
                state=t(f"state.{ticket.state}", ctx.lang),
                category=_category_name(ctx, ticket.category_id),
                due=fmt_date(ticket.resolve_due_at or ticket.triage_due_at),
            )
        )
    return [Reply("\n".join(lines))]


async def _ticket_detail(ctx: Context, msg: Incoming, code: str) -> list[Reply]:
    ticket = await ticket_store.get_ticket_by_code(session=ctx.session, code=code)
    if ticket is None or (ticket.channel, ticket.chat_id) != (msg.channel, msg.chat_id):
        return [Reply(t("track.not_found", ctx.lang, code=code))]
    agency = ctx.config.agency(ticket.agency_id) if ticket.agency_id else None
    answer = t("track.answer", ctx.lang, answer=ticket.answer) if ticket.answer else ""
    text = t(
        "track.detail",
        ctx.lang,
        code=ticket.code,
        state=t(f"state.{ticket.state}", ctx.lang),
        category=_category_name(ctx, ticket.category_id),
        agency=agency.name if agency else t("complaint.triage_agency", ctx.lang),
        created=fmt_datetime(ticket.created_at),
        due=fmt_datetime(ticket.resolve_due_at or ticket.triage_due_at),
        excerpt=_excerpt(ticket.text, 500),
        answer=Safe(answer),
    )
    return [Reply(text)]
