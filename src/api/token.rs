//! The API token: a secret that prints as `[redacted]` everywhere and is only exposed to build the request header.

use std::fmt;

/// An Ocean API token. `Debug` and `Display` both print `[redacted]`, so it cannot leak through logs,
/// errors or `{:?}` of a struct that holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token, trimming surrounding whitespace (token files usually end with a newline).
    /// Returns `None` when nothing is left.
    pub fn new(raw: impl AsRef<str>) -> Option<Token> {
        let trimmed = raw.as_ref().trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_owned()))
    }

    /// The secret itself. Call only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let token = Token::new("  s3cr3t-value\n").unwrap();
        assert_eq!(token.expose(), "s3cr3t-value");
        assert_eq!(format!("{token}"), "[redacted]");
        assert_eq!(format!("{token:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&token)), "Some([redacted])");
        assert!(Token::new(" \n").is_none());
    }
}
