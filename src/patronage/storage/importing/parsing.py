"""Cell parsers: text from a spreadsheet to typed values, with a message for each bad cell.

Every parser takes a column (a :class:`pandas.Series` of stripped strings, NaN for blank cells)
and returns ``(values, errors)``: the parsed column and a Series holding, for each bad cell, the
message to show (None elsewhere). Blank cells stay missing and are never errors here; whether a
value is required is decided by the caller. The common, clean case of each parser is handled by
a vectorised fast path and only the remaining cells are looked at one by one.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from patronage.messages import N_, Message, UserError

# Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space, as typed with a Chinese
# input method: １２３，－ -> 123,-
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20
_HALFWIDTH[0xFFE5] = ord("¥")  # full-width yen sign

# The messages are Message objects: English text that a page shows translated.
SCIENTIFIC_PHONE = Message(N_("Excel turned this phone number into a number in scientific "
                              "notation; format the column as Text in Excel and export again."))
AMBIGUOUS_DATE = Message(N_("ambiguous date; pass --date-order dmy or mdy"))
NOT_A_DATE = Message(N_("not a date; write dates as YYYY-MM-DD (e.g. 2024-03-05) or YYYY-MM-DD "
                        "HH:MM"))
NOT_REAL_DATE = Message(N_("not a real date (no such day in the calendar); check day and month"))
NOT_A_NUMBER = Message(N_("not a number; use digits with a dot for decimals, e.g. 1234.50"))
NOT_AN_AMOUNT = Message(N_("not an amount; use digits with a dot for decimals, e.g. 1234.50 "
                           "(currency symbols and thousands commas are fine)"))
NOT_YES_NO = Message(N_("not yes or no; use yes/no, true/false, 1/0, 是/否 or Y/N"))
NOT_A_PHONE = Message(N_("not a phone number; use digits, spaces, dashes and an optional "
                         "leading +"))
FEW_DIGITS = Message(N_("not a phone number; it has fewer than 3 digits"))
LONG_PHONE = Message(N_("too long for a phone number; at most 32 characters"))
NOT_AN_EMAIL = Message(N_("not an e-mail address; expected something like name@example.com"))
LONG_EMAIL = Message(N_("too long for an e-mail address; at most 254 characters"))
YEAR_RANGE = Message(N_("year out of range; expected a year between 1800 and 2200"))
NOT_YMD = Message(N_("this date is not in year-month-day order, as date_order says"))

_EXCEL_EPOCH = datetime(1899, 12, 30)


def to_halfwidth(text: str) -> str:
    """``text`` with full-width letters, digits and signs replaced by their ASCII forms."""
    return text.translate(_HALFWIDTH)


def halfwidth(values: pd.Series) -> pd.Series:
    """:func:`to_halfwidth` on a column; a no-op (and cheap) when the column is all ASCII."""
    present = values.dropna()
    if present.empty or "".join(present.tolist()).isascii():
        return values
    return values.map(to_halfwidth, na_action="ignore")


def _errors(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def _loop(values: pd.Series, mask: np.ndarray, parse) -> tuple[list, list]:
    """Apply ``parse(text) -> (value, message)`` to the cells selected by ``mask``."""
    out_values, out_errors = [], []
    for text in values[mask].tolist():
        value, message = parse(text)
        out_values.append(value)
        out_errors.append(message)
    return out_values, out_errors


# --- text -------------------------------------------------------------------------------------


def parse_text(values: pd.Series, max_length: int) -> tuple[pd.Series, pd.Series]:
    """Free text, kept as written; longer than ``max_length`` characters is an error."""
    errors = _errors(values.index)
    too_long = (values.str.len() > max_length).fillna(False).to_numpy(dtype=bool)
    if too_long.any():
        errors[too_long] = Message(N_("too long; at most {max_length} characters"),
                                   max_length=max_length)
    return values, errors


def parse_code(values: pd.Series, max_length: int) -> tuple[pd.Series, pd.Series]:
    """An identifier (customer id, order number): half-width, at most ``max_length`` chars."""
    return parse_text(halfwidth(values), max_length)


# --- phone and e-mail -------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_PHONE = re.compile(r"\+?[\d\s\-()]*\d[\d\s\-()]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _phone(text: str) -> tuple[str | None, str | None]:
    if _SCIENTIFIC.fullmatch(text):
        return None, SCIENTIFIC_PHONE
    if not _PHONE.fullmatch(text):
        return None, NOT_A_PHONE
    if sum(ch.isdigit() for ch in text) < 3:
        return None, FEW_DIGITS
    if len(text) > 32:
        return None, LONG_PHONE
    return text, None


def parse_phone(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Phone numbers kept as text (digits, spaces, dashes, brackets, a leading +).

    A cell like ``1.38E+10`` is what Excel shows after turning an 11-digit mobile number into a
    number; the digits are lost, so it is an error with advice rather than a guess.
    """
    values = halfwidth(values)
    present = values.notna().to_numpy()
    out = pd.Series(np.nan, index=values.index, dtype=object)
    errors = _errors(values.index)
    parsed, messages = _loop(values, present, _phone)
    out[present] = parsed
    errors.iloc[np.flatnonzero(present)] = messages  # by position: a mask of one would
    # turn a Message into a plain str
    return out.where(errors.isna()), errors


