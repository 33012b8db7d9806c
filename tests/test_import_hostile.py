"""Hostile and broken files given to ``patronage import``.

Each file must give a clear message (what is wrong, where, what to do), a non-zero exit code, no
traceback and nothing written, on SQLite and on PostgreSQL. The files are built here, byte by
byte: garbage named .xlsx, empty files, a zip that is not a workbook, CR-only line endings, a
damaged shared-string table, unterminated quotes, mixed encodings, NUL bytes, huge cells and
decompression bombs.
"""

from __future__ import annotations

import struct
import time
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from patronage.cli import main
from patronage.storage.importing import import_file
from patronage.storage.importing.damage import mixed_encoding
from patronage.storage.importing.reading import MAX_XLSX_UNZIPPED_BYTES
from patronage.storage.schema import customers

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _parts(sheet_xml: str, strings: list[str], shared_xml: str | None = None) -> dict[str, str]:
    """The parts of a minimal workbook with one sheet and a shared-string table."""
    shared = shared_xml or (f'<?xml version="1.0"?><sst xmlns="{_MAIN}">'
                            + "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
            "</Types>"),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"),
        "xl/sharedStrings.xml": shared,
        "xl/worksheets/sheet1.xml": sheet_xml,
    }


def _sheet(rows: list[list[str]], *, padding: int = 0) -> str:
    """Sheet XML whose cells are shared-string references (``<v>`` text as given)."""
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(f'<c r="{chr(65 + i)}{r}" t="s"><v>{v}</v></c>' for i, v in enumerate(row))
        body.append(f'<row r="{r}">{cells}</row>')
    return (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData>{"".join(body)}'
            + " " * padding + "</sheetData></worksheet>")


def write_xlsx(path, rows, strings=("customer_id", "name", "C1", "A"), **kw):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _parts(_sheet(rows), list(strings), **kw).items():
            archive.writestr(name, text)
    return path


