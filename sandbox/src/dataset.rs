//! The synthetic dataset: person i is a pure function of (seed, i), so a test can compute the ground truth
//! of any query without asking the server.
//!
//! A person is drawn in two steps from one random stream: first the cheap [`Traits`] every filter looks at
//! (drawn for every person a query scans), then the rest of the profile (drawn only for people on a page).
//! Nothing is rendered to text until the person is serialised, and serialisation writes straight into the
//! response buffer, so serving a page costs little more than the bytes it sends.
//!
//! Every filter the sandbox applies looks only at what the person's JSON shows (a `company: null` person
//! has no visible company size, a `country: null` person is in no country), so ground truth computed from
//! [`Dataset::person`] agrees with the server.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::dice::{Dice, Stream, mix};
use crate::permute::{key32, key64, person_id, unpermute32, unpermute64};
pub use crate::profile::FIXED_HANDLES;
use crate::profile::{
    Company, Experience, Funding, Headline, LONG_SUMMARY_BLOCKS, Location, NameRef, Person, Phone, Stamp, Summary,
    Tags, TitleRef, Traits, Val, push_handle,
};
use crate::render::{self, Projection};
use crate::vocab::{self, COUNTRIES, Name};

/// Size of the company pool. It is fixed, not derived from the number of people, so that person i does not
/// depend on the dataset size.
pub const COMPANIES: u32 = 2048;

/// Person i as JSON, every field included. The company pool of the last (seed, hostile share) asked for is
/// kept, so computing the ground truth of many people this way stays cheap.
pub fn person(seed: u64, index: u64, hostile_share: f64) -> serde_json::Value {
    static LAST: Mutex<Option<Arc<Dataset>>> = Mutex::new(None);
    let dataset = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some(d) if d.seed == seed && d.hostile_share.to_bits() == hostile_share.to_bits() => d.clone(),
            _ => {
                // The size only bounds lookups by id or handle; person i does not depend on it.
                let d = Arc::new(Dataset::new(seed, u64::from(u32::MAX), hostile_share));
                *last = Some(d.clone());
                d
            }
        }
    };
    dataset.person(index)
}

/// One dataset: its seed, size, share of hostile people, and the company pool with its domain index.
pub struct Dataset {
    seed: u64,
    people: u64,
    hostile_share: f64,
    companies: Vec<Company>,
    by_domain: HashMap<String, u32>,
    by_stem: HashMap<String, u32>,
}

