"""Write a :class:`~patronage.reporting.report_model.Report` as an Excel workbook or as one
self-contained HTML file (the PDF is :mod:`patronage.reporting.report_pdf`).

Excel: one sheet per section, the header row styled, real number formats per column (percent,
``¥#,##0``, decimals), every text cell neutralised against formula injection
(:func:`patronage.reporting.render.neutralise`). HTML: inline CSS, charts as inline SVG, every
text escaped, no external address, so the file opens anywhere and mails as one attachment.
"""

from __future__ import annotations

import html
import io

from patronage.messages import N_, UserError
from patronage.reporting.render import escape_formula, neutralise
from patronage.reporting.report_model import Bars, Report, cell_text

FORMATS = ("xlsx", "html", "pdf")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8", "pdf": "application/pdf",
}
#: Excel number formats per column kind and decimals.
_EXCEL = {"integer": "#,##0", "money": "¥#,##0", "text": "@"}


def excel_format(kind: str, digits: int) -> str:
    """The Excel number format of a column: ``0.0%``, ``¥#,##0``, ``+0.0;-0.0;0.0``."""
    decimals = "." + "0" * digits if digits else ""
    if kind in _EXCEL:
        return _EXCEL[kind]
    if kind == "percent":
        return f"0{decimals}%"
    if kind == "signed":
        return f"+0{decimals};-0{decimals};0{decimals}"
    return f"#,##0{decimals}"


def write_report(report: Report, fmt: str) -> bytes:
    """The report as a file of ``fmt`` (``xlsx``, ``html`` or ``pdf``)."""
    if fmt == "xlsx":
        return report_xlsx(report)
    if fmt == "html":
        return report_html(report).encode("utf-8")
    from patronage.reporting.report_pdf import report_pdf

    return report_pdf(report)


def build_file(engine, fmt: str, *, survey: str | None = None, wave: str | None = None,
               language: str = "en", gettext=lambda s: s, filters=None) -> bytes:
    """Build the report of ``survey`` up to ``wave`` (on the responses the dashboard's
    ``filters`` keep) and write it as ``fmt``; an unknown survey or wave, or a PDF without a
    Chinese font, is a :class:`UserError` saying what to do."""
    from patronage.reporting.report_build import build_report, check_survey

    if fmt not in FORMATS:
        raise UserError(N_("Unknown report format {fmt!r}: choose pdf, xlsx or html."), fmt=fmt)
    check_survey(engine, survey)
    if fmt == "pdf":  # say so before computing anything
        from patronage.reporting.report_pdf import find_font

        find_font()
    return write_report(build_report(engine, survey, wave, language=language, gettext=gettext,
                                     filters=filters), fmt)


