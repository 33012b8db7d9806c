"""PostgreSQL's binary COPY format, built with numpy for a whole chunk of rows at once.

Format: PostgreSQL documentation, "COPY", section "Binary Format". Each value is sent as its
type's binary "send" representation, in network byte order: int2/int4/int8, float8, bool (one
byte), date (int32 days since 2000-01-01), timestamp (int64 microseconds since 2000-01-01
00:00), numeric (ndigits, weight, sign, dscale, then base-10000 digits; the server strips leading
and trailing zero digits), text/varchar/json (UTF-8 bytes) and jsonb (version 1, then the text).

:func:`binary_plan` reads the target's column types from the database and returns None unless
every column can be sent with exactly the value the text format would store: a ``timestamptz``
column, a ``numeric`` without a scale or a float with more decimals than its scale (the server
rounds text half away from zero; 1.005 * 100 is 100.4999... in binary floating point), an
integer outside its column's range, or any type not listed above keeps the text format.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import Connection

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no header extension
TRAILER = b"\xff\xff"
_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_EPOCH_DAYS = 10_957
_INTEGERS = {21: (">i2", 2**15), 23: (">i4", 2**31), 20: (">i8", 2**63)}  # int2, int4, int8
_TEXTS = {25, 1043}  # text, varchar
_NUMERIC, _FLOAT8, _BOOL, _DATE, _TIMESTAMP, _JSON, _JSONB = 1700, 701, 16, 1082, 1114, 114, 3802
_NUMERIC_NEG = 0x4000


class _Field:
    """One column of a chunk: ``lengths`` (-1 for NULL) and either ``fixed`` (n x width bytes)
    or ``data`` (the present values' bytes, concatenated)."""

    __slots__ = ("lengths", "fixed", "data")

    def __init__(self, lengths: np.ndarray, fixed: np.ndarray | None = None,
                 data: np.ndarray | None = None) -> None:
        self.lengths, self.fixed, self.data = lengths, fixed, data


def _pg_column_types(conn: Connection, table: str) -> dict[str, tuple[int, int]]:
    """``{column: (type oid, typmod)}`` of ``table`` as the database has it."""
    rows = conn.exec_driver_sql(
        "SELECT attname, atttypid::int, atttypmod FROM pg_attribute WHERE attrelid = "
        "%(table)s::regclass AND attnum > 0 AND NOT attisdropped", {"table": f'"{table}"'})
    return {name: (oid, typmod) for name, oid, typmod in rows}


def _fixed_field(values: np.ndarray, missing: np.ndarray, dtype: str) -> _Field:
    block = np.ascontiguousarray(values.astype(dtype))
    width = block.dtype.itemsize
    lengths = np.where(missing, -1, width)
    return _Field(lengths, fixed=block.view(np.uint8).reshape(len(block), width))


def _numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    array = column.to_numpy(dtype="float64")
    return array, np.isnan(array)


def _numeric_scale(typmod: int) -> int | None:
    return None if typmod < 4 else (typmod - 4) & 0xFFFF


def _numeric_units(array: np.ndarray, missing: np.ndarray, scale: int) -> np.ndarray | None:
    """The values as integers of 10**-scale, or None when a value has more decimals than that
    (the text format would round it on the server) or is too large for exact int64 work."""
    present = array[~missing]
    if not np.isfinite(present).all() or (np.abs(present) >= 1e15 / 10.0 ** scale).any():
        return None
    if (np.round(present, scale) != present).any():
        return None
    return np.rint(np.where(missing, 0.0, array) * 10.0 ** scale).astype(np.int64)


def _numeric_field(units: np.ndarray, missing: np.ndarray, scale: int) -> _Field:
    groups = -(-scale // 4)  # base-10000 digits after the point
    magnitude = np.abs(units) * 10 ** (4 * groups - scale)
    largest = int(magnitude.max(initial=0))
    ndigits = max(1, -(-len(str(largest)) // 4))
    block = np.empty((len(units), 4 + ndigits), dtype=">i2")
    block[:, 0] = ndigits
    block[:, 1] = ndigits - groups - 1  # weight of the first digit
    block[:, 2] = np.where(units < 0, _NUMERIC_NEG, 0)
    block[:, 3] = scale
    for position in range(ndigits - 1, -1, -1):
        block[:, 4 + position] = magnitude % 10_000
        magnitude //= 10_000
    lengths = np.where(missing, -1, 2 * (4 + ndigits))
    return _Field(lengths, fixed=block.view(np.uint8).reshape(len(units), 2 * (4 + ndigits)))


def _text_field(values: np.ndarray, prefix: str = "") -> _Field:
    """Strings (None or NaN for NULL) as UTF-8; ``prefix`` goes before each value (jsonb's
    version byte)."""
    present = values.tolist()
    try:  # no NULLs (the usual case for ids): no need to look for them
        joined = "".join(present)
        missing = np.zeros(len(values), dtype=bool)
    except TypeError:
        missing = pd.isna(values)
        present = values[~missing].tolist()
        joined = "".join(present)
    if prefix:
        present = [prefix + v for v in present]
        joined = "".join(present)
    data = joined.encode("utf-8")
    if len(data) == len(joined):  # ASCII: one byte per character
        sizes = np.fromiter(map(len, present), dtype=np.int64, count=len(present))
    else:
        sizes = np.fromiter((len(v.encode("utf-8")) for v in present), dtype=np.int64,
                            count=len(present))
    lengths = np.full(len(values), -1, dtype=np.int64)
    lengths[~missing] = sizes
    return _Field(lengths, data=np.frombuffer(data, dtype=np.uint8))


def _object_values(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def _binary_encoder(column: pd.Series, kind: str, oid: int, typmod: int):
    """A function of a chunk's column returning its :class:`_Field`, or None when this column
    cannot go in the binary format with exactly the values the text format would store."""
    if kind == "datetime" and oid == _TIMESTAMP:
        def encode(part):
            stamps = part.to_numpy(dtype="datetime64[us]")
            return _fixed_field(stamps.view(np.int64) - _EPOCH_US, np.isnat(stamps), ">i8")
        return encode
    if kind == "date" and oid == _DATE:
        def encode(part):
            if pd.api.types.is_datetime64_dtype(part.dtype):  # no Python object per value
                days = part.to_numpy(dtype="datetime64[D]")
            else:
                days = np.array(_object_values(part).tolist(), dtype="datetime64[D]")
            return _fixed_field(days.view(np.int64) - _EPOCH_DAYS, np.isnat(days), ">i4")
        return encode
    if kind == "bool" and oid == _BOOL:
        if column.dtype == bool:
            return lambda part: _fixed_field(part.to_numpy(), np.zeros(len(part), bool), "u1")
        if not all(v is None or isinstance(v, (bool, np.bool_))
                   for v in _object_values(column).tolist()):
            return None

        def encode(part):
            flags = _object_values(part)
            missing = pd.isna(flags)
            return _fixed_field(np.where(missing, False, flags).astype(bool), missing, "u1")
        return encode
    if kind in ("int", "optint") and oid in _INTEGERS:
        dtype, bound = _INTEGERS[oid]
        array, missing = _numbers(column)
        present = array[~missing]
        if not np.isfinite(present).all() or (np.abs(present) >= min(bound, 2**53)).any():
            return None

        def encode(part):
            values, absent = _numbers(part)
            return _fixed_field(np.where(absent, 0, values).astype(np.int64), absent, dtype)
        return encode
    if kind == "float" and oid == _FLOAT8:
        def encode(part):
            values, absent = _numbers(part)
            return _fixed_field(values, absent, ">f8")
        return encode
    if kind == "float" and oid == _NUMERIC and _numeric_scale(typmod) is not None:
        scale = _numeric_scale(typmod)
        if _numeric_units(*_numbers(column), scale) is None:
            return None

        def encode(part):
            values, absent = _numbers(part)
            return _numeric_field(_numeric_units(values, absent, scale), absent, scale)
        return encode
    if kind == "json" and oid in (_JSON, _JSONB):
        prefix = "\x01" if oid == _JSONB else ""
        return lambda part: _text_field(np.array(json_text(part), dtype=object), prefix)
    if kind == "text" and oid in _TEXTS:
        if not isinstance(column.dtype, pd.StringDtype) and not all(
                v is None or isinstance(v, str) for v in _object_values(column).tolist()):
            return None
        return lambda part: _text_field(part.to_numpy(dtype=object))
    return None


def binary_plan(conn: Connection, target: str, frame: pd.DataFrame, kinds) -> list | None:
    """One encoder per column of ``frame``, or None when the load must use the text format."""
    types = _pg_column_types(conn, target)
    plan = []
    for name in frame.columns:
        if name not in types:
            return None
        encoder = _binary_encoder(frame[name], kinds.get(name, "text"), *types[name])
        if encoder is None:
            return None
        plan.append(encoder)
    return plan


def _scatter_fixed(buffer: np.ndarray, at: np.ndarray, block: np.ndarray, rows) -> None:
    width = block.shape[1]
    if rows is None:
        buffer[at[:, None] + np.arange(width)] = block
    else:
        buffer[at[rows, None] + np.arange(width)] = block[rows]


def binary_chunk(frame: pd.DataFrame, plan: list) -> np.ndarray:
    """The rows of ``frame`` as COPY binary tuples (no signature or trailer), a uint8 array;
    ``plan`` comes from :func:`binary_plan`."""
    n = len(frame)
    fields = [encode(frame.iloc[:, position]) for position, encode in enumerate(plan)]
    row_sizes = np.full(n, 2 + 4 * len(fields), dtype=np.int64)
    for field in fields:
        row_sizes += np.maximum(field.lengths, 0)
    ends = np.cumsum(row_sizes)
    starts = ends - row_sizes
    buffer = np.empty(int(ends[-1]) if n else 0, dtype=np.uint8)
    count = np.array([len(fields)], dtype=">i2").view(np.uint8)
    buffer[starts] = count[0]
    buffer[starts + 1] = count[1]
    at = starts + 2
    for field in fields:
        lengths = field.lengths.astype(">i4")
        _scatter_fixed(buffer, at, lengths.view(np.uint8).reshape(n, 4), None)
        at = at + 4
        present = field.lengths >= 0
        if field.fixed is not None:
            _scatter_fixed(buffer, at, field.fixed, None if present.all() else present)
        elif len(field.data):
            sizes = np.maximum(field.lengths, 0)
            offsets = np.cumsum(sizes) - sizes  # where each value starts in field.data
            buffer[np.repeat(at - offsets, sizes) + np.arange(len(field.data))] = field.data
        at = at + np.maximum(field.lengths, 0)
    return buffer


def json_text(values: pd.Series) -> list:
    """JSON text of each value (None stays None), as SQLAlchemy's JSON type would write it."""
    return [None if v is None or v != v else json.dumps(v, ensure_ascii=False, sort_keys=True)
            for v in values.tolist()]


__all__ = ["SIGNATURE", "TRAILER", "binary_chunk", "binary_plan", "json_text"]
