//! A person as JSON on the wire: the keys of `LookalikePerson` in the schema's order, only those the
//! body's `fields` select, written straight into the response buffer.
//!
//! This is the hot path of the sandbox's serving rate. Keys are the schema's fixed ASCII names and are
//! written as they are; every text value is escaped by serde_json. What repeats is rendered once: a
//! company's full object per dataset, and the long summaries (20 KB and more) at start-up.

use std::sync::LazyLock;

use serde::Serialize;

use crate::profile::{
    Company, Digits, Experience, Funding, Headline, LONG_SUMMARY_BLOCKS, Location, Person, Phone, Stamp, Summary, Tags,
    Val, push_handle,
};
use crate::vocab;

#[derive(Clone, Copy)]
enum Key {
    Id,
    Domain,
    Name,
    FirstName,
    LastName,
    Country,
    State,
    Location,
    LinkedinUrl,
    Seniorities,
    Departments,
    Photo,
    JobTitle,
    JobTitleEnglish,
    CurrentJobDescription,
    Experiences,
    Summary,
    Skills,
    Phone,
    Email,
    InferredEmails,
    UpdatedAt,
    ConnectionsCount,
    FollowersCount,
    Headline,
    Company,
    Relevance,
}

/// Keys of `LookalikePerson`, in the schema's order (the order of the JSON object).
const PERSON_KEYS: [(Key, &str); 27] = [
    (Key::Id, "id"),
    (Key::Domain, "domain"),
    (Key::Name, "name"),
    (Key::FirstName, "firstName"),
    (Key::LastName, "lastName"),
    (Key::Country, "country"),
    (Key::State, "state"),
    (Key::Location, "location"),
    (Key::LinkedinUrl, "linkedinUrl"),
    (Key::Seniorities, "seniorities"),
    (Key::Departments, "departments"),
    (Key::Photo, "photo"),
    (Key::JobTitle, "jobTitle"),
    (Key::JobTitleEnglish, "jobTitleEnglish"),
    (Key::CurrentJobDescription, "currentJobDescription"),
    (Key::Experiences, "experiences"),
    (Key::Summary, "summary"),
    (Key::Skills, "skills"),
    (Key::Phone, "phone"),
    (Key::Email, "email"),
    (Key::InferredEmails, "inferredEmails"),
    (Key::UpdatedAt, "updatedAt"),
    (Key::ConnectionsCount, "connectionsCount"),
    (Key::FollowersCount, "followersCount"),
    (Key::Headline, "headline"),
    (Key::Company, "company"),
    (Key::Relevance, "relevance"),
];

#[derive(Clone, Copy)]
enum ExperienceKey {
    Domain,
    JobTitle,
    DateFrom,
    DateTo,
    Description,
    LinkedinCompanyHandle,
}

const EXPERIENCE_KEYS: [(ExperienceKey, &str); 6] = [
    (ExperienceKey::Domain, "domain"),
    (ExperienceKey::JobTitle, "jobTitle"),
    (ExperienceKey::DateFrom, "dateFrom"),
    (ExperienceKey::DateTo, "dateTo"),
    (ExperienceKey::Description, "description"),
    (ExperienceKey::LinkedinCompanyHandle, "linkedinCompanyHandle"),
];

#[derive(Clone, Copy)]
enum CompanyKey {
    CompanySize,
    Logo,
    Name,
    Revenue,
    EmployeeCountOcean,
    Industries,
    Technologies,
    FundingRound,
}

/// `PersonCompany` keys and the `fields` selector of each (`None`: not selectable). The selectors are not
/// the keys (`company.peopleCount` selects `employeeCountOcean`), a quirk of Ocean's schema.
const COMPANY_KEYS: [(CompanyKey, &str, Option<&str>); 8] = [
    (CompanyKey::CompanySize, "companySize", None),
    (CompanyKey::Logo, "logo", None),
    (CompanyKey::Name, "name", None),
    (CompanyKey::Revenue, "revenue", Some("company.revenue")),
    (CompanyKey::EmployeeCountOcean, "employeeCountOcean", Some("company.peopleCount")),
    (CompanyKey::Industries, "industries", Some("company.industries")),
    (CompanyKey::Technologies, "technologies", Some("company.technologies")),
    (CompanyKey::FundingRound, "fundingRound", Some("company.latestFundingRound")),
];

