//! What this build is (version, git commit, enabled features), for `--version` and the report; `build.rs`
//! finds the commit and the features.

use serde::{Deserialize, Serialize};

/// `-V`: the version, and the commit when built from a checkout.
pub const SHORT: &str = if COMMIT.is_empty() {
    env!("CARGO_PKG_VERSION")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("OCEAN_BUILD_INFO_COMMIT"), ")")
};

/// `--version`: the version, the commit and the features, one per line.
pub fn long() -> &'static str {
    static LONG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let tool = Tool::current();
        let features = if tool.features.is_empty() { "none".to_owned() } else { tool.features.join(", ") };
        format!(
            "{}\ncommit:   {}\nfeatures: {features}",
            tool.version,
            tool.commit.as_deref().unwrap_or("unknown (not built from a git checkout)")
        )
    });
    &LONG
}

/// Empty when the build had neither a git checkout nor `OCEAN_BUILD_COMMIT`.
const COMMIT: &str = env!("OCEAN_BUILD_INFO_COMMIT");
/// Comma separated, without `default`; empty when none.
const FEATURES: &str = env!("OCEAN_BUILD_INFO_FEATURES");

/// The tool that wrote a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// The git commit it was built from, when known.
    pub commit: Option<String>,
    pub features: Vec<String>,
}

impl Tool {
    /// This build.
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: (!COMMIT.is_empty()).then(|| COMMIT.to_owned()),
            features: FEATURES.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
        }
    }
}
