"""The scorecard as people read it: an aligned table, CSV, an Excel workbook and a PNG chart.

Renders a `bot.domain.reports.Scorecard`; every label comes from `handlers/messages.py`.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.reports import AgencyFigures, Month, Scorecard
from handlers.messages import LOCAL_TZ, fmt_datetime, t

FORMATS = ("table", "csv", "xlsx", "png")
MEDIA_TYPES = {
    "table": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
}
CHART_WIDTH_PX = 1600
CHART_DPI = 100
_CHART_TOP_PX, _CHART_ROW_PX, _CHART_BOTTOM_PX = 140, 44, 140


def month_label(month: Month) -> str:
    """Return the month as people write it: 11/2026."""
    return f"{month.month:02d}/{month.year}"


def _plain(key: str, lang: str, **values: Any) -> str:
    """Return a text without the HTML escaping meant for chats (files and terminals)."""
    return html.unescape(t(key, lang, **values))


@dataclass(frozen=True)
class Column:
    """One column of the scorecard: its label, how to read it from a row, what it holds."""

    label_key: str
    value: Callable[[AgencyFigures], Any]
    kind: str  # count, share, hours, rating, text


COLUMNS: tuple[Column, ...] = (
    Column("report.col.received", lambda r: r.received, "count"),
    Column("report.col.resolved", lambda r: r.resolved, "count"),
    Column("report.col.on_time", lambda r: r.on_time_share, "share"),
    Column("report.col.overdue", lambda r: r.overdue_now, "count"),
    Column("report.col.median_accept", lambda r: r.median_accept_hours, "hours"),
    Column("report.col.median_resolve", lambda r: r.median_resolve_hours, "hours"),
    Column("report.col.returns", lambda r: r.returns, "count"),
    Column("report.col.passed_around", lambda r: r.passed_around, "count"),
    Column("report.col.deemed", lambda r: r.deemed_accepted, "count"),
    Column("report.col.rating", lambda r: r.rating_mean, "rating"),
    Column("report.col.ratings", lambda r: r.ratings, "count"),
    Column("report.col.reopened", lambda r: r.reopened, "count"),
    Column("report.col.dossiers_late", lambda r: r.dossiers_late, "count"),
    Column("report.col.apology", lambda r: r.apology_slips, "count"),
)


def headers(lang: str) -> list[str]:
    """Return the header row: rank, agency, the figures, the note."""
    return [
        _plain("report.col.rank", lang),
        _plain("report.col.agency", lang),
        *(_plain(column.label_key, lang) for column in COLUMNS),
        _plain("report.col.note", lang),
    ]


def _text_value(value: Any, kind: str) -> str:
    """Format a figure for text and CSV: shares as percents, hours to 0.1, ratings to 0.01."""
    if value is None:
        return ""
    if kind == "share":
        return f"{value * 100:.1f}"
    if kind == "hours":
        return f"{value:.1f}"
    if kind == "rating":
        return f"{value:.2f}"
    return str(value)


def _note(row: AgencyFigures, lang: str) -> str:
    return _plain("report.low_volume", lang) if row.low_volume else ""


def text_rows(card: Scorecard, lang: str) -> list[list[str]]:
    """Return the header, every agency in rank order, and the totals row, as strings."""
    rows = [headers(lang)]
    for row in card.rows:
        rank = f"{row.rank}*" if row.low_volume else str(row.rank)
        values = [_text_value(column.value(row), column.kind) for column in COLUMNS]
        rows.append([rank, row.name, *values, _note(row, lang)])
    totals = [_text_value(column.value(card.totals), column.kind) for column in COLUMNS]
    rows.append(["", _plain("report.totals", lang), *totals, ""])
    return rows


def _title_lines(card: Scorecard, lang: str) -> list[str]:
    lines = [
        _plain("report.title", lang, month=month_label(card.month)),
        _plain("report.as_of", lang, at=fmt_datetime(card.as_of)),
    ]
    if card.empty:
        lines.append(_plain("report.empty", lang, month=month_label(card.month)))
    return lines


def render_table(card: Scorecard, lang: str = "vi") -> str:
    """Render an aligned text table for a terminal: names left, figures right."""
    rows = text_rows(card, lang)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    figures = range(2, 2 + len(COLUMNS))
    lines = _title_lines(card, lang) + [""]
    for index, row in enumerate(rows):
        if index:  # an empty figure reads better as a dash on a terminal
            row = [cell or ("—" if i in figures else "") for i, cell in enumerate(row)]
        cells = [
            cell.rjust(widths[i]) if i in figures or i == 0 else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * width for width in widths))
    if any(row.low_volume for row in card.rows):
        lines += ["", _plain("report.low_volume_note", lang, min=card.min_volume)]
    return "\n".join(lines) + "\n"


def render_csv(card: Scorecard, lang: str = "vi") -> bytes:
    """Render CSV in UTF-8 with a BOM (so Excel reads the diacritics), one header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(text_rows(card, lang))
    return buffer.getvalue().encode("utf-8-sig")


