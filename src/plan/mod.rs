//! The partition planner. One query can be paged only so deep (the API's result window, probably 10 000
//! people), so a search with more matches is split into disjoint parts that each fit, by adding filters,
//! and every part is walked on its own. The plan is a tree kept in the checkpoint: the whole search at
//! the root, each split part a child, and the leaves walked.
//!
//! A part's `total` comes from its first page: a `size: 1` probe for a part the plan made, which is kept
//! as the part's first page when the part fits. Splits use single-valued facets first (country, company
//! size), each with its "value missing" complement, and check that the parts' totals add up to their
//! parent's. Multi-valued facets (seniorities, departments) come only when those run out: their parts
//! overlap, so a person may be bought twice (and is written once). With `peoplePerCompany`, only
//! company-level facets are used, so the per-company cap keeps its meaning.

mod facet;

use serde::{Deserialize, Serialize};

use crate::api::PageMeta;
use crate::api::body::SearchBody;
use crate::fetch::Cursor;
pub use facet::{COUNTRY_CODES, Cut, Facet};

/// The largest page the API serves (`size` is at most 10 000).
pub const LARGEST_PAGE: u64 = 10_000;

/// The filters a part adds to the search, one cut per facet at most, in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice(pub Vec<(Facet, Cut)>);

impl Slice {
    fn cut(&self, facet: Facet) -> Option<&Cut> {
        self.0.iter().find(|(f, _)| *f == facet).map(|(_, cut)| cut)
    }

    fn with(&self, facet: Facet, cut: Cut) -> Slice {
        let mut cuts: Vec<(Facet, Cut)> = self.0.iter().filter(|(f, _)| *f != facet).cloned().collect();
        cuts.push((facet, cut));
        Slice(cuts)
    }

    /// The search body of this part of `search`.
    pub fn apply(&self, search: &SearchBody) -> SearchBody {
        let mut body = search.clone();
        for (facet, cut) in &self.0 {
            cut.apply(*facet, &mut body);
        }
        body
    }

    /// `country in dk, se; company size in 51-200`, or `the whole search`.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "the whole search".to_owned();
        }
        self.0.iter().map(|(facet, cut)| cut.describe(*facet)).collect::<Vec<_>>().join("; ")
    }
}

/// Where a part stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Its first page (the probe) is due.
    Probe,
    /// Being walked page by page.
    Walk,
    /// Above the window: to be split before anything else is sent (planning stopped here, at a limit).
    Divide,
    /// Split into the parts listed; not walked itself.
    Split { facet: Facet, parts: Vec<usize> },
    /// Walked to its end: every person of its total came.
    Done,
    /// Walked as far as the API allows, short of its total, and it cannot be split further.
    Short,
}

/// One part of the search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub slice: Slice,
    pub stage: Stage,
    /// `total` from its first page.
    pub total: Option<u64>,
    /// Its walk's cursor.
    pub cursor: Cursor,
    /// People its pages returned (paid for), duplicates included.
    pub returned: u64,
    /// People its pages added to the output (new ones).
    pub written: u64,
    pub pages: u64,
}

impl Part {
    fn new(slice: Slice) -> Part {
        Part { slice, stage: Stage::Probe, total: None, cursor: Cursor::default(), returned: 0, written: 0, pages: 0 }
    }

    /// Whether the part still has work left.
    pub fn open(&self) -> bool {
        matches!(self.stage, Stage::Probe | Stage::Walk | Stage::Divide)
    }

    /// Whether its next step is a request.
    pub fn fetching(&self) -> bool {
        matches!(self.stage, Stage::Probe | Stage::Walk)
    }

    /// People its total says it lacks, once walked.
    pub fn shortfall(&self) -> u64 {
        match self.stage {
            Stage::Done | Stage::Short => self.total.unwrap_or(0).saturating_sub(self.returned),
            _ => 0,
        }
    }
}

