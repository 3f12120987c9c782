//! People → output rows: the streaming page parser and the CSV and NDJSON writers.