def _local(value: datetime) -> datetime:
    """Return a naive local time: Excel cells have no time zone."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None)


def render_xlsx(card: Scorecard, lang: str = "vi") -> bytes:
    """Render the workbook: the scorecard sheet, and a sheet of every overdue ticket.

    Written in openpyxl's write-only mode: rows stream out as they are made, so a month with
    25,000 overdue tickets takes seconds, not minutes.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_plain("report.sheet.scorecard", lang)[:31])
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    wrap = Alignment(wrap_text=True, vertical="center")
    formats = {"share": "0.0%", "hours": "0.0", "rating": "0.00", "count": "0"}

    def cell(target: Any, value: Any, *, fmt: str | None = None, strong: bool = False) -> Any:
        made = WriteOnlyCell(target, value=value)
        if fmt is not None:
            made.number_format = fmt
        if strong:
            made.font = bold
        return made

    def header_row(target: Any, labels: Sequence[str]) -> list[Any]:
        row = []
        for label in labels:
            made = cell(target, label, strong=True)
            made.fill = header_fill
            made.alignment = wrap
            row.append(made)
        return row

    head = headers(lang)
    # Sheet settings come before the first row in write-only mode.
    sheet.freeze_panes = "C2"
    sheet.row_dimensions[1].height = 45
    _fit_widths(
        sheet, head, get_column_letter, name_width=max((len(r.name) for r in card.rows), default=0)
    )
    sheet.append(header_row(sheet, head))
    for row in [*card.rows, card.totals]:
        is_total = row is card.totals
        name = _plain("report.totals", lang) if is_total else row.name
        figures = [
            cell(sheet, column.value(row), fmt=formats.get(column.kind), strong=is_total)
            for column in COLUMNS
        ]
        rank = None if is_total else row.rank
        sheet.append(
            [
                cell(sheet, rank, strong=is_total),
                cell(sheet, name, strong=is_total),
                *figures,
                cell(sheet, _note(row, lang), strong=is_total),
            ]
        )

    overdue = book.create_sheet(_plain("report.sheet.overdue", lang)[:31])
    overdue.freeze_panes = "A2"
    for index, width in enumerate((16, 36, 36, 18, 20), start=1):
        overdue.column_dimensions[get_column_letter(index)].width = width
    overdue_head = [
        _plain("report.col.code", lang),
        _plain("report.col.agency", lang),
        _plain("report.col.category", lang),
        _plain("report.col.due", lang),
        _plain("report.col.days_late", lang),
    ]
    overdue.append(header_row(overdue, overdue_head))
    triage = _plain("report.triage_queue", lang)
    for ticket in card.overdue:
        overdue.append(
            [
                ticket.code,
                ticket.agency_name or triage,
                ticket.category_name,
                cell(overdue, _local(ticket.due_at), fmt="dd/mm/yyyy hh:mm"),
                ticket.working_days_late,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fit_widths(
    sheet: Any, head: Sequence[str], letter: Callable[[int], str], name_width: int
) -> None:
    """Size the columns: the agency column to its longest name, figures to fit their header."""
    for index, label in enumerate(head, start=1):
        width = max(name_width, 12) + 2 if index == 2 else min(max(len(label) * 0.6, 8), 16)
        sheet.column_dimensions[letter(index)].width = width


def chart_size(agencies: int) -> tuple[int, int]:
    """Return the chart's size in pixels for that many agencies (one bar each)."""
    rows = max(agencies, 1)
    return CHART_WIDTH_PX, _CHART_TOP_PX + rows * _CHART_ROW_PX + _CHART_BOTTOM_PX


def render_png(card: Scorecard, lang: str = "vi") -> bytes:
    """Render the on-time share per agency, ranked, with counts and minimum-volume marks."""
    # A bare Figure on the Agg canvas: no pyplot state to leak between renders.
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = chart_size(len(card.rows))
    figure = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    # DejaVu Sans ships with matplotlib and has every Vietnamese letter: nothing is fetched.
    with rc_context({"font.family": "DejaVu Sans"}):
        axes = figure.add_axes(
            (
                0.30,
                _CHART_BOTTOM_PX / height,
                0.62,
                1 - (_CHART_TOP_PX + _CHART_BOTTOM_PX) / height,
            )
        )
        rows = list(card.rows)
        names = [f"{row.rank}. {row.name}{' *' if row.low_volume else ''}" for row in rows]
        shares = [(row.on_time_share or 0.0) * 100 for row in rows]
        colours = [
            "#b8c2cc" if row.low_volume else _share_colour(row.on_time_share) for row in rows
        ]
        positions = list(range(len(rows)))
        bars = axes.barh(positions, shares, color=colours, height=0.7)
        for bar, row in zip(bars, rows, strict=True):
            if row.low_volume:
                bar.set_hatch("//")
                bar.set_edgecolor("#7a8793")
            label = (
                f"{row.resolved_on_time}/{row.resolved}"
                if row.resolved
                else _plain("report.chart.none_resolved", lang)
            )
            if row.on_time_share is not None:
                label = f"{row.on_time_share * 100:.0f}% · {label}"
            axes.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, label, va="center")
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0, 115)
        axes.set_xticks([0, 20, 40, 60, 80, 100])
        axes.set_xlabel(_plain("report.chart.axis", lang))
        axes.spines[["top", "right"]].set_visible(False)
        month = month_label(card.month)
        figure.suptitle(
            _plain("report.chart.title", lang, month=month), fontsize=18, fontweight="bold"
        )
        notes = [_plain("report.as_of", lang, at=fmt_datetime(card.as_of))]
        if card.empty:
            notes.insert(0, _plain("report.empty", lang, month=month))
        if any(row.low_volume for row in rows):
            notes.append(_plain("report.low_volume_note", lang, min=card.min_volume))
        figure.text(0.02, 0.02, "\n".join(notes), fontsize=11, color="#444444")
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=CHART_DPI)
    return out.getvalue()


def _share_colour(share: float | None) -> str:
    if share is None:
        return "#b8c2cc"
    if share >= 0.9:
        return "#2e8b57"
    if share >= 0.7:
        return "#e0a526"
    return "#d64541"


RENDERERS: dict[str, Callable[[Scorecard, str], bytes]] = {
    "table": lambda card, lang: render_table(card, lang).encode("utf-8"),
    "csv": render_csv,
    "xlsx": render_xlsx,
    "png": render_png,
}


def render(card: Scorecard, fmt: str, lang: str = "vi") -> bytes:
    """Render the scorecard in one of FORMATS."""
    return RENDERERS[fmt](card, lang)


def leaders_caption(card: Scorecard, lang: str = "vi") -> str:
    """Return the chart's caption for the leaders' chat (HTML, Telegram's subset)."""
    share = card.totals.on_time_share
    return t(
        "report.leaders.caption",
        lang,
        month=month_label(card.month),
        received=card.totals.received,
        resolved=card.totals.resolved,
        on_time="—" if share is None else f"{share * 100:.1f}%",
        overdue=card.totals.overdue_now,
    )


def file_stem(card: Scorecard) -> str:
    """Return the generated files' name without extension: bang-diem-2026-11."""
    return f"bang-diem-{card.month}"
