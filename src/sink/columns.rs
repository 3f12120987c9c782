//! The columns of a CSV or XLSX output: which fields, in which order, under which header. A job picks them
//! with `columns` (names, renames, or `"all"`) or a `preset` for a CRM's import; without either it gets
//! the person card, a lean set for people who open the file.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Every field of `LookalikePerson`, in the schema's order, nested objects spelled out: `columns = "all"`.
pub const ALL: &[&str] = &[
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
    "phone.numbers",
    "phone.status",
    "email.address",
    "email.status",
    "inferredEmails",
    "updatedAt",
    "connectionsCount",
    "followersCount",
    "headline",
    "company.companySize",
    "company.logo",
    "company.name",
    "company.revenue",
    "company.employeeCountOcean",
    "company.industries",
    "company.technologies",
    "company.fundingRound.date",
    "company.fundingRound.type",
    "company.fundingRound.moneyRaisedInUsd",
    "company.fundingRound.cbUrl",
    "relevance",
];

/// Columns that may be picked besides those: whole objects as JSON, one field of every experience, and
/// the first phone number on its own.
const EXTRA: &[&str] = &[
    "phone.number",
    "phone",
    "email",
    "company",
    "company.fundingRound",
    "experiences.domain",
    "experiences.jobTitle",
    "experiences.dateFrom",
    "experiences.dateTo",
    "experiences.description",
    "experiences.linkedinCompanyHandle",
];

/// The first of `phone.numbers`, on its own (a CRM's phone field takes one number).
pub const FIRST_PHONE: &str = "phone.number";

/// Every field name a column may show.
pub fn known() -> impl Iterator<Item = &'static str> {
    ALL.iter().chain(EXTRA).copied()
}

/// The default of CSV and XLSX outputs: who the person is and how to reach them, one value per cell.
pub const PERSON_CARD: &[(&str, &str)] = &[
    ("firstName", "First Name"),
    ("lastName", "Last Name"),
    ("jobTitle", "Job Title"),
    ("company.name", "Company"),
    ("domain", "Company Domain"),
    ("email.address", "Email"),
    ("email.status", "Email Status"),
    (FIRST_PHONE, "Phone"),
    ("linkedinUrl", "LinkedIn URL"),
    ("country", "Country"),
    ("location", "Location"),
    ("seniorities", "Seniority"),
    ("departments", "Department"),
    ("company.companySize", "Company Size"),
    ("id", "Ocean ID"),
];

/// HubSpot's contact import: headers it maps to its default contact properties by themselves. LinkedIn
/// URL and Ocean ID need a custom property of that name (or "Don't import" in the wizard).
const HUBSPOT: &[(&str, &str)] = &[
    ("firstName", "First Name"),
    ("lastName", "Last Name"),
    ("email.address", "Email"),
    (FIRST_PHONE, "Phone Number"),
    ("jobTitle", "Job Title"),
    ("company.name", "Company Name"),
    ("domain", "Website URL"),
    ("country", "Country/Region"),
    ("state", "State/Region"),
    ("linkedinUrl", "LinkedIn URL"),
    ("id", "Ocean ID"),
];

/// Salesforce's Data Import Wizard for leads: the standard lead fields' labels. LinkedIn URL and Ocean ID
/// need a custom field of that name. A lead needs Last Name and Company.
const SALESFORCE: &[(&str, &str)] = &[
    ("firstName", "First Name"),
    ("lastName", "Last Name"),
    ("email.address", "Email"),
    (FIRST_PHONE, "Phone"),
    ("jobTitle", "Title"),
    ("company.name", "Company"),
    ("domain", "Website"),
    ("country", "Country"),
    ("state", "State/Province"),
    ("linkedinUrl", "LinkedIn URL"),
    ("id", "Ocean ID"),
];

/// A CRM whose import headers a preset gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Hubspot,
    Salesforce,
}

impl Preset {
    pub const ALL: &[Preset] = &[Preset::Hubspot, Preset::Salesforce];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Hubspot => "hubspot",
            Preset::Salesforce => "salesforce",
        }
    }

    /// (field, header) of each column.
    pub fn columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Preset::Hubspot => HUBSPOT,
            Preset::Salesforce => SALESFORCE,
        }
    }
}

/// One column: the field it shows, and its header.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Column {
    pub field: String,
    pub header: String,
}

impl Column {
    fn of(pairs: &[(&str, &str)]) -> Vec<Column> {
        pairs
            .iter()
            .map(|(field, header)| Column { field: (*field).to_owned(), header: (*header).to_owned() })
            .collect()
    }

    /// A column headed by its field's name.
    pub fn named(field: &str) -> Column {
        Column { field: field.to_owned(), header: field.to_owned() }
    }
}

