"""A Parquet export, as DuckDB and pyarrow read it, against the NDJSON export of the same walk.

usage: parquet_matches_ndjson.py PEOPLE.parquet PEOPLE.ndjson SCHEMA.json CREATE_TABLE.sql

- DuckDB creates the table from `ocean-export schema --format duckdb` and loads the file into it; the
  file's column names and types are the table's.
- pyarrow reads the file: its schema is the one the JSON Schema describes (names in order, types), and
  every row equals the NDJSON person of the same place, typed as the JSON Schema says (dates and
  timestamps parsed, missing fields null, unknown fields left out).

Prints `ok N people` and exits 0, or prints the first difference and exits 1.
"""
import datetime
import json
import sys

import duckdb
import pyarrow.parquet as pq

parquet_path, ndjson_path, schema_path, sql_path = sys.argv[1:5]
schema = json.load(open(schema_path))
create = open(sql_path).read()


def fail(message):
    print(message)
    sys.exit(1)


# DuckDB: the statement the warehouse runs first, then the file loads into that table as it is.
con = duckdb.connect()
con.execute(create)
con.execute("INSERT INTO people SELECT * FROM read_parquet(?)", [parquet_path])
table = con.execute("DESCRIBE people").fetchall()
read = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [parquet_path]).fetchall()
if [(r[0], r[1]) for r in table] != [(r[0], r[1]) for r in read]:
    fail(f"DuckDB: the file's columns differ from CREATE TABLE:\n{table}\n{read}")
loaded = con.execute("SELECT count(*) FROM people").fetchone()[0]

# pyarrow: the schema, then every value.
pf = pq.ParquetFile(parquet_path)
arrow = pf.schema_arrow
names = list(schema["properties"].keys())
if arrow.names != names:
    fail(f"pyarrow: columns {arrow.names} are not {names}")


def arrow_kind(t):
    import pyarrow as pa

    if pa.types.is_string(t):
        return "string"
    if pa.types.is_int64(t):
        return "integer"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t):
        return f"date-time:{t.tz}"
    if pa.types.is_list(t):
        return ["array", arrow_kind(t.value_type)]
    if pa.types.is_struct(t):
        return {t.field(i).name: arrow_kind(t.field(i).type) for i in range(t.num_fields)}
    return str(t)


def schema_kind(s):
    types = s["type"] if isinstance(s["type"], list) else [s["type"]]
    t = [x for x in types if x != "null"][0]
    if t == "string":
        fmt = s.get("format")
        return {"date": "date", "date-time": "date-time:UTC"}.get(fmt, "string")
    if t == "integer":
        return "integer"
    if t == "array":
        return ["array", schema_kind(s["items"])]
    if t == "object":
        return {k: schema_kind(v) for k, v in s["properties"].items()}
    return t


for field in arrow:
    want = schema_kind(schema["properties"][field.name])
    got = arrow_kind(field.type)
    if want != got:
        fail(f"pyarrow: column {field.name} is {got}, the schema says {want}")


def parse_date(text):
    text = text.strip()
    if len(text) == 4:
        return datetime.date(int(text), 1, 1)
    if len(text) == 7:
        return datetime.date(int(text[:4]), int(text[5:7]), 1)
    return datetime.date.fromisoformat(text[:10])


def parse_timestamp(text):
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def typed(s, value):
    """The value a typed file holds for a JSON value of schema `s`."""
    if value is None:
        return None
    kind = schema_kind(s)
    if kind == "date":
        return parse_date(value)
    if kind.__class__ is str and kind.startswith("date-time"):
        return parse_timestamp(value)
    if kind == "integer":
        return int(value)
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(kind, list):
        return [typed(s["items"], v) for v in value]
    if isinstance(kind, dict):
        return {k: typed(sub, value.get(k)) for k, sub in s["properties"].items()}
    return value


rows = pf.read().to_pylist()
people = [json.loads(line) for line in open(ndjson_path, encoding="utf-8")]
if len(rows) != len(people) or loaded != len(people):
    fail(f"{len(rows)} rows in the Parquet file ({loaded} loaded by DuckDB), {len(people)} people in the NDJSON")
for i, (row, person) in enumerate(zip(rows, people)):
    want = {k: typed(sub, person.get(k)) for k, sub in schema["properties"].items()}
    want["id"] = person["id"] if isinstance(person["id"], str) else json.dumps(person["id"])
    if row != want:
        for k in want:
            if row.get(k) != want[k]:
                fail(f"row {i} ({person['id']}): {k} is {row.get(k)!r} in the Parquet file, {want[k]!r} in the NDJSON")
        fail(f"row {i} differs")
print(f"ok {len(rows)} people")