/// The `fields` default of Ocean's schema (used with `--fields-default schema`).
const SCHEMA_DEFAULT_FIELDS: [&str; 27] = [
    "id",
    "domain",
    "name",
    "firstName",
    "lastName",
    "country",
    "state",
    "location",
    "linkedinUrl",
    "seniorities",
    "departments",
    "photo",
    "jobTitle",
    "jobTitleEnglish",
    "currentJobDescription",
    "experiences",
    "summary",
    "skills",
    "headline",
    "updatedAt",
    "connectionsCount",
    "followersCount",
    "company.revenue",
    "company.peopleCount",
    "company.industries",
    "company.technologies",
    "company.latestFundingRound",
];

/// Which keys of a person (and of its experiences and company) a response carries, from the body's
/// `fields`. `id` and `domain` are required by the response schema and always present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Projection {
    person: u32,
    experience: u8,
    company: u8,
}

/// The projection of a body without `fields` by default (`--fields-default schema`).
pub(crate) static SCHEMA_DEFAULT: LazyLock<Projection> = LazyLock::new(Projection::schema_default);

impl Projection {
    pub const ALL: Projection = Projection { person: u32::MAX, experience: u8::MAX, company: u8::MAX };

    pub fn schema_default() -> Projection {
        Projection::from_fields(SCHEMA_DEFAULT_FIELDS.iter().copied())
    }

    /// From validated `fields` values (`PersonField` or `PersonCompanyField`): `experiences.X` selects
    /// one key of each experience, `email.address` the whole `email` object (its `status` is required).
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = &'a str>) -> Projection {
        let bit = |name: &str| PERSON_KEYS.iter().position(|(_, k)| *k == name).map_or(0, |i| 1u32 << i);
        let mut p = Projection { person: bit("id") | bit("domain"), experience: 0, company: 0 };
        for field in fields {
            if let Some(sub) = field.strip_prefix("experiences.") {
                p.person |= bit("experiences");
                p.experience |= EXPERIENCE_KEYS.iter().position(|(_, k)| *k == sub).map_or(0, |i| 1 << i);
            } else if field == "experiences" {
                p.person |= bit("experiences");
                p.experience = u8::MAX;
            } else if field.starts_with("company.") {
                p.person |= bit("company");
                p.company |= COMPANY_KEYS.iter().position(|(_, _, f)| *f == Some(field)).map_or(0, |i| 1 << i);
            } else {
                p.person |= bit(field.strip_suffix(".address").unwrap_or(field));
            }
        }
        p
    }
}