/// `columns` as a job writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnSpec {
    /// `"all"`: every field, headed by its name.
    All,
    List(Vec<ColumnItem>),
}

/// An item of a `columns` list: a field's name, or `{ field = "...", header = "..." }`.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnItem {
    Field(String),
    Renamed { field: String, header: String },
}

impl ColumnItem {
    fn field(&self) -> &str {
        match self {
            ColumnItem::Field(field) | ColumnItem::Renamed { field, .. } => field,
        }
    }
}

/// Why a column set cannot be used; `index` is the item of the `columns` list at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ColumnError {
    #[error("unknown column `{name}`{}", suggestion.as_ref().map(|s| format!(", did you mean `{s}`?")).unwrap_or_default())]
    Unknown { index: usize, name: String, suggestion: Option<String> },
    #[error("two columns are headed `{header}` (items {} and {}); give one another header", first + 1, index + 1)]
    DuplicateHeader { index: usize, first: usize, header: String },
    #[error("the header of column `{field}` is empty")]
    EmptyHeader { index: usize, field: String },
    #[error(
        "the list of columns is empty; name at least one, or leave `columns` out for the person card (`columns = \"all\"` gives every field)"
    )]
    NoColumns,
    #[error(
        "set either `preset` or `columns`, not both (renames give any header: {{ field = \"email.address\", header = \"Email\" }})"
    )]
    PresetAndColumns,
}

impl ColumnError {
    /// The item of the `columns` list at fault, if one is.
    pub fn index(&self) -> Option<usize> {
        match self {
            ColumnError::Unknown { index, .. }
            | ColumnError::DuplicateHeader { index, .. }
            | ColumnError::EmptyHeader { index, .. } => Some(*index),
            ColumnError::PresetAndColumns | ColumnError::NoColumns => None,
        }
    }
}

/// The closest known field name to `name`, if any is close.
pub fn closest(name: &str) -> Option<String> {
    known()
        .map(|known| (strsim::jaro_winkler(&name.to_ascii_lowercase(), &known.to_ascii_lowercase()), known))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known.to_owned())
}

/// The columns of an output: the person card by default, every field for `"all"`, a preset's, or the
/// listed ones. A name repeated as is counts once; two different columns under one header (compared as
/// a CRM would, ignoring case) are an error.
pub fn resolve(spec: Option<&ColumnSpec>, preset: Option<Preset>) -> Result<Vec<Column>, ColumnError> {
    let items = match (spec, preset) {
        (Some(_), Some(_)) => return Err(ColumnError::PresetAndColumns),
        (None, Some(preset)) => return Ok(Column::of(preset.columns())),
        (None, None) => return Ok(Column::of(PERSON_CARD)),
        (Some(ColumnSpec::All), None) => return Ok(ALL.iter().map(|f| Column::named(f)).collect()),
        (Some(ColumnSpec::List(items)), None) => items,
    };
    // A file of empty rows (one `""` line per person) is no one's intent.
    if items.is_empty() {
        return Err(ColumnError::NoColumns);
    }
    // `OCEAN_EXPORT_OUTPUT__COLUMNS=all` arrives as a list of one.
    if let [ColumnItem::Field(all)] = items.as_slice()
        && all == "all"
    {
        return Ok(ALL.iter().map(|f| Column::named(f)).collect());
    }
    let mut out: Vec<(usize, Column)> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = item.field();
        if !known().any(|known| known == field) {
            return Err(ColumnError::Unknown { index, name: field.to_owned(), suggestion: closest(field) });
        }
        let column = match item {
            ColumnItem::Field(field) => Column::named(field),
            ColumnItem::Renamed { field, header } => Column { field: field.clone(), header: header.clone() },
        };
        if column.header.trim().is_empty() {
            return Err(ColumnError::EmptyHeader { index, field: field.to_owned() });
        }
        match out.iter().find(|(_, c)| c.header.trim().eq_ignore_ascii_case(column.header.trim())) {
            Some((_, same)) if *same == column && matches!(item, ColumnItem::Field(_)) => continue,
            Some((first, _)) => {
                return Err(ColumnError::DuplicateHeader { index, first: *first, header: column.header });
            }
            None => out.push((index, column)),
        }
    }
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

impl Serialize for ColumnSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ColumnSpec::All => s.serialize_str("all"),
            ColumnSpec::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    match item {
                        ColumnItem::Field(field) => seq.serialize_element(field)?,
                        ColumnItem::Renamed { field, header } => seq.serialize_element(&Renamed { field, header })?,
                    }
                }
                seq.end()
            }
        }
    }
}

struct Renamed<'a> {
    field: &'a str,
    header: &'a str,
}