def parse_email(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E-mail addresses: something@domain.tld, at most 254 characters."""
    values = halfwidth(values)
    errors = _errors(values.index)
    # A blank cell is no address (pandas' text columns give False, not NA, for a missing
    # value's match).
    ok = (values.isna() | values.str.fullmatch(_EMAIL.pattern).fillna(True)).to_numpy(
        dtype=bool)
    errors[~ok] = NOT_AN_EMAIL
    long = (values.str.len() > 254).fillna(False).to_numpy(dtype=bool)
    errors[long & ok] = LONG_EMAIL
    return values, errors


# --- yes/no -----------------------------------------------------------------------------------

_BOOLEAN = {"yes": True, "no": False, "y": True, "n": False, "true": True, "false": False,
            "t": True, "f": False, "1": True, "0": False, "是": True, "否": False,
            "1.0": True, "0.0": False}


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no cells: yes/no, true/false, 1/0, 是/否, Y/N (any case)."""
    folded = halfwidth(values).str.lower()
    parsed = folded.map(_BOOLEAN)
    errors = _errors(values.index)
    bad = (values.notna() & parsed.isna()).to_numpy()
    errors[bad] = NOT_YES_NO
    return parsed.astype(object).where(parsed.notna(), None), errors


# --- numbers and money ------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)rmb|cny|usd|eur|[¥$€£元]|\s")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def _amount(text: str) -> tuple[float | None, str | None]:
    text = _CURRENCY.sub("", to_halfwidth(text))
    negative = False
    if len(text) > 2 and text[0] == "(" and text[-1] == ")":  # accounting negative: (12.00)
        negative, text = True, text[1:-1]
    if text.startswith("-") and len(text) > 1 and not negative:
        negative, text = True, text[1:]
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            return None, NOT_AN_AMOUNT
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        return None, NOT_AN_AMOUNT
    number = float(text)
    return (-number if negative else number), None


def _number(text: str) -> tuple[float | None, str | None]:
    text = to_halfwidth(text).replace(" ", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        return None, NOT_A_NUMBER
    return float(text), None


def _numeric(values: pd.Series, slow, limit: float) -> tuple[pd.Series, pd.Series]:
    present = values.notna().to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(copy=True)
    numbers[~np.isfinite(numbers)] = np.nan
    rest = present & np.isnan(numbers)
    errors = _errors(values.index)
    if rest.any():
        parsed, messages = _loop(values, rest, slow)
        numbers[rest] = [np.nan if p is None else p for p in parsed]
        errors.iloc[np.flatnonzero(rest)] = messages  # keeps Message objects
    too_big = present & (np.abs(np.nan_to_num(numbers)) >= limit)
    if too_big.any():
        numbers[too_big] = np.nan
        errors[too_big] = Message(N_("too large; must be less than {limit:,.0f}"), limit=limit)
    return pd.Series(numbers, index=values.index), errors


def parse_amount(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money: ``¥1,234.50``, ``￥1,234.50``, ``$1,234.50``, ``RMB 12``, ``-12.00`` and the
    accounting negative ``(12.00)``; currency symbols and thousands commas are dropped. A comma
    anywhere but between groups of three digits (``12,5``) is an error, not a decimal comma.
    Rounded to cents, as stored.
    """
    numbers, errors = _numeric(values, _amount, 1e12)
    return numbers.round(2), errors


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Plain numbers (survey answers, weights): digits, a sign, a decimal dot."""
    return _numeric(values, _number, 1e15)


# --- dates ------------------------------------------------------------------------------------

_FAST_FORMATS = (("%Y-%m-%d %H:%M:%S", 19), ("%Y-%m-%d", 10), ("%Y-%m-%d %H:%M", 16),
                 ("%Y-%m-%dT%H:%M:%S", 19))
_DATE = re.compile(
    r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_CJK_DATE = str.maketrans({"年": "-", "月": "-", "日": " ", "号": " ", "號": " ",
                           "时": ":", "時": ":", "分": ":", "秒": " "})


def _normalise_date(text: str) -> str:
    """Half-width, 年月日 as dashes, 时/分 as colons, single spaces: ``2024年3月5日 14时30分``
    becomes ``2024-3-5 14:30``."""
    text = re.sub(r"\s+", " ", to_halfwidth(text).translate(_CJK_DATE)).strip().rstrip(":")
    return text + ":00" if re.search(r" \d{1,2}$", text) else text


def _build(year, month, day, hour, minute, second, fraction) -> tuple[datetime | None, str | None]:
    if not 1800 <= year <= 2200:
        return None, YEAR_RANGE
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        return datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0),
                        micro), None
    except ValueError:
        return None, NOT_REAL_DATE


def _serial(text: str) -> datetime:
    return _EXCEL_EPOCH + timedelta(days=float(text))


def _classify(text: str):
    """('ymd'|'xxy'|'serial'|None, parts) for one normalised cell."""
    if _SERIAL.fullmatch(text):
        return "serial", text
    compact = _COMPACT.fullmatch(text)
    if compact:
        return "ymd", (*compact.groups(), None, None, None, None)
    match = _DATE.fullmatch(text)
    if not match:
        return None, None
    first, second, third = match.group(1, 2, 3)
    if len(first) == 4:
        return "ymd", match.groups()
    if len(third) == 4 and len(first) <= 2:
        return "xxy", match.groups()
    return None, None


def _settle_order(parts: list, date_order: str | None) -> str | None:
    """The order of day-month-year columns: given, or settled by a cell like 25/03/2024."""
    if date_order is not None:
        return date_order
    day_first = any(int(p[0]) > 12 and int(p[1]) <= 12 for p in parts)
    month_first = any(int(p[1]) > 12 and int(p[0]) <= 12 for p in parts)
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    return None


def _one_date(kind: str, parts, order: str | None) -> tuple[datetime | None, str | None]:
    if kind == "serial":
        return _serial(parts), None
    if kind == "ymd":
        year, month, day, *time = parts
        return _build(int(year), int(month), int(day), *time)
    first, second, year, *time = parts
    a, b = int(first), int(second)
    if order is None:
        if a > 12 or b > 12:  # conflicting column: read the unambiguous cell as it must be
            order = "dmy" if a > 12 else "mdy"
        elif a == b:
            order = "dmy"
        else:
            return None, AMBIGUOUS_DATE
    if order == "ymd":
        return None, NOT_YMD
    day, month = (a, b) if order == "dmy" else (b, a)
    return _build(int(year), month, day, *time)


def parse_datetime(values: pd.Series, date_order: str | None = None
                   ) -> tuple[pd.Series, pd.Series, int]:
    """Dates and times; returns ``(datetime64 column, errors, Excel serials converted)``.

    Accepted: ISO ``2024-03-05`` (optionally ``14:30`` or ``14:30:00``), ``2024/3/5``,
    ``2024.3.5``, ``2024年3月5日``, ``20240305``, and day/month/year or month/day/year
    (``05/03/2024``) when ``date_order`` is ``"dmy"`` or ``"mdy"`` or when another cell of the same
    column settles the order (a first part above 12 means dmy, a second part above 12 mdy).
    A five-digit number is an Excel serial day number (1900 date system, so 45352 is
    2024-03-01). Impossible dates such as 2024-02-30 are errors.
    """
    if date_order not in (None, "ymd", "dmy", "mdy"):
        raise UserError(N_("date_order must be 'ymd', 'dmy' or 'mdy', not {date_order!r}"),
                        date_order=date_order)
    present = values.notna().to_numpy()
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    errors = _errors(values.index)
    fast = np.zeros(len(values), dtype=bool)
    first = values[present].iloc[0] if present.any() else ""
    formats = sorted(_FAST_FORMATS, key=lambda f: f[1] != len(first))
    for fmt, _ in formats:  # strict formats, C speed; anything else is looked at cell by cell
        todo = present & ~fast
        if not todo.any():
            break
        parsed = pd.to_datetime(values[todo], format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        if ok.any():
            hits = np.flatnonzero(todo)[ok]
            result.iloc[hits] = parsed[ok].astype("datetime64[us]").to_numpy()
            fast[hits] = True
    rest = present & ~fast
    serials = 0
    if rest.any():
        classified = [_classify(_normalise_date(t)) for t in values[rest].tolist()]
        order = _settle_order([p for k, p in classified if k == "xxy"], date_order)
        parsed_list, messages = [], []
        for kind, parts in classified:
            if kind is None:
                value, message = None, NOT_A_DATE
            else:
                value, message = _one_date(kind, parts, order)
                serials += kind == "serial"
            parsed_list.append(value)
            messages.append(message)
        result[rest] = pd.to_datetime(pd.Series(parsed_list, dtype=object)).astype(
            "datetime64[us]").to_numpy()
        errors.iloc[np.flatnonzero(rest)] = messages  # keeps Message objects
    return result, errors, serials


def parse_date(values: pd.Series, date_order: str | None = None
               ) -> tuple[pd.Series, pd.Series, int]:
    """Like :func:`parse_datetime` but keeps the calendar day (a ``date`` object or None)."""
    stamps, errors, serials = parse_datetime(values, date_order)
    days = pd.Series([None if pd.isna(v) else date(v.year, v.month, v.day) for v in stamps],
                     index=values.index, dtype=object)
    return days, errors, serials


__all__ = [
    "AMBIGUOUS_DATE",
    "NOT_AN_AMOUNT",
    "NOT_A_DATE",
    "NOT_A_NUMBER",
    "NOT_REAL_DATE",
    "NOT_YES_NO",
    "SCIENTIFIC_PHONE",
    "halfwidth",
    "parse_amount",
    "parse_bool",
    "parse_code",
    "parse_date",
    "parse_datetime",
    "parse_email",
    "parse_number",
    "parse_phone",
    "parse_text",
    "to_halfwidth",
]