def _declare_size(path, member: str, size: int) -> None:
    """Rewrite the uncompressed size a zip declares for ``member`` (local and central headers),
    as a decompression bomb's headers would state it."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    position = 0
    while (position := data.find(b"PK\x01\x02", position)) >= 0:
        length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46: position + 46 + length]).decode() == member:
            struct.pack_into("<I", data, position + 24, size)
        position += 4
    path.write_bytes(bytes(data))


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(customers)).scalar_one()


def run_import(db_url, path, *extra):
    result = CliRunner().invoke(main, ["import", "customers", str(path), "--db", db_url, *extra])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def refused(db_url, engine, path, *needles):
    """Both a dry run and a real import exit non-zero with every needle in the message, and
    nothing is written."""
    for extra in (("--dry-run",), ()):
        result = run_import(db_url, path, *extra)
        assert result.exit_code != 0, result.output
        for needle in needles:
            assert needle in result.output, result.output
    assert count(engine) == 0
    return result.output


# --- files that cannot be read at all -----------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "needle"), [
    ("garbage.xlsx", bytes(range(256)) * 4, "not an Excel .xlsx workbook"),
    ("empty.xlsx", b"", "is empty"),
    ("empty.csv", b"", "is empty"),
    ("blank.csv", b"\n\n  \n", "is empty"),
    ("dir.csv", None, "is a directory"),
])
def test_unreadable_files_give_a_message_not_a_traceback(db_url, engine, tmp_path, name,
                                                         content, needle):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    output = refused(db_url, engine, path, needle)
    assert name in output or "empty" in output


def test_a_zip_that_is_not_a_workbook(db_url, engine, tmp_path):
    path = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    refused(db_url, engine, path, "notes.xlsx", "not an Excel .xlsx workbook",
            "save it again from Excel")


def test_missing_file_exits_non_zero_without_traceback(db_url, engine, tmp_path):
    refused(db_url, engine, tmp_path / "nope.csv", "file not found")


# --- damaged workbooks --------------------------------------------------------------------------

@pytest.mark.parametrize("reference", ["99", "-1", "x"])
def test_bad_shared_string_index(db_url, engine, tmp_path, reference):
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", reference]])
    refused(db_url, engine, path, "c.xlsx", "damaged", "row 2")


def test_a_good_minimal_workbook_imports(db_url, engine, tmp_path):
    """The hand-built workbook of the tests above is fine when its references are."""
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", "3"]])
    result = run_import(db_url, path)
    assert result.exit_code == 0, result.output
    assert count(engine) == 1


def test_xml_entity_bomb_in_a_workbook(db_url, engine, tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(8))
              + f']><sst xmlns="{_MAIN}"><si><t>customer_id</t></si><si><t>name</t></si>'
              "<si><t>C1</t></si><si><t>&i;</t></si></sst>")
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", "3"]], shared_xml=laughs)
    refused(db_url, engine, path, "c.xlsx")


def test_decompression_bomb_is_refused_before_it_is_unpacked(db_url, engine, tmp_path):
    path = write_xlsx(tmp_path / "bomb.xlsx", [["0", "1"], ["2", "3"]])
    _declare_size(path, "xl/worksheets/sheet1.xml", MAX_XLSX_UNZIPPED_BYTES + 1)
    output = refused(db_url, engine, path, "bomb.xlsx", "unpacks to more than")
    assert len(output) < 1000


def test_a_real_bomb_is_refused_by_its_compression_ratio(db_url, engine, tmp_path):
    """A sheet padded with 60 MB of blanks zips to 60 kB: a ratio of 1000 no spreadsheet has
    (a sheet of 200,000 identical rows zips 13 to 1). Refused before it is unpacked; openpyxl
    spent 10 s and 600 MB on a 200 MB one."""
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _parts(_sheet([["0", "1"], ["2", "3"]], padding=60_000_000),
                                 ["customer_id", "name", "C1", "A"]).items():
            archive.writestr(name, text)
    assert path.stat().st_size < 200_000
    refused(db_url, engine, path, "bomb.xlsx", "compressed", "xl/worksheets/sheet1.xml", "zip bomb")


def test_the_size_bound_can_be_set(engine, tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", "3"]])
    with pytest.raises(ValueError, match="unpacks to more than 1,000 bytes"):
        import_file(engine, "customers", path, max_unzipped_bytes=1000)
    assert import_file(engine, "customers", path).inserted == 1


def test_understated_sizes_are_a_damaged_file(db_url, engine, tmp_path):
    """A zip that states a smaller size than its data unpacks to is damaged, not read past."""
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", "3"]])
    _declare_size(path, "xl/worksheets/sheet1.xml", 40)
    refused(db_url, engine, path, "c.xlsx")


def test_excel_error_cells_are_refused(db_url, engine, tmp_path):
    path = tmp_path / "c.xlsx"
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="e"><v>#N/A</v></c></row>'
             "</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in _parts(sheet, ["customer_id", "name", "C1"]).items():
            archive.writestr(name, text)
    refused(db_url, engine, path, "line 2, column name: '#N/A'", "Excel error")


# --- text files ---------------------------------------------------------------------------------

def test_cr_only_line_endings(db_url, engine, tmp_path):
    """Old Mac line endings (CR alone) read like any other, with the right line numbers."""
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,name\rC1,A\rC2,\rC3,C\r")
    refused(db_url, engine, path, "line 3, column name")
    path.write_bytes(b"customer_id,name\rC1,A\rC2,B\r")
    result = run_import(db_url, path)
    assert result.exit_code == 0, result.output
    assert count(engine) == 2


def test_unterminated_quote_at_the_end_of_the_file(db_url, engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b'customer_id,name\nC1,A\nC2,"B\nC3,C\nC4,D\n')
    refused(db_url, engine, path, "line 3", "quote", "never closed")


def test_unterminated_quote_does_not_swallow_the_next_rows(db_url, engine, tmp_path):
    """A quote closed lines later and followed by text ran the rows between into one cell."""
    path = tmp_path / "c.csv"
    path.write_bytes(b'customer_id,name\nC1,"A\nC2,B\nC3,"C"\nC4,D\n')
    refused(db_url, engine, path, "line 2", "line 4", "quote")


def test_a_proper_multi_line_cell_still_imports(db_url, engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b'customer_id,name,note\nC1,A,"two\nlines, fine"\nC2,"B ""the"" b",x\n')
    result = run_import(db_url, path)
    assert result.exit_code == 0, result.output
    assert count(engine) == 2


def test_mixed_utf8_and_gb18030_lines(db_url, engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("customer_id,name\nC1,张三\n".encode("utf-8")
                     + "C2,李四\nC3,王五\n".encode("gb18030"))
    refused(db_url, engine, path, "mixes", "UTF-8", "line 2", "line 3")


def test_a_gb18030_file_is_not_taken_for_mixed(db_url, engine, tmp_path):
    """Three-character names from 52 common surnames and 34 given-name characters (six of them
    outside GB2312, as in many names): 194 of these 45,056 GB18030 lines happen to be valid
    UTF-8, and none of them is taken for a UTF-8 line."""
    surnames = ("赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
                "孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛")
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂喆玥珺昇堃琇婕翀"
    names = [s + a + b for s in surnames for a in given for b in given]
    raw = "\n".join(f"C{i},{name}" for i, name in enumerate(names)).encode("gb18030")
    valid = 0
    for line in raw.split(b"\n"):
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            pass
    assert valid == 194
    assert mixed_encoding(b"customer_id,name\n" + raw, 0) is None
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,name\n" + b"\n".join(raw.split(b"\n")[::150]) + b"\n")
    result = run_import(db_url, path)
    assert result.exit_code == 0, result.output
    assert "encoding gb18030" in result.output


def test_nul_byte_is_refused_on_a_dry_run_as_on_the_import(db_url, engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,name\nC1,A\x00B\nC2,B\n")
    refused(db_url, engine, path, "line 2, column name", "NUL")


def test_utf16_without_a_byte_order_mark(db_url, engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("customer_id,name\nC1,A\n".encode("utf-16-le"))
    refused(db_url, engine, path, "UTF-16", "--encoding utf-16-le")


def test_huge_cells_are_cut_in_messages(db_url, engine, tmp_path):
    """A 300 kB cell repeated on 200 lines (an id that appears twice, an unknown phone) gives
    a short report, not the cell 400 times."""
    big = "9" * 300_000
    path = tmp_path / "c.csv"
    path.write_text("customer_id,name,phone\n" + "".join(f"{big},{big},{big}\n"
                                                        for _ in range(200)), encoding="utf-8")
    assert path.stat().st_size > 100 * 300_000
    result = run_import(db_url, path, "--dry-run")
    assert result.exit_code == 1
    assert "300,000 characters" in result.output
    assert len(result.output) < 60 * 600, len(result.output)
    assert count(engine) == 0


def test_huge_header_is_cut_in_messages(db_url, engine, tmp_path):
    big = "x" * 300_000
    path = tmp_path / "c.csv"
    path.write_text(f"customer_id,name,{big},{big}\nC1,A,1,2\n", encoding="utf-8")
    result = run_import(db_url, path, "--dry-run")
    assert result.exit_code == 1
    assert "appears twice" in result.output
    assert len(result.output) < 2000, len(result.output)


def _write_sheet(path, sheet_xml, strings=("customer_id", "name", "C1", "A")):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _parts(sheet_xml, list(strings)).items():
            archive.writestr(name, text)
    return path


def test_a_row_far_down_the_sheet_is_refused_quickly(db_url, engine, tmp_path):
    """A 2 kB workbook with a row numbered 50,000,000: openpyxl fills in every missing row,
    which took minutes; rows past Excel's last one mean a damaged file."""
    rows = _sheet([["0", "1"], ["2", "3"]]).replace(
        "</sheetData>", '<row r="50000000"><c r="A50000000" t="s"><v>2</v></c></row></sheetData>')
    path = _write_sheet(tmp_path / "far.xlsx", rows)
    started = time.perf_counter()
    refused(db_url, engine, path, "far.xlsx", "beyond Excel's last row")
    assert time.perf_counter() - started < 30


