//! Injected faults and latency. Each request gets its dice from (fault seed, request sequence number), so
//! the same seed and the same order of requests give the same faults and delays, run after run.

use std::time::Duration;

use crate::dice::{Dice, Stream};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fault {
    /// Close the connection before any response.
    Reset,
    /// 429 with `Retry-After`.
    TooMany,
    /// 500, 502, 503 or 504 with an HTML body.
    Server(u16),
    /// A 200 whose body stops after this fraction of the people (then the connection closes).
    Truncate(f64),
}

impl Fault {
    /// The request log's name of the fault.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Reset => "reset",
            Fault::TooMany => "429",
            Fault::Server(_) => "5xx",
            Fault::Truncate(_) => "truncate",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Faults {
    pub seed: u64,
    pub reset: f64,
    pub too_many: f64,
    pub server: f64,
    pub truncate: f64,
    pub latency: Duration,
    pub jitter_ms: u64,
}

impl Faults {
    /// The fault (if any) and the delay of request number `seq`. One uniform draw is split into
    /// consecutive ranges (reset, 429, 5xx, truncate), so the faults exclude each other and each keeps its
    /// probability as long as they sum to at most 1.
    pub fn roll(&self, seq: u64) -> (Option<Fault>, Duration) {
        let mut d = Dice::new(self.seed, Stream::Fault, seq);
        let r = d.unit();
        let detail = d.unit();
        let delay = self.latency + Duration::from_millis(d.below(self.jitter_ms + 1));
        let mut edge = 0.0;
        let mut hit = |p: f64| {
            edge += p;
            r < edge
        };
        let fault = if hit(self.reset) {
            Some(Fault::Reset)
        } else if hit(self.too_many) {
            Some(Fault::TooMany)
        } else if hit(self.server) {
            Some(Fault::Server([500, 502, 503, 504][(detail * 4.0) as usize % 4]))
        } else if hit(self.truncate) {
            Some(Fault::Truncate(detail))
        } else {
            None
        };
        (fault, delay)
    }
}

/// An nginx-style error page, as a proxy in front of the API would send.
pub(crate) fn html_error(status: u16) -> String {
    let reason = match status {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        _ => "Gateway Time-out",
    };
    format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}