impl Dataset {
    pub fn new(seed: u64, people: u64, hostile_share: f64) -> Self {
        let companies: Vec<Company> = (0..COMPANIES)
            .map(|c| {
                let mut company = Company::generate(seed, c);
                company.json = render::company_json(&company, Projection::ALL);
                company.default_json = render::company_json(&company, *render::SCHEMA_DEFAULT);
                company
            })
            .collect();
        let by_domain = companies.iter().enumerate().map(|(c, co)| (co.domain.clone(), c as u32)).collect();
        let by_stem = companies.iter().enumerate().map(|(c, co)| (co.stem.clone(), c as u32)).collect();
        Dataset { seed, people, hostile_share, companies, by_domain, by_stem }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn len(&self) -> u64 {
        self.people
    }

    pub fn is_empty(&self) -> bool {
        self.people == 0
    }

    pub fn hostile_share(&self) -> f64 {
        self.hostile_share
    }

    /// Person `index` as JSON, every field included, exactly as the server serialises it.
    pub fn person(&self, index: u64) -> serde_json::Value {
        let mut bytes = Vec::new();
        render::write_person(&mut bytes, &self.generate(index), &Projection::ALL);
        serde_json::from_slice(&bytes).expect("the sandbox writes valid JSON")
    }

    /// The internal id (`id` field) of person `index`.
    pub fn id(&self, index: u64) -> String {
        format!("{:016x}", person_id(self.seed, index))
    }

    /// The LinkedIn handle in `linkedinUrl` of person `index`.
    pub fn handle(&self, index: u64) -> String {
        let mut out = String::with_capacity(48);
        push_handle(&mut out, self.seed, &self.traits(index));
        out
    }

    /// The person with this id, if any.
    pub fn index_of_id(&self, id: &str) -> Option<u64> {
        let id = id.trim();
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let x = u64::from_str_radix(id, 16).ok()?;
        let index = unpermute64(key64(self.seed), x);
        (index < self.people).then_some(index)
    }

    /// The person with this LinkedIn handle, given as a bare handle or as a profile URL, in any case.
    pub fn index_of_handle(&self, handle: &str) -> Option<u64> {
        let handle = normalise_handle(handle);
        if let Some(i) = FIXED_HANDLES.iter().position(|h| *h == handle) {
            return ((i as u64) < self.people).then_some(i as u64);
        }
        let (_, suffix) = handle.rsplit_once('-')?;
        if suffix.len() != 8 {
            return None;
        }
        let index = u64::from(unpermute32(key32(self.seed), u32::from_str_radix(suffix, 16).ok()?));
        (index >= FIXED_HANDLES.len() as u64 && index < self.people && self.handle(index) == handle).then_some(index)
    }

    /// The company of the pool whose domain this is, after the aliases Ocean follows: scheme, `www.`, path
    /// and case are ignored, and an unknown top-level domain falls back to the company with the same stem
    /// (`nordlysdata.nl` finds `nordlysdata.dk`).
    pub(crate) fn resolve_domain(&self, domain: &str) -> Option<(u32, &str)> {
        let clean = normalise_domain(domain);
        let c = self.by_domain.get(&clean).or_else(|| {
            let (stem, _) = clean.split_once('.')?;
            self.by_stem.get(stem)
        })?;
        Some((*c, &self.companies[*c as usize].domain))
    }

    pub(crate) fn company(&self, c: u32) -> &Company {
        &self.companies[c as usize]
    }

    /// The filterable attributes of person `index`: cheap, no text is built.
    pub(crate) fn traits(&self, index: u64) -> Traits {
        self.draw_traits(index).0
    }

    fn draw_traits(&self, index: u64) -> (Traits, Dice) {
        let mut d = Dice::new(self.seed, Stream::Person, index);
        let hostile_roll = d.unit();
        let rank = (f64::from(COMPANIES) * d.unit().powi(3)) as u64;
        let company = ((rank * 1517 + mix(self.seed ^ 0x5eed) % u64::from(COMPANIES)) % u64::from(COMPANIES)) as u32;
        // Drawn and ignored, so that every later draw of a person stays what it was.
        let _ = d.chance(0.03);
        let company_visible = self.companies[company as usize].known;
        let home = self.companies[company as usize].country;
        let country = if d.chance(0.03) {
            None
        } else if d.chance(0.7) {
            Some(home)
        } else {
            Some(d.weighted(COUNTRIES.iter().map(|(_, w)| *w)) as u8)
        };
        let places = COUNTRIES[usize::from(country.unwrap_or(home))].0.places.len();
        let place = d.index(places) as u8;
        let hostile = index >= FIXED_HANDLES.len() as u64 && hostile_roll < self.hostile_share;
        let title = if d.chance(0.04) {
            None
        } else if hostile && d.chance(0.5) {
            Some(TitleRef::Hostile(d.index(vocab::HOSTILE_TITLES.len()) as u8))
        } else {
            Some(TitleRef::Plain(d.index(vocab::TITLES.len()) as u8))
        };
        let (seniority, department) = match title {
            Some(r) => (r.info().seniority_bit, r.info().department_bit),
            None => (1 << d.index(vocab::SENIORITIES.len()), 1 << d.index(vocab::DEPARTMENTS.len())),
        };
        let seniorities = Tags::draw(&mut d, seniority, vocab::SENIORITIES.len());
        let departments = Tags::draw(&mut d, department, vocab::DEPARTMENTS.len());
        let pool = country.map_or(0, |c| COUNTRIES[usize::from(c)].0.names);
        let first = NameRef::draw(&mut d, hostile, pool, &vocab::FIRST_NAMES, vocab::HOSTILE_FIRST_NAMES.len());
        let last = NameRef::draw(&mut d, hostile, pool, &vocab::LAST_NAMES, vocab::HOSTILE_LAST_NAMES.len());
        let mut t = Traits {
            index,
            hostile,
            company,
            company_visible,
            country,
            place,
            title,
            seniorities,
            departments,
            first,
            last,
        };
        if index < FIXED_HANDLES.len() as u64 {
            t.fix_office_person();
        }
        (t, d)
    }

    /// The whole profile of person `index`, as draws; text is rendered only when serialised.
    pub(crate) fn generate(&self, index: u64) -> Person<'_> {
        let (t, mut d) = self.draw_traits(index);
        let company = &self.companies[t.company as usize];
        let hostile = t.hostile;
        let snippet = |d: &mut Dice| d.pick(&vocab::HOSTILE_SNIPPETS);
        let name = Val::draw(&mut d, 0.0, 0.02, ());
        let first_name = Val::draw(&mut d, 0.0, 0.03, ());
        let last_name = Val::draw(&mut d, 0.0, 0.03, ());
        let state = Val::draw(&mut d, 0.05, 0.05, ());
        let location = if d.chance(0.04) {
            Val::Null
        } else if hostile && d.chance(0.3) {
            Val::Is(Location::Snippet(snippet(&mut d)))
        } else {
            Val::Is(Location::Place)
        };
        let photo = if d.chance(0.25) { Val::Null } else { Val::Is(d.u64()) };
        let title_english = Val::draw(&mut d, 0.0, 0.1, ());
        let current_job = if d.chance(0.3) {
            Val::Null
        } else if hostile && d.chance(0.4) {
            Val::Is(snippet(&mut d))
        } else {
            Val::Is(d.pick(&vocab::DESCRIPTIONS))
        };
        let experiences = self.draw_experiences(&mut d, &t);
        let summary = if hostile {
            if d.chance(0.5) {
                Val::Is(Summary::Long(d.index(LONG_SUMMARY_BLOCKS)))
            } else {
                Val::Is(Summary::Short(snippet(&mut d), d.pick(&vocab::HOSTILE_PARAGRAPHS)))
            }
        } else if d.chance(0.2) {
            Val::Null
        } else {
            Val::Is(Summary::Short(d.pick(&vocab::DESCRIPTIONS), d.pick(&vocab::DESCRIPTIONS)))
        };
        let skills = match d.below(10) {
            0 => Val::Null,
            1 => Val::Is(0),
            _ => {
                let count = 1 + d.index(6);
                Val::Is(distinct_mask(&mut d, count, vocab::SKILLS.len()))
            }
        };
        let phone = if d.chance(0.5) {
            Val::Null
        } else {
            let status = d.index(vocab::PHONE_STATUSES.len());
            let numbers = match status {
                0 => Val::Is([d.below(100_000_000), d.below(100_000_000)][..1 + d.index(2)].to_vec()),
                1 => Val::Null,
                _ => Val::Is(Vec::new()),
            };
            Val::Is(Phone { status, numbers })
        };
        let email = match d.below(20) {
            0..=2 => Val::Null,
            3 => Val::Absent,
            _ => Val::Is(d.pick(&vocab::EMAIL_STATUSES)),
        };
        let inferred_emails = match d.below(10) {
            0..=4 => Val::Absent,
            5 | 6 => Val::Is(0),
            _ => Val::Is(1 + d.below(2) as u8),
        };
        let updated = Stamp::draw(&mut d);
        let connections = if d.chance(0.05) { Val::Null } else { Val::Is(skewed(&mut d, 30_000)) };
        let followers = match d.below(50) {
            0 => Val::Absent,
            1..=4 => Val::Null,
            _ => Val::Is(skewed(&mut d, 250_000)),
        };
        let headline = match d.below(10) {
            0 => Val::Absent,
            1 => Val::Null,
            _ if hostile && d.chance(0.4) => Val::Is(Headline::Snippet(snippet(&mut d))),
            _ => Val::Is(Headline::TitleAtCompany),
        };
        let relevance = if d.chance(0.3) { Val::Null } else { Val::Is(d.pick(&vocab::RELEVANCES)) };
        Person {
            seed: self.seed,
            id: person_id(self.seed, index),
            t,
            company,
            name,
            first_name,
            last_name,
            state,
            location,
            photo,
            title_english,
            current_job,
            experiences,
            summary,
            skills,
            phone,
            email,
            inferred_emails,
            updated,
            connections,
            followers,
            headline,
            relevance,
        }
    }