def _sheet_name(title: str, used: set) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    base, i = name, 2
    while name in used:
        name = f"{base[:28]} {i}"
        i += 1
    used.add(name)
    return name


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    book.remove(book.active)
    header_font, header_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid",
                                                                            fgColor="1F4E79")
    used: set = set()
    for section in report.sections:
        sheet = book.create_sheet(_sheet_name(section.title, used))
        sheet.append([escape_formula(section.title)])
        sheet.cell(1, 1).font = Font(bold=True, size=14)
        sheet.append([escape_formula(f"{report.labels.get('survey', 'Survey')}: {report.survey}"),
                      escape_formula(f"{report.labels.get('wave', 'Wave')}: {report.wave or ''}"),
                      escape_formula(report.labels.get("filters", ""))])  # a filtered report
        for kpi in section.kpis:
            sheet.append([escape_formula(kpi.label), kpi.value, "n", kpi.n])
            sheet.cell(sheet.max_row, 2).number_format = excel_format(kpi.kind, kpi.digits)
        for table in section.tables:
            sheet.append([])
            sheet.append([escape_formula(table.title)])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True)
            sheet.append([escape_formula(c.label) for c in table.columns])
            for col in range(1, len(table.columns) + 1):
                cell = sheet.cell(sheet.max_row, col)
                cell.font, cell.fill = header_font, header_fill
            safe = neutralise(table.frame.reset_index(drop=True))
            for row in safe.itertuples(index=False):
                sheet.append([_excel_value(v) for v in row])
                for col, column in enumerate(table.columns, start=1):
                    cell = sheet.cell(sheet.max_row, col)
                    cell.number_format = excel_format(column.kind, column.digits)
                    if column.kind == "text":
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
        for note in section.notes:
            sheet.append([escape_formula(note)])
        sheet.column_dimensions["A"].width = 36
        for letter in "BCDEFG":
            sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _excel_value(value):
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Zen Hei",sans-serif;
margin:0 auto;max-width:960px;padding:12px;color:#1b1b1b}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:2px solid #1f4e79;padding-bottom:4px}
h3{font-size:1rem}.kpis{display:flex;flex-wrap:wrap;gap:8px}
.kpi{border:1px solid #ccd;border-radius:6px;padding:8px 12px;min-width:140px}
.kpi b{display:block;font-size:1.4rem}.small{color:#a15c00}.note{color:#555}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem;margin:4px 0 12px}
th{background:#1f4e79;color:#fff;text-align:left;padding:4px 8px}
td{border-bottom:1px solid #dde;padding:4px 8px;vertical-align:top}td.num{text-align:right;
white-space:nowrap}svg{max-width:100%;height:auto}
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def bars_svg(chart: Bars, language: str) -> str:
    """A horizontal bar chart as inline SVG (labels escaped), zero line for signed values."""
    values = [float(v) if v == v and v is not None else 0.0 for v in chart.values]
    row, label_w, bar_w = 24, 200, 380
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0
    zero = label_w + (0 - lo) / span * bar_w
    height = row * len(values) + 30
    width = label_w + bar_w + 80
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_esc(chart.title)}">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{_esc(chart.title)}</text>']
    for i, (label, value, raw) in enumerate(zip(chart.labels, values, chart.values)):
        y = 24 + i * row
        x0 = zero if value >= 0 else zero - abs(value) / span * bar_w
        width = abs(value) / span * bar_w
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" '
                     f'text-anchor="end">{_esc(label)}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
                     f'fill="#2e75b6"/>')
        parts.append(f'<text x="{max(x0 + width, zero) + 4:.1f}" y="{y + 15}" font-size="12">'
                     f'{_esc(cell_text(raw, chart.kind, chart.digits, language))}</text>')
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="22" y2="{height - 4}" '
                 'stroke="#555"/></svg>')
    return "".join(parts)


def report_html(report: Report) -> str:
    lang = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}.get(report.language, "en")
    labels = report.labels
    out = [f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{_esc(report.title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_esc(report.title)}</h1>",
           f'<p class="note">{_esc(labels.get("survey", "Survey"))}: {_esc(report.survey)} · '
           f'{_esc(labels.get("wave", "Wave"))}: {_esc(report.wave or "–")} · '
           f'{_esc(labels.get("generated", "Generated"))}: '
           f'{_esc(report.generated_at.strftime("%Y-%m-%d %H:%M UTC"))}</p>']
    if labels.get("filters"):  # a filtered report says so first
        out.append(f'<p class="note" id="report-filters">{_esc(labels["filters"])}</p>')
    for section in report.sections:
        out.append(f'<section id="{_esc(section.key)}"><h2>{_esc(section.title)}</h2>')
        if section.kpis:
            out.append('<div class="kpis">')
            for kpi in section.kpis:
                value = cell_text(kpi.value, kpi.kind, kpi.digits, report.language)
                extra = "" if kpi.n is None else f"n = {kpi.n:,}"
                if kpi.change is not None:
                    extra += f" · {_esc(labels.get('change', 'change'))} " \
                             f"{cell_text(kpi.change, 'signed', kpi.digits)}"
                small = kpi.n is not None and kpi.n < 30
                out.append(f'<div class="kpi">{_esc(kpi.label)}<b>{_esc(value)}</b>'
                           f'<span>{_esc(extra)}</span>'
                           + (f'<div class="small">{_esc(labels.get("small", ""))}</div>'
                              if small else "") + "</div>")
            out.append("</div>")
        for chart in section.charts:
            out.append(f'<div class="scroll">{bars_svg(chart, report.language)}</div>')
        for table in section.tables:
            out.append(f'<h3>{_esc(table.title)}</h3><div class="scroll"><table><thead><tr>')
            out.extend(f"<th>{_esc(c.label)}</th>" for c in table.columns)
            out.append("</tr></thead><tbody>")
            for row in table.frame.itertuples(index=False):
                out.append("<tr>" + "".join(
                    f'<td{"" if c.kind == "text" else " class=num"}>'
                    f"{_esc(cell_text(v, c.kind, c.digits, report.language))}</td>"
                    for c, v in zip(table.columns, row)) + "</tr>")
            out.append("</tbody></table></div>")
        out.extend(f'<p class="note">{_esc(note)}</p>' for note in section.notes)
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


__all__ = ["FORMATS", "MEDIA_TYPES", "bars_svg", "build_file", "excel_format", "report_html",
           "report_xlsx", "write_report"]