/// Person `p` as a JSON object with the keys `projection` selects, appended to `out`.
pub(crate) fn write_person(out: &mut Vec<u8>, p: &Person<'_>, projection: &Projection) {
    let t = &p.t;
    let co = p.company;
    let (first, last) = (t.first_name(), t.last_name());
    let title = t.title.map(|r| r.info().title);
    let mut obj = Object::open(out);
    for (i, (key, name)) in PERSON_KEYS.iter().enumerate() {
        if projection.person & (1 << i) == 0 {
            continue;
        }
        match key {
            Key::Id => {
                plain(obj.key(name), &[Digits::new(p.id, 16, 16).as_str()]);
            }
            Key::Domain => text(obj.key(name), &co.domain),
            Key::Name => obj.maybe(name, &p.name, |out, ()| texts(out, &[first.0, " ", last.0])),
            Key::FirstName => obj.maybe(name, &p.first_name, |out, ()| text(out, first.0)),
            Key::LastName => obj.maybe(name, &p.last_name, |out, ()| text(out, last.0)),
            Key::Country => json(obj.key(name), &t.country_code()),
            Key::State => obj.maybe(name, &p.state, |out, ()| text(out, t.place(co).0)),
            Key::Location => obj.maybe(name, &p.location, |out, location| match location {
                Location::Place => {
                    let (_, region, city) = t.place(co);
                    let country = t.country().map_or("", |c| c.name);
                    texts(out, &[city, ", ", region, ", ", country])
                }
                Location::Snippet(snippet) => text(out, snippet),
            }),
            Key::LinkedinUrl => {
                let mut url = String::with_capacity(80);
                url.push_str("https://www.linkedin.com/in/");
                push_handle(&mut url, p.seed, t);
                text(obj.key(name), &url);
            }
            Key::Seniorities => tags(obj.key(name), t.seniorities, &vocab::SENIORITIES),
            Key::Departments => tags(obj.key(name), t.departments, &vocab::DEPARTMENTS),
            Key::Photo => obj.maybe(name, &p.photo, |out, &n| {
                let mut url = String::with_capacity(120);
                url.push_str("https://media.licdn.com/dms/image/v2/D4E03AQ");
                url.push_str(Digits::new(n >> 12, 13, 16).as_str());
                url.push_str("/profile-displayphoto-shrink_400_400/0/");
                url.push_str(Digits::new(1_600_000_000_000 + n % 200_000_000_000, 13, 10).as_str());
                text(out, &url)
            }),
            Key::JobTitle => json(obj.key(name), &title.map(|t| t.text)),
            Key::JobTitleEnglish => match (&p.title_english, title) {
                (Val::Absent, _) => {}
                (Val::Is(()), Some(t)) => text(obj.key(name), t.english.unwrap_or(t.text)),
                _ => null(obj.key(name)),
            },
            Key::CurrentJobDescription => obj.maybe(name, &p.current_job, |out, d| text(out, d)),
            Key::Experiences => {
                obj.maybe(name, &p.experiences, |out, all| experiences(out, all, projection.experience))
            }
            Key::Summary => obj.maybe(name, &p.summary, |out, summary| match summary {
                Summary::Short(a, b) => texts(out, &[a, " ", b]),
                Summary::Long(block) => out.extend_from_slice(&LONG_SUMMARIES[*block]),
            }),
            Key::Skills => obj.maybe(name, &p.skills, |out, &mask| enums(out, mask, &vocab::SKILLS)),
            Key::Phone => {
                obj.maybe(name, &p.phone, |out, phone| write_phone(out, phone, t.country().map_or("+1", |c| c.phone)))
            }
            Key::Email => obj.maybe(name, &p.email, |out, &status| {
                let mut email = Object::open(out);
                match status {
                    "notFound" => null(email.key("address")),
                    _ => texts(email.key("address"), &[first.1, ".", last.1, "@", &co.domain]),
                }
                text(email.key("status"), status);
                email.close();
            }),
            Key::InferredEmails => obj.maybe(name, &p.inferred_emails, |out, &n| {
                let all: [&[&str]; 2] = [&[first.1, "@", &co.domain], &[&first.1[..1], last.1, "@", &co.domain]];
                out.push(b'[');
                for (i, parts) in all.iter().take(usize::from(n)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    texts(out, parts);
                }
                out.push(b']');
            }),
            Key::UpdatedAt => stamp(obj.key(name), &p.updated),
            Key::ConnectionsCount => obj.maybe(name, &p.connections, json),
            Key::FollowersCount => obj.maybe(name, &p.followers, json),
            Key::Headline => obj.maybe(name, &p.headline, |out, headline| match headline {
                Headline::TitleAtCompany => {
                    let title = title.map_or("Professional", |t| t.text);
                    texts(out, &[title, " at ", &co.name])
                }
                Headline::Snippet(snippet) => text(out, snippet),
            }),
            Key::Company => {
                let out = obj.key(name);
                match (t.company_visible, projection.company) {
                    (false, _) => null(out),
                    (true, u8::MAX) if !co.json.is_empty() => out.extend_from_slice(&co.json),
                    (true, mask) if mask == SCHEMA_DEFAULT.company && !co.default_json.is_empty() => {
                        out.extend_from_slice(&co.default_json)
                    }
                    (true, mask) => write_company(out, co, mask),
                }
            }
            Key::Relevance => obj.maybe(name, &p.relevance, |out, r| text(out, r)),
        }
    }
    obj.close();
}

/// A JSON object being written. Keys are written as they are: they are the schema's ASCII names.
struct Object<'b> {
    out: &'b mut Vec<u8>,
    first: bool,
}