    fn draw_experiences(&self, d: &mut Dice, t: &Traits) -> Val<Vec<Experience<'_>>> {
        match d.below(20) {
            0 => return Val::Absent,
            1 => return Val::Null,
            2 | 3 => return Val::Is(Vec::new()),
            _ => {}
        }
        let mut year = 2025 - d.below(10) as u16;
        let mut month = 1 + d.below(12) as u8;
        let current = Experience {
            company: &self.companies[t.company as usize],
            title: t.title.map_or(vocab::TITLES[0].text, |r| r.info().title.text),
            from: (year, month),
            to: None,
            description: {
                let text = d.pick(&vocab::DESCRIPTIONS);
                Val::draw(d, 0.1, 0.2, text)
            },
        };
        let mut all = vec![current];
        for _ in 0..d.below(4) {
            let to = (year, month);
            year -= 1 + d.below(4) as u16;
            month = 1 + d.below(12) as u8;
            let company = &self.companies[d.below(u64::from(COMPANIES)) as usize];
            let title = if t.hostile && d.chance(0.3) {
                vocab::HOSTILE_TITLES[d.index(vocab::HOSTILE_TITLES.len())].text
            } else {
                vocab::TITLES[d.index(vocab::TITLES.len())].text
            };
            let text = d.pick(&vocab::DESCRIPTIONS);
            let description = Val::draw(d, 0.2, 0.3, text);
            all.push(Experience { company, title, from: (year, month), to: Some(to), description });
        }
        Val::Is(all)
    }
}

