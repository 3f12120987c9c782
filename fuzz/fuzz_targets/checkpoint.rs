//! Checkpoint reader: any bytes make a checkpoint or a reason it is damaged, never a panic.
//!
//! The checksum makes almost every mutation of a real file fail at the envelope, so each input is also
//! tried as the checkpoint's content inside a correct envelope, and an accepted checkpoint must come back
//! unchanged from a save-and-load round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ocean_export::checkpoint;
use sha2::{Digest, Sha256};

/// The envelope `StateDir::save` writes around a checkpoint's JSON.
fn envelope(content: &[u8]) -> Vec<u8> {
    let sha256 = hex::encode(Sha256::digest(content));
    let mut out = format!("{{\"sha256\": \"{sha256}\", \"checkpoint\": ").into_bytes();
    out.extend_from_slice(content);
    out.push(b'}');
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = checkpoint::parse(data);
    let content = data.trim_ascii();
    if let Ok(parsed) = checkpoint::parse(&envelope(content)) {
        let saved = serde_json::to_string_pretty(&parsed).expect("a checkpoint serializes");
        let loaded = checkpoint::parse(&envelope(saved.as_bytes())).expect("a saved checkpoint loads");
        assert_eq!(loaded, parsed, "a checkpoint changed in a save-and-load round trip");
    }
});