impl<'b> Object<'b> {
    fn open(out: &'b mut Vec<u8>) -> Object<'b> {
        out.push(b'{');
        Object { out, first: true }
    }

    /// Starts the member `key`; the caller writes its value.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// The member `key` unless `val` is absent: `null`, or the value `write` renders.
    fn maybe<T>(&mut self, key: &str, val: &Val<T>, write: impl FnOnce(&mut Vec<u8>, &T)) {
        match val {
            Val::Absent => {}
            Val::Null => null(self.key(key)),
            Val::Is(v) => write(self.key(key), v),
        }
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// Any serialisable value, by serde_json (writing to a `Vec` cannot fail).
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(out, value);
}

/// A string as JSON. Most strings need no escaping, and copying those is much cheaper than serde_json's
/// byte-by-byte escaper, which writes the others; the output is the same either way.
fn text(out: &mut Vec<u8>, value: &str) {
    texts(out, &[value]);
}

/// Several pieces as one JSON string, without building the string unless it needs escaping.
fn texts(out: &mut Vec<u8>, parts: &[&str]) {
    if parts.iter().any(|p| needs_escape(p.as_bytes())) {
        json(out, &parts.concat());
    } else {
        plain(out, parts);
    }
}

/// Pieces known to need no escaping (digits, dates), as one JSON string.
fn plain(out: &mut Vec<u8>, parts: &[&str]) {
    out.push(b'"');
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.push(b'"');
}

/// `"2025-03-01"`, or `"2025-03-01T08:22:51Z"` for a stamp with a time.
fn stamp(out: &mut Vec<u8>, s: &Stamp) {
    let two = |n: u8| Digits::new(u64::from(n), 2, 10);
    let (year, month, day) = (Digits::new(u64::from(s.year), 4, 10), two(s.month), two(s.day));
    match s.time {
        None => plain(out, &[year.as_str(), "-", month.as_str(), "-", day.as_str()]),
        Some((h, m, sec)) => {
            let (h, m, sec) = (two(h), two(m), two(sec));
            plain(
                out,
                &[
                    year.as_str(),
                    "-",
                    month.as_str(),
                    "-",
                    day.as_str(),
                    "T",
                    h.as_str(),
                    ":",
                    m.as_str(),
                    ":",
                    sec.as_str(),
                    "Z",
                ],
            )
        }
    }
}

/// Whether a string has a byte serde_json escapes (a control character, `"` or `\`), eight bytes at a
/// time with the classic "has zero byte" / "has byte less than" bit tricks.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight);
        if x.wrapping_sub(0x20 * ONES) & !x & HIGHS != 0
            || has_zero(x ^ (u64::from(b'"') * ONES))
            || has_zero(x ^ (u64::from(b'\\') * ONES))
        {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

/// The enum values whose bit is set in `mask`.
fn enums(out: &mut Vec<u8>, mask: u32, names: &[&str]) {
    out.push(b'[');
    let mut first = true;
    for (i, name) in names.iter().enumerate() {
        if mask & (1 << i) != 0 {
            if !first {
                out.push(b',');
            }
            first = false;
            text(out, name);
        }
    }
    out.push(b']');
}

fn tags(out: &mut Vec<u8>, tags: Tags, names: &[&str]) {
    match tags {
        Tags::Null => null(out),
        Tags::List(mask) => enums(out, mask, names),
    }
}

/// Long summaries are drawn from a few pre-built blocks of 20 to 22 KB of hostile paragraphs, kept as
/// JSON already escaped: escaping 20 KB per person would be most of the cost of serving a page.
static LONG_SUMMARIES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    (0..LONG_SUMMARY_BLOCKS)
        .map(|block| {
            let target = 20 * 1024 + block * 256;
            let mut summary = format!("Profile #{block}: ");
            let mut i = block;
            while summary.len() < target {
                summary.push_str(vocab::HOSTILE_PARAGRAPHS[i % vocab::HOSTILE_PARAGRAPHS.len()]);
                i += 1;
            }
            let mut out = Vec::with_capacity(target * 2);
            text(&mut out, &summary);
            out
        })
        .collect()
});

fn experiences(out: &mut Vec<u8>, all: &[Experience<'_>], mask: u8) {
    let month = |out: &mut Vec<u8>, (year, month): (u16, u8)| stamp(out, &Stamp::date(year, month, 1));
    out.push(b'[');
    for (n, e) in all.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let mut obj = Object::open(out);
        for (i, (key, name)) in EXPERIENCE_KEYS.iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            match key {
                ExperienceKey::Domain => text(obj.key(name), &e.company.domain),
                ExperienceKey::JobTitle => text(obj.key(name), e.title),
                ExperienceKey::DateFrom => month(obj.key(name), e.from),
                ExperienceKey::DateTo => match e.to {
                    Some(to) => month(obj.key(name), to),
                    None => null(obj.key(name)),
                },
                ExperienceKey::Description => obj.maybe(name, &e.description, |out, d| text(out, d)),
                ExperienceKey::LinkedinCompanyHandle => text(obj.key(name), &e.company.stem),
            }
        }
        obj.close();
    }
    out.push(b']');
}

