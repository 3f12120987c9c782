//! The shapes of a synthetic person and company, between drawing and writing: `dataset` draws them,
//! `render` writes them as JSON, `filter` reads their [`Traits`]. Nothing here draws or renders, so the
//! imports flow one way (`dataset` → `render` → `profile`).
//!
//! A profile holds draws, not text: names, titles and places are indexes into `vocab`, and text is built
//! only when a person is written.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::permute;
use crate::vocab::{self, COUNTRIES, Country, Name, Title};

/// LinkedIn handles of people 0..4 of every dataset: the handles of Ocean's documentation examples, so
/// example job files find their seeds.
pub const FIXED_HANDLES: [&str; 4] = ["michael-scott-13532", "dwight-schrute", "jim-halpert-5343", "toby-67832"];

pub(crate) const FIXED_PEOPLE: [(Name, Name, &str); 4] = [
    (("Michael", "michael"), ("Scott", "scott"), "Regional Manager"),
    (("Dwight", "dwight"), ("Schrute", "schrute"), "Assistant to the Regional Manager"),
    (("Jim", "jim"), ("Halpert", "halpert"), "Sales Representative"),
    (("Toby", "toby"), ("Flenderson", "flenderson"), "HR Representative"),
];

pub(crate) const FIXED_TITLES: [Title; 4] = [
    Title { text: FIXED_PEOPLE[0].2, english: None, seniority: "Manager", department: "Management" },
    Title { text: FIXED_PEOPLE[1].2, english: None, seniority: "Other", department: "Sales" },
    Title { text: FIXED_PEOPLE[2].2, english: None, seniority: "Other", department: "Sales" },
    Title { text: FIXED_PEOPLE[3].2, english: None, seniority: "Other", department: "HR" },
];

// --- traits ---

/// The attributes filters and similarity look at, as the person's JSON shows them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traits {
    pub index: u64,
    pub hostile: bool,
    pub company: u32,
    /// `false` when the person's `company` is `null`.
    pub company_visible: bool,
    pub country: Option<u8>,
    pub place: u8,
    pub title: Option<TitleRef>,
    pub seniorities: Tags,
    pub departments: Tags,
    pub first: NameRef,
    pub last: NameRef,
}

impl Traits {
    pub fn country_code(&self) -> Option<&'static str> {
        self.country.map(|c| COUNTRIES[usize::from(c)].0.code)
    }

    pub fn country(&self) -> Option<&'static Country> {
        self.country.map(|c| &COUNTRIES[usize::from(c)].0)
    }

    /// (subdivision code, subdivision name, city); people without a country live where their company is.
    pub fn place(&self, company: &Company) -> (&'static str, &'static str, &'static str) {
        let country = self.country.map_or(usize::from(company.country), usize::from);
        COUNTRIES[country].0.places[usize::from(self.place)]
    }
}

/// A list of enum values shown as `null`, `[]` or a list (bit i = value i of the enum).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tags {
    Null,
    List(u32),
}

impl Tags {
    pub fn mask(self) -> u32 {
        match self {
            Tags::Null => 0,
            Tags::List(m) => m,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum TitleRef {
    Plain(u8),
    Hostile(u8),
    Office(u8),
}

/// A title with what filters need precomputed: its lowercase words and its enum bits.
pub(crate) struct TitleInfo {
    pub title: &'static Title,
    pub words: Vec<String>,
    pub seniority_bit: u32,
    pub department_bit: u32,
}

static TITLE_INFO: LazyLock<[Vec<TitleInfo>; 3]> = LazyLock::new(|| {
    let info = |title: &'static Title| {
        let bit = |list: &[&str], name: &str| {
            1 << list.iter().position(|v| *v == name).expect("title tags are schema enum values")
        };
        TitleInfo {
            title,
            words: words(title.text),
            seniority_bit: bit(&vocab::SENIORITIES, title.seniority),
            department_bit: bit(&vocab::DEPARTMENTS, title.department),
        }
    };
    [
        vocab::TITLES.iter().map(info).collect(),
        vocab::HOSTILE_TITLES.iter().map(info).collect(),
        FIXED_TITLES.iter().map(info).collect(),
    ]
});

impl TitleRef {
    pub fn info(self) -> &'static TitleInfo {
        let (list, i) = match self {
            TitleRef::Plain(i) => (0, i),
            TitleRef::Hostile(i) => (1, i),
            TitleRef::Office(i) => (2, i),
        };
        &TITLE_INFO[list][usize::from(i)]
    }
}

/// The words of a text for keyword matching: maximal runs of letters and digits, lowercased.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum NameRef {
    Plain(u8, u8),
    Hostile(u8),
    Office(u8),
}

impl NameRef {
    fn get(self, plain: &[&[Name]; 6], hostile: &'static [Name], office: fn(usize) -> Name) -> Name {
        match self {
            NameRef::Plain(pool, i) => plain[usize::from(pool)][usize::from(i)],
            NameRef::Hostile(i) => hostile[usize::from(i)],
            NameRef::Office(i) => office(usize::from(i)),
        }
    }
}

