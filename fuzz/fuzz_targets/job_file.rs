//! Job-file loader: any bytes make a checked job or a `JobError`, never a panic.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ocean_export::job::{self, Context};

/// A fixed context: no flags, no environment, no user settings, a fixed clock.
static CONTEXT: LazyLock<Context> = LazyLock::new(|| Context {
    overrides: Default::default(),
    environment: vec![],
    user_settings: None,
    now: "2026-11-27T23:59:59+01:00[Europe/Copenhagen]".parse().expect("a valid time"),
});

fuzz_target!(|data: &[u8]| {
    if let Err(error) = job::from_bytes(Path::new("fuzz.toml"), data.to_vec(), &CONTEXT) {
        // Rendering is part of the contract too: every error prints (and the CLI renders its snippet).
        let _ = error.to_string();
        let mut rendered = String::new();
        let _ = miette::GraphicalReportHandler::new().render_report(&mut rendered, &error);
    }
});