def test_one_far_cell_does_not_widen_every_row(engine, tmp_path):
    """A cell in column XFD on every row made openpyxl build 16,384 cells per row (3.4 s for
    these 3,000 rows, 19 minutes for a million); each is still reported."""
    body = ['<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>']
    body += [f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>C{r}</t></is></c>'
             f'<c r="B{r}" t="s"><v>3</v></c><c r="XFD{r}" t="s"><v>3</v></c></row>'
             for r in range(2, 3002)]
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData>{"".join(body)}'
             "</sheetData></worksheet>")
    path = _write_sheet(tmp_path / "wide.xlsx", sheet)
    started = time.perf_counter()
    report = import_file(engine, "customers", path, dry_run=True)
    assert time.perf_counter() - started < 2.0
    assert report.rows == 3000 and len(report.errors) == 3000
    assert report.errors[0].line == 2 and "right of the last header" in report.errors[0].message


def test_too_wide_a_header_and_no_header(db_url, engine, tmp_path):
    cells = "".join(f'<c r="{get_column_letter(c)}1" t="inlineStr"><is><t>h{c}</t></is></c>'
                    for c in range(1, 1003))
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData><row r="1">{cells}'
             "</row></sheetData></worksheet>")
    refused(db_url, engine, _write_sheet(tmp_path / "w.xlsx", sheet), "more than 1,000 columns")
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><sheetData><row r="500">'
             '<c r="A500" t="s"><v>0</v></c></row></sheetData></worksheet>')
    refused(db_url, engine, _write_sheet(tmp_path / "low.xlsx", sheet), "no header in its first")