impl Traits {
    pub fn first_name(&self) -> Name {
        self.first.get(&vocab::FIRST_NAMES, &vocab::HOSTILE_FIRST_NAMES, |i| FIXED_PEOPLE[i].0)
    }

    pub fn last_name(&self) -> Name {
        self.last.get(&vocab::LAST_NAMES, &vocab::HOSTILE_LAST_NAMES, |i| FIXED_PEOPLE[i].1)
    }
}

/// Appends the LinkedIn handle of a person: the examples' handles for people 0..4, else
/// `<first>-<last>-<8 hex digits>` where the digits are a bijection of the index (so handles are unique
/// and lead back to the index).
pub(crate) fn push_handle(out: &mut String, seed: u64, t: &Traits) {
    if let Some(fixed) = FIXED_HANDLES.get(t.index as usize) {
        out.push_str(fixed);
        return;
    }
    out.push_str(t.first_name().1);
    out.push('-');
    out.push_str(t.last_name().1);
    out.push('-');
    out.push_str(Digits::new(u64::from(permute::permute32(permute::key32(seed), t.index as u32)), 8, 16).as_str());
}

/// The digits of a number, zero-padded, on the stack (ids, handles, dates and phone numbers are built
/// from them without `fmt`).
pub(crate) struct Digits {
    buf: [u8; 24],
    start: usize,
}

impl Digits {
    pub fn new(mut n: u64, width: usize, radix: u64) -> Digits {
        const SYMBOLS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [b'0'; 24];
        let mut start = buf.len();
        while n > 0 || start == buf.len() {
            start -= 1;
            buf[start] = SYMBOLS[(n % radix) as usize];
            n /= radix;
        }
        Digits { buf, start: start.min(buf.len().saturating_sub(width)) }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or_default()
    }
}

/// A UTC date, with a time of day for timestamps (days stop at 28, so every draw is a real date).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub time: Option<(u8, u8, u8)>,
}

impl Stamp {
    pub fn date(year: u16, month: u8, day: u8) -> Stamp {
        Stamp { year, month, day, time: None }
    }
}

// --- companies ---

pub(crate) struct Company {
    pub name: Cow<'static, str>,
    pub domain: String,
    pub stem: String,
    pub country: u8,
    pub size: Option<usize>,
    pub employees: Option<u64>,
    pub revenue: Option<usize>,
    pub industries: u32,
    pub technologies: Option<u32>,
    pub funding: Option<Funding>,
    pub logo: bool,
    /// Ocean knows the company (its profile is crawled): its people carry a `company` object. Unknown
    /// companies (about 3 %) leave `company` null on all of their people alike, so company filters keep
    /// or drop whole companies, as `peoplePerCompany` needs.
    pub known: bool,
    /// The full `company` object as JSON, rendered once (responses with every field carry it whole).
    pub json: Vec<u8>,
    /// The `company` object as the schema's default `fields` select it, rendered once (what a body
    /// without `fields` gets).
    pub default_json: Vec<u8>,
}

pub(crate) struct Funding {
    pub date: Option<(u16, u8, u8)>,
    pub kind: &'static str,
    pub raised: Option<u64>,
    pub crunchbase: bool,
}

impl Company {
    pub fn size(&self) -> Option<&'static str> {
        self.size.map(|s| vocab::COMPANY_SIZES[s].0)
    }
}

// --- the full profile ---

/// A JSON value that may be left out, `null`, or present.
pub(crate) enum Val<T> {
    Absent,
    Null,
    Is(T),
}

pub(crate) enum Location {
    Place,
    Snippet(&'static str),
}

pub(crate) enum Summary {
    Short(&'static str, &'static str),
    /// Index of one of the pre-built blocks of 20 KB or more.
    Long(usize),
}

pub(crate) enum Headline {
    TitleAtCompany,
    Snippet(&'static str),
}

pub(crate) struct Phone {
    pub status: usize,
    pub numbers: Val<Vec<u64>>,
}

pub(crate) struct Experience<'d> {
    pub company: &'d Company,
    pub title: &'static str,
    pub from: (u16, u8),
    pub to: Option<(u16, u8)>,
    pub description: Val<&'static str>,
}

pub(crate) struct Person<'d> {
    pub seed: u64,
    pub id: u64,
    pub t: Traits,
    pub company: &'d Company,
    pub name: Val<()>,
    pub first_name: Val<()>,
    pub last_name: Val<()>,
    pub state: Val<()>,
    pub location: Val<Location>,
    pub photo: Val<u64>,
    pub title_english: Val<()>,
    pub current_job: Val<&'static str>,
    pub experiences: Val<Vec<Experience<'d>>>,
    pub summary: Val<Summary>,
    pub skills: Val<u32>,
    pub phone: Val<Phone>,
    pub email: Val<&'static str>,
    pub inferred_emails: Val<u8>,
    pub updated: Stamp,
    pub connections: Val<u64>,
    pub followers: Val<u64>,
    pub headline: Val<Headline>,
    pub relevance: Val<&'static str>,
}

/// How many pre-built long summaries there are (see `render`).
pub(crate) const LONG_SUMMARY_BLOCKS: usize = 8;