impl Serialize for Renamed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("field", self.field)?;
        map.serialize_entry("header", self.header)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for ColumnSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = ColumnSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"all\", or a list of field names and { field = \"...\", header = \"...\" } tables")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnSpec, E> {
                if v == "all" { Ok(ColumnSpec::All) } else { Err(E::invalid_value(de::Unexpected::Str(v), &self)) }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ColumnSpec, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<ItemDe>()? {
                    items.push(item.0);
                }
                Ok(ColumnSpec::List(items))
            }
        }
        d.deserialize_any(SpecVisitor)
    }
}

struct ItemDe(ColumnItem);

impl<'de> Deserialize<'de> for ItemDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ItemDe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name, or { field = \"...\", header = \"...\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ItemDe, E> {
                Ok(ItemDe(ColumnItem::Field(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemDe, A::Error> {
                let (mut field, mut header) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "field" => field = Some(map.next_value::<String>()?),
                        "header" => header = Some(map.next_value::<String>()?),
                        other => return Err(de::Error::unknown_field(other, &["field", "header"])),
                    }
                }
                let field = field.ok_or_else(|| de::Error::missing_field("field"))?;
                Ok(ItemDe(match header {
                    Some(header) => ColumnItem::Renamed { field, header },
                    None => ColumnItem::Field(field),
                }))
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[ColumnItem]) -> ColumnSpec {
        ColumnSpec::List(items.to_vec())
    }

    fn renamed(field: &str, header: &str) -> ColumnItem {
        ColumnItem::Renamed { field: field.into(), header: header.into() }
    }

    #[test]
    fn defaults_presets_and_all() {
        let card = resolve(None, None).unwrap();
        assert_eq!(card.len(), PERSON_CARD.len());
        assert_eq!(card[0], Column { field: "firstName".into(), header: "First Name".into() });
        assert_eq!(resolve(Some(&ColumnSpec::All), None).unwrap().len(), ALL.len());
        assert_eq!(resolve(Some(&list(&[ColumnItem::Field("all".into())])), None).unwrap().len(), ALL.len());
        let hubspot = resolve(None, Some(Preset::Hubspot)).unwrap();
        assert!(hubspot.contains(&Column { field: FIRST_PHONE.into(), header: "Phone Number".into() }));
        assert_eq!(resolve(Some(&ColumnSpec::All), Some(Preset::Hubspot)), Err(ColumnError::PresetAndColumns));
        for preset in Preset::ALL {
            for (field, _) in preset.columns() {
                assert!(known().any(|k| k == *field), "{field}");
            }
        }
    }

    #[test]
    fn renames_repeats_and_clashes() {
        let spec =
            list(&[ColumnItem::Field("id".into()), renamed("email.address", "Email"), ColumnItem::Field("id".into())]);
        let columns = resolve(Some(&spec), None).unwrap();
        assert_eq!(
            columns,
            vec![Column::named("id"), Column { field: "email.address".into(), header: "Email".into() }]
        );
        let clash = list(&[renamed("email.address", "Email"), renamed("email.status", "email")]);
        assert_eq!(
            resolve(Some(&clash), None),
            Err(ColumnError::DuplicateHeader { index: 1, first: 0, header: "email".into() })
        );
        let hidden = list(&[ColumnItem::Field("name".into()), renamed("firstName", "name")]);
        assert!(matches!(resolve(Some(&hidden), None), Err(ColumnError::DuplicateHeader { index: 1, .. })));
        let unknown = list(&[ColumnItem::Field("id".into()), ColumnItem::Field("email.adress".into())]);
        assert_eq!(
            resolve(Some(&unknown), None),
            Err(ColumnError::Unknown {
                index: 1,
                name: "email.adress".into(),
                suggestion: Some("email.address".into())
            })
        );
        assert_eq!(resolve(Some(&list(&[])), None), Err(ColumnError::NoColumns));
    }

    #[test]
    fn reads_what_a_job_file_writes() {
        #[derive(Deserialize, Serialize, PartialEq, Debug)]
        struct T {
            columns: ColumnSpec,
        }
        let t: T = toml::from_str("columns = [\"id\", { field = \"email.address\", header = \"Email\" }]").unwrap();
        assert_eq!(t.columns, list(&[ColumnItem::Field("id".into()), renamed("email.address", "Email")]));
        let back: T = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert_eq!(toml::from_str::<T>("columns = \"all\"").unwrap().columns, ColumnSpec::All);
        let err = toml::from_str::<T>("columns = \"some\"").unwrap_err().to_string();
        assert!(err.contains("\"all\""), "{err}");
        let err = toml::from_str::<T>("columns = [{ field = \"id\", heading = \"x\" }]").unwrap_err().to_string();
        assert!(err.contains("heading"), "{err}");
    }
}
