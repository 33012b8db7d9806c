"""Write a :class:`~patronage.reporting.report_model.Report` as PDF with reportlab, the Chinese
font embedded (subset) so the file reads the same on any machine, charts drawn as vectors.

reportlab reads TrueType outlines only, so the font is a TrueType CJK font found on the system:
``PATRONAGE_REPORT_FONT`` (a ``.ttf``/``.ttc`` file) or one of the usual files in the usual font
folders (WenQuanYi Zen Hei / Micro Hei from Debian's ``fonts-wqy-zenhei``/``fonts-wqy-microhei``,
Microsoft YaHei, SimHei). Without one a clear message says what to install.
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from patronage.messages import N_, UserError
from patronage.reporting.report_model import Bars, Report, cell_text

FONT_NAME = "PatronageCJK"
#: File names of TrueType fonts with Chinese glyphs, in order of preference.
FONT_FILES = ("wqy-zenhei.ttc", "wqy-microhei.ttc", "msyh.ttc", "msyh.ttf", "simhei.ttf",
              "NotoSansSC-Regular.ttf", "DroidSansFallbackFull.ttf")
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
              "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")


def find_font() -> Path:
    """The CJK TrueType font to embed (see the module docstring)."""
    chosen = os.environ.get("PATRONAGE_REPORT_FONT")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise UserError(N_("PATRONAGE_REPORT_FONT names {path}, which is not a file."),
                            path=str(path))
        return path
    for folder in _FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for name in FONT_FILES:
            found = next(iter(sorted(root.rglob(name))), None)
            if found:
                return found
    raise UserError(N_("No Chinese TrueType font found for the PDF: install one (Debian/Ubuntu: "
                       "apt-get install fonts-wqy-zenhei) or set PATRONAGE_REPORT_FONT to a .ttf "
                       "or .ttc file, or build the report as xlsx or html."))


@cache
def _register(path: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    kwargs = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, path, **kwargs))
    return FONT_NAME


def _chart(chart: Bars, font: str, language: str):
    """The bar chart as reportlab vector graphics."""
    from reportlab.graphics.shapes import Drawing, Line, Rect, String
    from reportlab.lib import colors

    values = [float(v) if v == v and v is not None else 0.0 for v in chart.values]
    row, label_w, bar_w = 18, 150, 260
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0
    zero = label_w + (0 - lo) / span * bar_w
    height = row * len(values) + 24
    drawing = Drawing(label_w + bar_w + 60, height)
    drawing.add(String(0, height - 12, chart.title, fontName=font, fontSize=10))
    for i, (label, value, raw) in enumerate(zip(chart.labels, values, chart.values)):
        y = height - 24 - (i + 1) * row
        width = abs(value) / span * bar_w
        x0 = zero if value >= 0 else zero - width
        drawing.add(String(label_w - 4, y + 5, str(label)[:24], fontName=font, fontSize=8,
                           textAnchor="end"))
        drawing.add(Rect(x0, y + 2, width, row - 5, fillColor=colors.HexColor("#2e75b6"),
                         strokeColor=None))
        drawing.add(String(max(x0 + width, zero) + 3, y + 5,
                           cell_text(raw, chart.kind, chart.digits, language), fontName=font,
                           fontSize=8))
    drawing.add(Line(zero, 0, zero, height - 20, strokeColor=colors.grey))
    return drawing


def report_pdf(report: Report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate
    from reportlab.platypus import Table as PdfTable
    from reportlab.platypus import TableStyle

    font = _register(str(find_font()))
    chinese = report.language.startswith("zh")
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12,
                          wordWrap="CJK" if chinese else None)
    styles = {"h1": ParagraphStyle("h1", parent=base, fontSize=18, leading=24, spaceAfter=6),
              "h2": ParagraphStyle("h2", parent=base, fontSize=14, leading=20, spaceBefore=10,
                                   spaceAfter=4, textColor=colors.HexColor("#1f4e79"),
                                   keepWithNext=1),
              "h3": ParagraphStyle("h3", parent=base, fontSize=11, leading=15, spaceBefore=6,
                                   keepWithNext=1),
              "cell": base, "num": ParagraphStyle("num", parent=base, alignment=2),
              "note": ParagraphStyle("note", parent=base,
                                                   textColor=colors.HexColor("#555555"))}

    def para(text, style="cell"):
        return Paragraph(escape(str(text)), styles[style])

    labels = report.labels
    story = [para(report.title, "h1"),
             para(f"{labels.get('survey', 'Survey')}: {report.survey} · "
                  f"{labels.get('wave', 'Wave')}: {report.wave or '–'} · "
                  f"{labels.get('generated', 'Generated')}: "
                  f"{report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}", "note")]
    if labels.get("filters"):  # a filtered report says so first
        story.append(para(labels["filters"], "note"))
    width = A4[0] - 30 * mm
    for section in report.sections:
        story.append(para(section.title, "h2"))
        if section.kpis:
            cells = []
            for kpi in section.kpis:
                text = f"{kpi.label}: {cell_text(kpi.value, kpi.kind, kpi.digits, report.language)}"
                if kpi.n is not None:
                    text += f" (n = {kpi.n:,})"
                if kpi.change is not None:
                    text += f" {labels.get('change', 'change')} " \
                            f"{cell_text(kpi.change, 'signed', kpi.digits)}"
                if kpi.n is not None and kpi.n < 30:
                    text += f" · {labels.get('small', '')}"
                cells.append([para(text)])
            story.append(PdfTable(cells, colWidths=[width]))
        for chart in section.charts:
            story.append(_chart(chart, font, report.language))
        for table in section.tables:
            story.append(para(table.title, "h3"))
            rows = [[para(c.label, "cell" if c.kind == "text" else "num")
                     for c in table.columns]]
            for row in table.frame.itertuples(index=False):
                rows.append([para(cell_text(v, c.kind, c.digits, report.language),
                                  "cell" if c.kind == "text" else "num")
                             for c, v in zip(table.columns, row)])
            text_cols = [c.kind == "text" for c in table.columns]
            narrow = 22 * mm
            wide = max(width - narrow * text_cols.count(False), 30 * mm) / max(
                text_cols.count(True), 1)
            grid = PdfTable(rows, colWidths=[wide if t else narrow for t in text_cols],
                            repeatRows=1, hAlign="LEFT")
            grid.setStyle(TableStyle([
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dbe5f1")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#ccccdd")),
                ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(grid)
        story.extend(para(note, "note") for note in section.notes)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=report.title,
                      lang=report.language).build(story)
    return out.getvalue()


__all__ = ["FONT_FILES", "find_font", "report_pdf"]