/// What the planner needs to know about the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// How deep one query can be paged; `None`: no window.
    pub window: Option<u64>,
    /// `peoplePerCompany` is set: split by company-level facets only.
    pub per_company: bool,
    /// Most parts a plan may have.
    pub max_parts: usize,
    /// People per page. A walk that ends short after less than a page was not stopped by a window.
    pub page: u64,
}

/// Why planning stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the search needs at least {needed} parts of at most {window} people (the result window), more than limits.max_partitions ({max}); narrow the search or raise the limit"
    )]
    TooManyParts { needed: usize, window: u64, max: usize },
}

/// The plan of an export: the parts of its search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The window the plan splits to: configured, or learned from where the API stopped.
    pub window: Option<u64>,
    /// The window was learned (the API stopped short of the configured one).
    pub window_learned: bool,
    /// Parts in the order they were made; part 0 is the whole search.
    pub parts: Vec<Part>,
    /// `size: 1` probes sent for parts the plan made (the whole search's first page is not one).
    pub probes: u64,
    /// Splits whose parts' totals did not add up to their parent's.
    pub gaps: Vec<String>,
    /// Parts that could not be split further although above the window.
    pub unsplittable: Vec<String>,
    /// The API refuses a cursor with `peoplePerCompany`: each part is fetched in one page, without cursor.
    pub single_page: bool,
}

/// What happened to a part after one of its pages.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn {
    /// Nothing changed its plan.
    Walking,
    /// The part was split into these parts.
    Split(Vec<usize>),
    /// The part ended.
    Ended,
}

impl Plan {
    /// A plan of the whole search, not split (yet).
    pub fn new(window: Option<u64>) -> Plan {
        Plan {
            window,
            window_learned: false,
            parts: vec![Part::new(Slice::default())],
            probes: 0,
            gaps: Vec::new(),
            unsplittable: Vec::new(),
            single_page: false,
        }
    }

    /// Whether every part has been walked (or split).
    pub fn done(&self) -> bool {
        self.parts.iter().all(|p| !p.open())
    }

    /// Whether the search is split at all.
    pub fn split(&self) -> bool {
        self.parts.len() > 1
    }

