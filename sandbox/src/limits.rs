//! The account side: which tokens are accepted and whose account each is, the credit balance (optionally
//! persisted, so a restarted sandbox continues it), and the request limits per minute and per UTC day.
//!
//! Limits are per account, as Ocean's are per organisation: `--token NAME@ACCOUNT` puts NAME in ACCOUNT,
//! whose tokens share the limits; a plain `--token NAME` is an account of its own. The balance is the
//! sandbox's one balance, shared by every token.
//!
//! What counts against the limits: only requests that are served (status 200, including bodies cut short
//! by `--fault-truncate`). Requests rejected earlier (403, 400, 413, 422, 402), rejected by a limit (429),
//! or failed by an injected 429/5xx/reset do not count, and `GET /v2/credits/balance` is free.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use serde::{Deserialize, Serialize};

use crate::SandboxError;

/// What the balance endpoint reports for an unlimited balance.
pub const UNLIMITED_BALANCE: f64 = 1_000_000_000.0;

/// What the balance endpoint reports as `dailyLimitRateLeft` when there is no daily limit.
pub const UNLIMITED_DAILY: u64 = 1_000_000_000;

/// The accepted tokens (as sent) and their accounts.
pub(crate) struct Accounts {
    /// Each accepted token and the index of its account.
    tokens: Vec<(String, usize)>,
    /// Each account's name; `None` for the account of a plain token.
    names: Vec<Option<String>>,
}

/// Who sent a request: which accepted token (its index in `--token` order) and which account.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub token: usize,
    pub account: usize,
}

impl Accounts {
    /// From `--token` values: `NAME` or `NAME@ACCOUNT` (split at the last `@`).
    pub fn parse(specs: &[String]) -> Result<Accounts, SandboxError> {
        let mut accounts = Accounts { tokens: Vec::new(), names: Vec::new() };
        for spec in specs {
            let (name, account) = match spec.rsplit_once('@') {
                Some((name, account)) => (name, Some(account)),
                None => (spec.as_str(), None),
            };
            if name.is_empty() || account.is_some_and(str::is_empty) {
                return Err(SandboxError::Option(format!("--token {spec:?}: expected NAME or NAME@ACCOUNT")));
            }
            if let Some((_, existing)) = accounts.tokens.iter().find(|(t, _)| t == name) {
                // The same token given twice is harmless; in two accounts it is a contradiction.
                if accounts.names[*existing].as_deref() != account {
                    return Err(SandboxError::Option(format!("--token {name} is given for two accounts")));
                }
                continue;
            }
            let index = match account.and_then(|a| accounts.names.iter().position(|n| n.as_deref() == Some(a))) {
                Some(index) => index,
                None => {
                    accounts.names.push(account.map(str::to_string));
                    accounts.names.len() - 1
                }
            };
            accounts.tokens.push((name.to_string(), index));
        }
        Ok(accounts)
    }

    /// The first accepted token, as sent.
    pub fn first(&self) -> Option<&str> {
        self.tokens.first().map(|(t, _)| t.as_str())
    }

    pub fn find(&self, token: &str) -> Option<Caller> {
        let index = self.tokens.iter().position(|(t, _)| t == token)?;
        Some(Caller { token: index, account: self.tokens[index].1 })
    }

    /// The account's name, `None` for a plain token's own account.
    pub fn name(&self, account: usize) -> Option<&str> {
        self.names.get(account).and_then(Option::as_deref)
    }
}

/// Credit amounts are kept to 1e-9 so that 0.2 × 3 shows as 0.6 and balances do not drift.
fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// The JSON of `--credits-file`: `{"balance": 123.4}`, or `{"balance": null}` for unlimited.
#[derive(Serialize, Deserialize)]
struct BalanceFile {
    balance: Option<f64>,
}

pub(crate) struct Credits {
    balance: Mutex<Option<f64>>,
    price: f64,
    file: Option<PathBuf>,
}

/// Why a request was not admitted.
pub(crate) enum Refusal {
    /// 402.
    Credits,
    /// 429: seconds to wait, the limit broken, and the `detail` text.
    Limited { retry_after: u64, limit: u32, detail: String },
}

impl Credits {
    /// The balance of `file` if it exists, else `start` (`None` = unlimited), written to `file` if given.
    pub fn open(start: Option<f64>, price: f64, file: Option<PathBuf>) -> Result<Credits, SandboxError> {
        let balance = match &file {
            Some(path) if path.exists() => {
                let io = |source| SandboxError::Io { path: path.clone(), source };
                let text = std::fs::read_to_string(path).map_err(io)?;
                let parsed: BalanceFile = serde_json::from_str(&text)
                    .map_err(|e| SandboxError::Option(format!("{}: not a credits file ({e})", path.display())))?;
                parsed.balance
            }
            _ => start,
        };
        let credits = Credits { balance: Mutex::new(balance), price, file };
        if let Some(path) = &credits.file {
            persist(path, balance)?;
        }
        Ok(credits)
    }