/// Strip what people paste around a handle: scheme, host, `/in/`, query, trailing slash; lowercase.
fn normalise_handle(handle: &str) -> String {
    let lower = handle.trim().to_lowercase();
    let path = lower.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_end_matches('/');
    path.rsplit_once("/in/").map_or(path, |(_, h)| h).to_string()
}

fn normalise_domain(domain: &str) -> String {
    let lower = domain.trim().to_lowercase();
    let host = lower.split_once("://").map_or(lower.as_str(), |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or_default().trim_end_matches('.');
    host.strip_prefix("www.").unwrap_or(host).to_string()
}

/// Whether a string can be a domain at all (Ocean answers "invalid domain" otherwise).
pub(crate) fn is_plausible_domain(domain: &str) -> bool {
    let d = normalise_domain(domain);
    d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-') && !label.starts_with('-')
        })
}

/// Popular values are few, long tails are long: most people have a few hundred connections.
fn skewed(d: &mut Dice, max: u64) -> u64 {
    (max as f64 * d.unit().powi(4)) as u64
}

/// A bit mask with `count` distinct bits below `len`.
fn distinct_mask(d: &mut Dice, count: usize, len: usize) -> u32 {
    let mut mask = 0u32;
    while (mask.count_ones() as usize) < count.min(len) {
        mask |= 1 << d.index(len);
    }
    mask
}

// --- drawing: how each part of a profile is drawn from the dice ---

impl Traits {
    /// People 0..4 are the Dunder Mifflin staff of Ocean's examples: ordinary, American, one company.
    fn fix_office_person(&mut self) {
        let i = self.index as usize;
        self.company = 0;
        self.company_visible = true;
        self.country = COUNTRIES.iter().position(|(c, _)| c.code == "us").map(|c| c as u8);
        self.place = COUNTRIES[usize::from(self.country.unwrap_or(0))].0.places.len() as u8 - 1;
        self.title = Some(TitleRef::Office(i as u8));
        let info = TitleRef::Office(i as u8).info();
        self.seniorities = Tags::List(info.seniority_bit);
        self.departments = Tags::List(info.department_bit);
        self.first = NameRef::Office(i as u8);
        self.last = NameRef::Office(i as u8);
    }
}

impl Tags {
    /// About 12 % of people have none (8 % `null`, 4 % `[]`), so a "value missing" partition of a
    /// seniority or department split is small but never empty; 12 % have a second value. Rolls 0, 1 and 5
    /// draw nothing more, so which rolls mean "none" does not shift anyone's later draws.
    fn draw(d: &mut Dice, main: u32, len: usize) -> Tags {
        match d.below(25) {
            0 | 5 => Tags::Null,
            1 => Tags::List(0),
            2..=4 => Tags::List(main | 1 << d.index(len)),
            _ => Tags::List(main),
        }
    }
}

