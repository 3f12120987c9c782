//! `searchAfter` cursors: opaque URL-safe strings carrying the position in the result list, the page
//! number of the walk, and the query hash, sealed with a MAC keyed by the dataset seed.
//!
//! Being derived from (seed, query, position, page) only, a cursor stays valid when only `size` changes and
//! across restarts of a sandbox with the same dataset, which resume tests rely on. The same position and
//! page always give the same string, which is how the repeat-cursor bug mode returns "the cursor sent".

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 8 + 4 + 8;

/// Where a page starts: `position` in the result list, `page` of the walk (0 = the request without cursor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub position: u64,
    pub page: u32,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CursorError {
    #[error("searchAfter is not a cursor issued by this server")]
    Malformed,
    #[error("searchAfter belongs to a different search; send the same filters as the request that returned it")]
    OtherQuery,
    #[error("searchAfter points past the end of the results")]
    OutOfRange,
}

pub(crate) fn encode(seed: u64, query: &[u8; 16], cursor: Cursor) -> String {
    let mut bytes = [0u8; LEN];
    bytes[0] = VERSION;
    bytes[1..9].copy_from_slice(&query[..8]);
    bytes[9..17].copy_from_slice(&cursor.position.to_le_bytes());
    bytes[17..21].copy_from_slice(&cursor.page.to_le_bytes());
    let mac = mac(seed, &bytes[..21]);
    bytes[21..].copy_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode a cursor sent with a query whose result list has `total` entries.
pub(crate) fn decode(seed: u64, query: &[u8; 16], total: u64, text: &str) -> Result<Cursor, CursorError> {
    let bytes = URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|_| CursorError::Malformed)?;
    if bytes.len() != LEN || bytes[0] != VERSION || bytes[21..] != mac(seed, &bytes[..21]) {
        return Err(CursorError::Malformed);
    }
    if bytes[1..9] != query[..8] {
        return Err(CursorError::OtherQuery);
    }
    let position = u64::from_le_bytes(bytes[9..17].try_into().map_err(|_| CursorError::Malformed)?);
    let page = u32::from_le_bytes(bytes[17..21].try_into().map_err(|_| CursorError::Malformed)?);
    if position > total {
        return Err(CursorError::OutOfRange);
    }
    Ok(Cursor { position, page })
}

fn mac(seed: u64, payload: &[u8]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(b"ocean-export sandbox cursor\0");
    h.update(seed.to_le_bytes());
    h.update(payload);
    let digest = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let q = [7u8; 16];
        let c = Cursor { position: 1234, page: 5 };
        let text = encode(42, &q, c);
        assert_eq!(decode(42, &q, 2000, &text), Ok(c));
        assert_eq!(decode(43, &q, 2000, &text), Err(CursorError::Malformed));
        assert_eq!(decode(42, &[8u8; 16], 2000, &text), Err(CursorError::OtherQuery));
        assert_eq!(decode(42, &q, 1000, &text), Err(CursorError::OutOfRange));
        assert_eq!(decode(42, &q, 2000, "N4IglgdgJgpgHiAXAVgL5A"), Err(CursorError::Malformed));
    }
}