    /// Price of a page of `people`.
    pub fn cost(&self, people: u64) -> f64 {
        round(people as f64 * self.price)
    }

    /// `None` when unlimited.
    pub fn balance(&self) -> Option<f64> {
        *self.balance.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit a page costing `cost`: 402 if the balance cannot pay it, then `limits` (the rate limits), then
    /// the charge (`charge == false` for a response that will be cut short: faulted requests are free).
    /// All under one lock, so concurrent pages cannot overdraw the balance.
    pub fn admit(&self, cost: f64, charge: bool, limits: impl FnOnce() -> Result<(), Refusal>) -> Result<(), Refusal> {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        if balance.is_some_and(|b| b + 1e-9 < cost) {
            return Err(Refusal::Credits);
        }
        limits()?;
        if charge && cost > 0.0 {
            if let Some(b) = balance.as_mut() {
                *b = round(*b - cost);
            }
            if let Some(path) = &self.file
                && let Err(e) = persist(path, *balance)
            {
                tracing::error!("sandbox: cannot persist the credit balance: {e}");
            }
        }
        Ok(())
    }
}

fn persist(path: &Path, balance: Option<f64>) -> Result<(), SandboxError> {
    let text = serde_json::to_string(&BalanceFile { balance }).unwrap_or_default();
    crate::durable::replace(path, text.as_bytes())
        .map_err(|source| SandboxError::Io { path: path.to_path_buf(), source })
}

/// Requests per minute (GCRA, a burst of the whole minute's allowance) and per UTC day, per account.
pub(crate) struct RateLimits {
    per_minute: Option<(u32, DefaultKeyedRateLimiter<usize>)>,
    per_day: Option<(u32, Mutex<DayCounts>)>,
}

/// Per account: the UTC day number and the requests counted on it.
type DayCounts = HashMap<usize, (u64, u32)>;

impl RateLimits {
    pub fn new(rpm: Option<u32>, daily: Option<u32>) -> RateLimits {
        RateLimits {
            per_minute: rpm
                .and_then(NonZeroU32::new)
                .map(|n| (n.get(), DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))),
            per_day: daily.map(|n| (n, Mutex::new(HashMap::new()))),
        }
    }

    /// Count one served request of `account`, or refuse it without counting.
    pub fn admit(&self, account: usize) -> Result<(), Refusal> {
        let today = utc_day();
        let mut days = self.per_day.as_ref().map(|(limit, m)| (*limit, m.lock().unwrap_or_else(|e| e.into_inner())));
        if let Some((limit, days)) = days.as_mut() {
            let (day, used) = days.entry(account).or_insert((today, 0));
            if *day != today {
                (*day, *used) = (today, 0);
            }
            if *used >= *limit {
                return Err(Refusal::Limited {
                    retry_after: seconds_to_midnight(),
                    limit: *limit,
                    detail: format!("Daily API limit of {limit} requests exceeded; it resets at midnight UTC"),
                });
            }
        }
        if let Some((limit, limiter)) = &self.per_minute
            && let Err(not_until) = limiter.check_key(&account)
        {
            let wait = not_until.wait_time_from(limiter.clock().now());
            return Err(Refusal::Limited {
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                limit: *limit,
                detail: format!("Rate limit of {limit} requests per minute exceeded"),
            });
        }
        if let Some((_, days)) = days.as_mut()
            && let Some((_, used)) = days.get_mut(&account)
        {
            *used += 1;
        }
        Ok(())
    }

    /// Requests `account` has left today.
    pub fn daily_left(&self, account: usize) -> u64 {
        let Some((limit, days)) = &self.per_day else {
            return UNLIMITED_DAILY;
        };
        let days = days.lock().unwrap_or_else(|e| e.into_inner());
        let used = days.get(&account).filter(|(day, _)| *day == utc_day()).map_or(0, |(_, used)| *used);
        u64::from(limit.saturating_sub(used))
    }

    /// The per-minute limit, reported on injected 429s too.
    pub fn per_minute(&self) -> Option<u32> {
        self.per_minute.as_ref().map(|(n, _)| *n)
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

fn utc_day() -> u64 {
    unix_seconds() / 86_400
}

/// Seconds until the next UTC midnight, at least 1.
pub(crate) fn seconds_to_midnight() -> u64 {
    86_400 - unix_seconds() % 86_400
}
