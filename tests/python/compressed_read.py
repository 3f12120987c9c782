"""Compressed exports as DuckDB reads them: a gzip CSV and a zstd NDJSON of many members or frames.

usage: compressed_read.py PEOPLE.csv.gz PEOPLE.ndjson.zst ID_HEADER

Prints the ids of each, one list per line, as JSON: the caller compares them with the plain files.
"""
import json
import sys

import duckdb

csv_path, ndjson_path, id_header = sys.argv[1:4]
con = duckdb.connect()
csv_ids = [r[0] for r in con.execute(
    f"SELECT \"{id_header}\" FROM read_csv(?, header = true, all_varchar = true)", [csv_path]).fetchall()]
ndjson_ids = [r[0] for r in con.execute(
    "SELECT id FROM read_json(?, format = 'newline_delimited', compression = 'zstd')", [ndjson_path]).fetchall()]
print(json.dumps(csv_ids))
print(json.dumps(ndjson_ids))