/// A company's JSON as `projection` selects it, rendered once when the dataset is built.
pub(crate) fn company_json(company: &Company, projection: Projection) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_company(&mut out, company, projection.company);
    out
}

fn write_company(out: &mut Vec<u8>, co: &Company, mask: u8) {
    let mut obj = Object::open(out);
    for (i, (key, name, _)) in COMPANY_KEYS.iter().enumerate() {
        if mask & (1 << i) == 0 {
            continue;
        }
        let out = obj.key(name);
        match key {
            CompanyKey::CompanySize => json(out, &co.size()),
            CompanyKey::Logo => {
                json(out, &co.logo.then(|| ["https://cdn.ocean.io/logos/", &co.domain, ".png"].concat()))
            }
            CompanyKey::Name => text(out, &co.name),
            CompanyKey::Revenue => json(out, &co.revenue.map(|r| vocab::REVENUES[r])),
            CompanyKey::EmployeeCountOcean => json(out, &co.employees),
            CompanyKey::Industries => enums(out, co.industries, &vocab::INDUSTRIES),
            CompanyKey::Technologies => match co.technologies {
                Some(mask) => enums(out, mask, &vocab::TECHNOLOGIES),
                None => null(out),
            },
            CompanyKey::FundingRound => match &co.funding {
                Some(funding) => write_funding(out, funding, &co.stem),
                None => null(out),
            },
        }
    }
    obj.close();
}

fn write_funding(out: &mut Vec<u8>, f: &Funding, stem: &str) {
    let mut obj = Object::open(out);
    match f.date {
        Some((y, m, d)) => stamp(obj.key("date"), &Stamp::date(y, m, d)),
        None => null(obj.key("date")),
    }
    text(obj.key("type"), f.kind);
    json(obj.key("moneyRaisedInUsd"), &f.raised);
    json(obj.key("cbUrl"), &f.crunchbase.then(|| ["https://www.crunchbase.com/organization/", stem].concat()));
    obj.close();
}

fn write_phone(out: &mut Vec<u8>, phone: &Phone, prefix: &str) {
    let mut obj = Object::open(out);
    match &phone.numbers {
        Val::Is(numbers) => {
            let numbers: Vec<String> =
                numbers.iter().map(|&n| [prefix, " ", Digits::new(n, 8, 10).as_str()].concat()).collect();
            json(obj.key("numbers"), &numbers);
        }
        _ => null(obj.key("numbers")),
    }
    text(obj.key("status"), vocab::PHONE_STATUSES[phone.status]);
    obj.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_writes_what_serde_json_writes() {
        let mut samples: Vec<String> =
            vocab::HOSTILE_PARAGRAPHS.iter().chain(&vocab::HOSTILE_SNIPPETS).map(|s| s.to_string()).collect();
        samples.extend(vocab::HOSTILE_TITLES.iter().chain(&vocab::TITLES).map(|t| t.text.to_string()));
        samples.extend((0u8..128).map(|b| format!("0123456{}89abcdef", char::from(b))));
        samples.extend(["", "a", "\u{7f}", "\u{1f}", "ø\"", "12345678\\"].map(String::from));
        for sample in samples {
            let mut out = Vec::new();
            text(&mut out, &sample);
            assert_eq!(out, serde_json::to_vec(&sample).expect("a string serialises"), "{sample:?}");
        }
    }
}
