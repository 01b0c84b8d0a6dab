"""A table read in parts (open_table / TableReading) ends as the table read at once."""

from __future__ import annotations

import pytest

from com.ingest.readers import FileTooLarge, ReadLimits, open_table, read_table


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode()


def _same(a, b) -> None:
    assert a.columns == b.columns
    assert a.rows == b.rows
    assert a.row_numbers == b.row_numbers
    assert a.header_parts == b.header_parts
    assert a.details == b.details


def test_parts_end_as_the_whole_table():
    rows = [["รายงานจุดเสี่ยง"], ["ชื่อ", "ละติจูด", "ลองจิจูด"]]
    for i in range(40):
        rows.append([f"จุด {i}", f"14.{i:02d}", "103.5"] if i % 7 else ["", "", ""])
    data = _csv(rows)
    reading = open_table(data, "a.csv")
    assert reading.table.rows == [] and not reading.done
    assert reading.more(3) == 3
    assert [r[0] for r in reading.table.rows] == ["จุด 1", "จุด 2", "จุด 3"]
    assert reading.table.row_numbers == [2, 3, 4]  # the blank first data row is left out
    assert reading.more(10) == 10
    whole = read_table(data, "a.csv")
    _same(reading.finish(), whole)
    assert reading.done and not reading.widened
    assert reading.more(5) == 0


def test_a_wider_row_later_widens_every_row():
    rows = [["ชื่อ", "ละติจูด", "ลองจิจูด"]] + [[f"จุด {i}", "14.5", "103.5"] for i in range(60)]
    rows[45].append("เพิ่ม")  # beyond the rows the header is looked for in
    data = _csv(rows)
    reading = open_table(data, "b.csv")
    reading.more(5)
    assert reading.table.columns == ["ชื่อ", "ละติจูด", "ลองจิจูด"] and not reading.widened
    table = reading.finish()
    assert reading.widened
    _same(table, read_table(data, "b.csv"))
    assert len(table.columns) == 4 and all(len(r) == 4 for r in table.rows)


def test_a_widened_form_export_is_recognised_again():
    rows = [["_uuid", "group_a/name", "_geolocation"]]
    rows += [[f"u{i}", f"จุด {i}", "[14.5, 103.5]"] for i in range(50)]
    rows[40].append("x")
    data = _csv(rows)
    reading = open_table(data, "form.csv")
    reading.more(2)
    _same(reading.finish(), read_table(data, "form.csv"))
    assert reading.table.details["form_export"] == "kobo"


def test_rows_over_the_cap_are_refused_when_read_with_the_file_name():
    data = _csv([["ชื่อ", "ละติจูด", "ลองจิจูด"]] + [["a", "14.5", "103.5"]] * 12)
    reading = open_table(data, "ไฟล์.csv", limits=ReadLimits(max_rows=10))
    assert reading.more(4) == 4
    with pytest.raises(FileTooLarge, match=r"^ไฟล์\.csv: the file has more than 10 data rows"):
        reading.finish()


def test_other_formats_are_read_whole_at_once():
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["ชื่อ", "ละติจูด", "ลองจิจูด"])
    book.active.append(["a", 14.5, 103.5])
    out = io.BytesIO()
    book.save(out)
    reading = open_table(out.getvalue(), "c.xlsx")
    assert reading.done and reading.table.rows == [["a", 14.5, 103.5]]
    assert reading.more(10) == 0