    /// The leaves: the parts that are walked.
    pub fn leaves(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| !matches!(p.stage, Stage::Split { .. }))
    }

    /// Whether every person the API counts came: no part short, and every split's totals add up.
    pub fn complete(&self) -> bool {
        self.done() && self.gaps.is_empty() && self.leaves().all(|p| p.shortfall() == 0)
    }

    /// People the leaves' totals promise (overlapping parts of multi-valued facets count twice).
    pub fn leaf_total(&self) -> u64 {
        self.leaves().map(|p| p.total.unwrap_or(0)).sum()
    }

    /// The people a part's next request asks for: a probe one person (a plan-made part), a page `page`,
    /// and in single-page mode the whole part. The whole search's first page asks for at most a hundredth
    /// of the window, so that a search which turns out too big wastes little when it is split.
    pub fn size_for(&self, index: usize, page: u64) -> u64 {
        match (&self.parts[index].stage, index, self.window) {
            (Stage::Probe, 0, Some(window)) => page.min((window / 100).max(1)),
            (Stage::Probe, 0, None) => page,
            (Stage::Probe, _, _) => 1,
            _ if self.single_page => self.parts[index].total.unwrap_or(1).clamp(1, LARGEST_PAGE),
            _ => page,
        }
    }

    /// The cursor of a part's next request (none in single-page mode, where each part is one page).
    pub fn cursor(&self, index: usize) -> Option<&str> {
        if self.single_page { None } else { self.parts[index].cursor.next.as_deref() }
    }

    /// The body of a part's next request, without size and cursor.
    pub fn body(&self, index: usize, search: &SearchBody) -> SearchBody {
        self.parts[index].slice.apply(search)
    }

    /// Folds a committed page of part `index` into the plan: its cursor moves on; a first page shows the
    /// part's total, and a part above the window is split; a walk that ends short of its total teaches
    /// the window and splits too. `needed`: at most this many people are wanted in all (limits), so a
    /// search the limits cut below the window is not split.
    pub fn record(
        &mut self,
        index: usize,
        meta: &PageMeta,
        written: u64,
        needed: Option<u64>,
        search: &SearchBody,
        rules: &Rules,
    ) -> Result<Turn, PlanError> {
        let part = &mut self.parts[index];
        let first = part.stage == Stage::Probe;
        part.pages += 1;
        part.returned += meta.people;
        part.written += written;
        if part.total.is_none() {
            part.total = meta.total;
        }
        part.cursor.advance(meta);
        if self.single_page && !first {
            // The one page of the part: whatever cursor came with it is not followed.
            part.cursor.done = true;
        }
        if first {
            part.stage = Stage::Walk;
            if index > 0 {
                self.probes += 1;
                self.check_cover(index);
            }
            let total = self.parts[index].total.unwrap_or(0);
            let wanted = if index == 0 { needed.map_or(total, |n| n.min(total)) } else { total };
            if self.window.is_some_and(|w| wanted > w) {
                self.parts[index].stage = Stage::Divide;
                if index == 0 {
                    self.check_size(wanted, rules)?;
                }
                return self.divide(index, search, rules);
            }
        }
        if self.parts[index].cursor.done {
            return self.ended(index, search, rules);
        }
        Ok(Turn::Walking)
    }

    /// The API refused to page part `index` further (a 422 at a deep cursor): the walk ended there. A
    /// refusal of the very first cursor of a `peoplePerCompany` search means the API takes no cursor with
    /// it at all: from then on every part is fetched in one page of up to 10 000 people, the window.
    pub fn refused(&mut self, index: usize, search: &SearchBody, rules: &Rules) -> Result<Turn, PlanError> {
        if rules.per_company && !self.single_page && self.parts[index].pages == 1 {
            tracing::warn!(
                "the API takes no searchAfter with peoplePerCompany: each part is fetched in one page of up to {LARGEST_PAGE} people"
            );
            self.single_page = true;
            self.window = Some(self.window.map_or(LARGEST_PAGE, |w| w.min(LARGEST_PAGE)));
            self.window_learned = true;
            let part = &mut self.parts[index];
            part.cursor = Cursor::default();
            if part.total.unwrap_or(0) > LARGEST_PAGE {
                part.stage = Stage::Divide;
                return self.divide(index, search, rules);
            }
            return Ok(Turn::Walking);
        }
        self.parts[index].cursor.done = true;
        self.ended(index, search, rules)
    }

    /// A part's walk ended: done, or short of its total, which teaches the window and splits the part.
    fn ended(&mut self, index: usize, search: &SearchBody, rules: &Rules) -> Result<Turn, PlanError> {
        let part = &self.parts[index];
        let (returned, total) = (part.returned, part.total.unwrap_or(0));
        if returned >= total || part.cursor.repeated {
            self.parts[index].stage = Stage::Done;
            return Ok(Turn::Ended);
        }
        // The API stopped before the total: its window is at most where it stopped. A walk that did not get
        // a single page's worth met no window (the API's total is off, say): that part is short.
        if returned < rules.page {
            self.parts[index].stage = Stage::Short;
            return Ok(Turn::Ended);
        }
        if self.window.is_none_or(|w| returned < w) {
            tracing::warn!(
                part = %part.slice.describe(),
                returned,
                total,
                "the API stopped paging at {returned} of {total} people: taking {returned} as its result window"
            );
            self.window = Some(returned);
            self.window_learned = true;
        }
        match self.window {
            Some(_) => {
                self.parts[index].stage = Stage::Divide;
                self.divide(index, search, rules)
            }
            None => {
                self.parts[index].stage = Stage::Short;
                Ok(Turn::Ended)
            }
        }
    }

    /// Splits part `index` by the first facet that still has values to split, or marks it short when none
    /// has (it is then walked as far as the API allows).
    fn divide(&mut self, index: usize, search: &SearchBody, rules: &Rules) -> Result<Turn, PlanError> {
        let facets: &[Facet] = if rules.per_company {
            &[Facet::CompanySize]
        } else {
            &[Facet::Country, Facet::CompanySize, Facet::Seniority, Facet::Department]
        };
        let slice = self.parts[index].slice.clone();
        for &facet in facets {
            // Cuts are made within what the whole search allows, so a part's cut is replaced by narrower ones.
            let cuts = Cut::split(slice.cut(facet), facet, &facet.universe(search));
            let Some(cuts) = cuts else { continue };
            if self.parts.len() + cuts.len() > rules.max_parts {
                let needed = self.parts.len() + cuts.len();
                return Err(PlanError::TooManyParts { needed, window: self.window.unwrap_or(0), max: rules.max_parts });
            }
            let first = self.parts.len();
            for cut in cuts {
                self.parts.push(Part::new(slice.with(facet, cut)));
            }
            let parts: Vec<usize> = (first..self.parts.len()).collect();
            tracing::info!(
                part = %slice.describe(),
                total = self.parts[index].total,
                window = self.window,
                "splitting by {} into {} parts",
                facet.label(),
                parts.len()
            );
            self.parts[index].stage = Stage::Split { facet, parts: parts.clone() };
            return Ok(Turn::Split(parts));
        }
        let part = &mut self.parts[index];
        let described = part.slice.describe();
        if !self.unsplittable.contains(&described) {
            tracing::warn!(
                part = %described,
                total = part.total,
                "this part is above the result window and has nothing left to split on: it is walked as far as the API allows"
            );
            self.unsplittable.push(described);
        }
        // Walked on as far as the API lets it; short if it ends before its total.
        part.stage = if part.cursor.done { Stage::Short } else { Stage::Walk };
        Ok(Turn::Walking)
    }

    /// Splits the parts that a stop left to be split (before anything else is sent).
    pub fn divide_pending(&mut self, search: &SearchBody, rules: &Rules) -> Result<(), PlanError> {
        while let Some(index) = self.parts.iter().position(|p| p.stage == Stage::Divide) {
            if index == 0 {
                let total = self.parts[0].total.unwrap_or(0);
                self.check_size(total, rules)?;
            }
            self.divide(index, search, rules)?;
        }
        Ok(())
    }

    /// Refuses a search that would need more parts than allowed, before any probe is spent on it.
    fn check_size(&self, wanted: u64, rules: &Rules) -> Result<(), PlanError> {
        let Some(window) = self.window.filter(|w| *w > 0) else { return Ok(()) };
        let parts = usize::try_from(wanted.div_ceil(window)).unwrap_or(usize::MAX);
        if wanted > window && parts > rules.max_parts {
            return Err(PlanError::TooManyParts { needed: parts, window, max: rules.max_parts });
        }
        Ok(())
    }

    /// Once every part of a split has its total, checks that they cover the parent: for a single-valued
    /// facet they must add up to it exactly, for a multi-valued one to at least it.
    fn check_cover(&mut self, child: usize) {
        let Some(parent) =
            self.parts.iter().position(|p| matches!(&p.stage, Stage::Split { parts, .. } if parts.contains(&child)))
        else {
            return;
        };
        let Stage::Split { facet, parts } = &self.parts[parent].stage else { return };
        let totals: Option<Vec<u64>> = parts.iter().map(|&i| self.parts[i].total).collect();
        let (Some(totals), Some(whole)) = (totals, self.parts[parent].total) else { return };
        let sum: u64 = totals.iter().sum();
        let covered = if facet.single_valued() { sum == whole } else { sum >= whole };
        if !covered {
            let gap = format!(
                "the parts of `{}` by {} hold {sum} people, but it holds {whole}",
                self.parts[parent].slice.describe(),
                facet.label()
            );
            tracing::warn!("{gap}: the export cannot be called complete");
            self.gaps.push(gap);
        }
    }
}

#[cfg(test)]
mod tests;
