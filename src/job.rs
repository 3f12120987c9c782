//! The job file: TOML → typed, checked job (search, seeds, output, API settings, limits).
