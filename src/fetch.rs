//! The searchAfter walk: one shared pacer, retry with backoff, page by page into the sink.