impl NameRef {
    fn draw(d: &mut Dice, hostile: bool, pool: usize, plain: &[&[Name]; 6], hostile_len: usize) -> NameRef {
        if hostile && d.chance(0.5) {
            NameRef::Hostile(d.index(hostile_len) as u8)
        } else {
            NameRef::Plain(pool as u8, d.index(plain[pool].len()) as u8)
        }
    }
}

impl Stamp {
    /// A moment between 2024-01-01 and 2026-10-28, for `updatedAt`.
    fn draw(d: &mut Dice) -> Stamp {
        let year = 2024 + d.below(3) as u16;
        let months = if year == 2026 { 10 } else { 12 };
        Stamp {
            year,
            month: 1 + d.below(months) as u8,
            day: 1 + d.below(28) as u8,
            time: Some((d.below(24) as u8, d.below(60) as u8, d.below(60) as u8)),
        }
    }
}

impl Company {
    fn generate(seed: u64, c: u32) -> Company {
        let mut d = Dice::new(seed, Stream::Company, u64::from(c));
        if c == 0 {
            return Company::dunder_mifflin();
        }
        let pair = (u64::from(c) * 1103 + mix(seed) % u64::from(COMPANIES)) % u64::from(COMPANIES);
        let prefix = vocab::COMPANY_PREFIXES[(pair % 64) as usize];
        let suffix = vocab::COMPANY_SUFFIXES[(pair / 64) as usize];
        let country = d.weighted(COUNTRIES.iter().map(|(_, w)| *w));
        let tld = match d.below(10) {
            0 | 1 => "com",
            2 => "io",
            _ => COUNTRIES[country].0.tld,
        };
        let stem = format!("{}{}", prefix.1, suffix.1);
        let size = d.weighted(vocab::COMPANY_SIZE_WEIGHTS.iter().copied());
        let (_, low, high) = vocab::COMPANY_SIZES[size];
        let employees = low + d.below(high - low + 1);
        let revenue = (size / 2 + d.index(2)).min(vocab::REVENUES.len() - 1);
        Company {
            name: Cow::Owned(format!("{} {}", prefix.0, suffix.0)),
            domain: format!("{stem}.{tld}"),
            stem,
            country: country as u8,
            size: (!d.chance(0.05)).then_some(size),
            employees: (!d.chance(0.1)).then_some(employees),
            revenue: (!d.chance(0.15)).then_some(revenue),
            industries: if d.chance(0.08) {
                0
            } else {
                let count = 1 + d.index(3);
                distinct_mask(&mut d, count, vocab::INDUSTRIES.len())
            },
            technologies: (!d.chance(0.1)).then(|| {
                let count = d.index(7);
                distinct_mask(&mut d, count, vocab::TECHNOLOGIES.len())
            }),
            funding: d.chance(0.5).then(|| Funding {
                date: (!d.chance(0.1))
                    .then(|| (2015 + d.below(12) as u16, 1 + d.below(12) as u8, 1 + d.below(28) as u8)),
                kind: d.pick(&vocab::FUNDING_TYPES),
                raised: (!d.chance(0.1)).then(|| (1e5 * 5000f64.powf(d.unit())) as u64),
                crunchbase: d.chance(0.7),
            }),
            logo: d.chance(0.8),
            known: !d.chance(0.03),
            json: Vec::new(),
            default_json: Vec::new(),
        }
    }

    fn dunder_mifflin() -> Company {
        Company {
            name: Cow::Borrowed("Dunder Mifflin Paper Company, Inc."),
            domain: "dundermifflin.com".into(),
            stem: "dundermifflin".into(),
            country: COUNTRIES.iter().position(|(c, _)| c.code == "us").unwrap_or(0) as u8,
            size: Some(3),
            employees: Some(180),
            revenue: Some(2),
            industries: 1 << 8,
            technologies: Some(0),
            funding: None,
            logo: true,
            known: true,
            json: Vec::new(),
            default_json: Vec::new(),
        }
    }
}

impl<T> Val<T> {
    fn draw(d: &mut Dice, absent: f64, null: f64, value: T) -> Val<T> {
        let r = d.unit();
        if r < absent {
            Val::Absent
        } else if r < absent + null {
            Val::Null
        } else {
            Val::Is(value)
        }
    }
}