def test_a_line_of_ten_thousand_columns_is_refused(db_url, engine, tmp_path):
    """A 200,000-column header line took 34 s to read before any check."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"h{i}" for i in range(10_000)) + "\n" + "1," * 9_999 + "1\n",
                    encoding="utf-8")
    started = time.perf_counter()
    refused(db_url, engine, path, "10,000 columns", "at most 1,000")
    assert time.perf_counter() - started < 20


def test_custom_attributes_are_bounded(db_url, engine, tmp_path):
    """Extra columns become custom attributes: a 300 kB cell on every row (one shared string
    in a small workbook) would have been stored 1,000 times over."""
    long_name = "x" * 101
    path = tmp_path / "c.csv"
    path.write_text(f"customer_id,name,note,{long_name}\nC1,A,{'z' * 1001},1\nC2,B,ok,2\n",
                    encoding="utf-8")
    output = refused(db_url, engine, path, "line 2, column note", "at most 1000 characters",
                     "line 1, column xxxx", "at most 100 characters")
    assert len(output) < 2000


def test_text_answers_are_bounded(db_url, engine, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("response_id,survey,submitted_at,nps,comment\n"
                    f"R1,pulse,2024-03-05,9,{'z' * 10_001}\nR2,pulse,2024-03-05,9,fine\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "responses", str(path), "--db", db_url])
    assert result.exit_code == 1, result.output
    assert "line 2, column comment" in result.output
    assert "at most 10000 characters" in result.output


def test_a_quote_closed_rows_later_is_caught_in_a_one_line_field(db_url, engine, tmp_path):
    """A quote left open and closed properly rows later is valid CSV: the rows between became
    one name. A cell whose later lines have a row's delimiters, or an id with a line break, is
    refused; a name over two lines without them stays fine (test_import keeps those)."""
    path = tmp_path / "c.csv"
    path.write_bytes(b'customer_id,name,region\nC1,"A,North\nC2,B,South\nC3,C",East\nC4,D,West\n')
    refused(db_url, engine, path, "line 2, column name", "several lines", "quote")


def test_line_breaks_in_an_xlsx_id_cell(db_url, engine, tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", [["0", "1"], ["2", "3"]],
                      strings=("customer_id", "name", "C1\nC2", "A"))
    refused(db_url, engine, path, "line 2, column customer_id", "several lines")


def test_multi_line_comments_and_attributes_are_fine(engine, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('response_id,survey,submitted_at,nps,comment\n'
                    'R1,pulse,2024-03-05,9,"two\nlines"\n', encoding="utf-8")
    report = import_file(engine, "responses", path)
    assert report.ok, [i.to_text() for i in report.errors]
    people = tmp_path / "c.csv"
    people.write_text('customer_id,name,note\nC9,Z,"a\nb"\n', encoding="utf-8")
    assert import_file(engine, "customers", people).ok


def test_no_sheet_named(db_url, engine, tmp_path):
    workbook = openpyxl.Workbook()
    for k in range(300):
        workbook.create_sheet(f"sheet {k:03d} " + "x" * 15)
    workbook.save(tmp_path / "many.xlsx")
    result = run_import(db_url, tmp_path / "many.xlsx", "--sheet", "nope")
    assert result.exit_code != 0
    assert "no sheet named 'nope'" in result.output and "and 291 more" in result.output
    assert len(result.output) < 1000
