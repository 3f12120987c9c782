"""A workbook as openpyxl (Excel's file format, read without Excel) sees it, against a CSV of the same
columns (written without formula guarding or byte-order mark).

usage: xlsx_features.py PEOPLE.xlsx PEOPLE.csv LINK_HEADER

Checks the sheet is `People`, its header row is bold, frozen and filtered over every row, no cell holds
a formula, numbers are numbers, every other cell is the CSV's text exactly, and the cells of the column
headed LINK_HEADER are hyperlinks to their own text. Prints `ok N people` or the first difference.
"""
import csv
import re
import sys

import openpyxl

xlsx_path, csv_path, link_header = sys.argv[1:4]


def fail(message):
    print(message)
    sys.exit(1)


def unescape(value):
    """Text as Excel shows it: OOXML writes control characters such as CR as `_x000D_`."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


book = openpyxl.load_workbook(xlsx_path)
if book.sheetnames != ["People"]:
    fail(f"sheets {book.sheetnames}")
sheet = book["People"]
rows = list(csv.reader(open(csv_path, encoding="utf-8", newline="")))
header, body = rows[0], rows[1:]
if sheet.freeze_panes != "A2":
    fail(f"frozen at {sheet.freeze_panes}")
last = openpyxl.utils.get_column_letter(len(header))
if sheet.auto_filter.ref != f"A1:{last}{len(body) + 1}":
    fail(f"filter over {sheet.auto_filter.ref}, expected A1:{last}{len(body) + 1}")
for col, name in enumerate(header, start=1):
    cell = sheet.cell(row=1, column=col)
    if cell.value != name or not cell.font.b:
        fail(f"header {col}: {cell.value!r} bold={cell.font.b}, expected {name!r} in bold")
    if sheet.column_dimensions[openpyxl.utils.get_column_letter(col)].width < len(name):
        fail(f"column {name} is narrower than its header")
link = header.index(link_header) + 1
links = 0
for r, values in enumerate(body, start=2):
    for col, text in enumerate(values, start=1):
        cell = sheet.cell(row=r, column=col)
        if cell.data_type == "f":
            fail(f"{cell.coordinate} is a formula: {cell.value!r}")
        if text == "":
            if cell.value not in (None, ""):
                fail(f"{cell.coordinate}: {cell.value!r}, the CSV has nothing")
            continue
        if cell.data_type == "n":
            if float(text) != float(cell.value):
                fail(f"{cell.coordinate}: number {cell.value!r}, the CSV has {text!r}")
        elif unescape(cell.value) != text:
            fail(f"{cell.coordinate}: {cell.value!r}, the CSV has {text!r}")
        if col == link and text.startswith("http"):
            if cell.hyperlink is None or cell.hyperlink.target != text:
                fail(f"{cell.coordinate}: no hyperlink to {text!r}")
            links += 1
if links == 0:
    fail("no hyperlinks at all")
print(f"ok {len(body)} people, {links} links")
