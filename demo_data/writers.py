"""Fast, deterministic writers: CSV and JSON lines from Arrow text, Parquet for the rest.

Lines are built by Arrow kernels and written straight from the Arrow buffer, with no Python
per row; planted raw lines (malformed on purpose) are spliced in after given rows. CSV quotes
text fields and leaves numbers and empty values bare, as most exporters do: an empty field is
a missing value (NULL to DuckDB), a quoted one would be an empty string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extract_load.sources import Source

SLICE_ROWS = 200_000  # lines built at a time: bounds the memory of the text


@dataclass
class Part:
    """One chunk of one source, ready to write: text columns plus planted raw lines."""

    table: pa.Table
    extra_lines: dict[int, list[str]] = field(default_factory=dict)  # written after row i

    @property
    def lines(self) -> int:
        return self.table.num_rows + sum(len(v) for v in self.extra_lines.values())


def unquoted(source: Source) -> tuple[str, ...]:
    """The contract's numeric columns, written as bare numbers."""
    return tuple(c.name for c in source.columns if c.type in ("integer", "decimal"))


def csv_lines(table: pa.Table, unquoted: Sequence[str] = ()) -> pa.StringArray:
    """One 'a,"b",,1.5\\n' line per row; null becomes an empty field."""
    pieces: list[pa.Array | str] = []
    for position, name in enumerate(table.column_names):
        values = table.column(name).combine_chunks().cast(pa.string())
        if name not in unquoted:
            values = pc.binary_join_element_wise('"', values, '"', "")  # null stays null
        if position:
            pieces.append(",")
        pieces.append(values)
    pieces.append("\n")
    return pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")


def _write_array(handle: BinaryIO, lines: pa.Array) -> None:
    """Write the text of a null-free string array as it lies in memory."""
    if not len(lines):
        return
    assert lines.null_count == 0, "lines must not be null"
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4
    )
    handle.write(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]])


class LineFile:
    """A text file written incrementally: an optional header, then lines chunk by chunk."""

    def __init__(self, path: Path, header: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lines = 0
        self._handle = path.open("wb")
        if header is not None:
            self._handle.write(header.encode())

    def write_lines(self, lines: pa.Array, extra: dict[int, list[str]], offset: int = 0) -> None:
        """Write lines[i] for each i, and after row offset+i the extra lines planted there."""
        start = 0
        for row in sorted(r - offset for r in extra if offset <= r < offset + len(lines)):
            _write_array(self._handle, lines.slice(start, row + 1 - start))
            for raw in extra[row + offset]:
                self._handle.write(raw.encode())
            start = row + 1
        _write_array(self._handle, lines.slice(start))
        self.lines += len(lines) + sum(
            len(v) for r, v in extra.items() if offset <= r < offset + len(lines)
        )

    def close(self) -> None:
        self._handle.close()


class CsvFile(LineFile):
    """A CSV export: quoted header of the contract's columns, then rows appended per chunk."""

    def __init__(self, path: Path, source: Source) -> None:
        self.columns = [c.name for c in source.columns]
        super().__init__(path, ",".join(f'"{c}"' for c in self.columns) + "\n")
        self.unquoted = unquoted(source)

    def write(self, part: Part) -> None:
        table = part.table.select(self.columns)
        for start in range(0, max(table.num_rows, 1), SLICE_ROWS):
            piece = table.slice(start, SLICE_ROWS)
            self.write_lines(csv_lines(piece, self.unquoted), part.extra_lines, offset=start)


class ParquetFile:
    """A Parquet file written chunk by chunk with one schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = 0
        self._writer = pq.ParquetWriter(path, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
