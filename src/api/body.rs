//! Typed request body of `POST /v3/search/people` (`PublicSearchPeopleBodyV3` and everything it references),
//! mirroring Ocean's published schema: unknown keys, bad enum values and out-of-range numbers fail to deserialize.
//!
//! One Rust type per schema object, in the schema's property order. Every object denies unknown keys (the
//! schema says `additionalProperties: false` everywhere) and every optional property is an `Option` that is
//! left out when `None`, so serializing gives exactly the JSON the API expects. The schema's `minimum`,
//! `maximum`, `exclusiveMinimum`, `maxItems` and `minLength` live in small newtypes ([`Bounded`],
//! [`MaxItems`], [`MinLenString`]) that check while deserializing, so a bad job file fails at the value's
//! line and column rather than as a 422 from Ocean. Descriptions that only say "Valid range: …" are not
//! schema constraints and are not checked.
//!
//! The same types read TOML (job files) and JSON; TOML integers are accepted where the schema wants a
//! `number`.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------------------
// Constraint newtypes
// ---------------------------------------------------------------------------------------------------------

/// Why a value breaks one of the schema's constraints. The message names the bound and the value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConstraintError {
    /// `minimum` / `maximum` (inclusive).
    #[error("must be between {min} and {max}, got {got}")]
    OutOfRange { min: i64, max: i64, got: String },
    /// `maxItems`.
    #[error("must be at most {max} items, got {got}")]
    TooManyItems { max: usize, got: usize },
    /// `minLength`, counted in characters as JSON Schema does.
    #[error("length must be at least {min}, got {got}")]
    TooShort { min: usize, got: usize },
    /// A JSON `number` cannot be NaN or infinite; TOML can spell them, so they are refused on the way in.
    #[error("must be a finite number, got {got}")]
    NotFinite { got: f64 },
}

/// The two kinds of JSON number the schema bounds: `integer` (as `i64`) and `number` (as `f64`).
pub trait Scalar: Copy + fmt::Display {
    /// Whether `min <= self <= max`. NaN never is.
    fn within(self, min: i64, max: i64) -> bool;
}

impl Scalar for i64 {
    fn within(self, min: i64, max: i64) -> bool {
        (min..=max).contains(&self)
    }
}

impl Scalar for f64 {
    fn within(self, min: i64, max: i64) -> bool {
        (min as f64..=max as f64).contains(&self)
    }
}

/// A number within `MIN..=MAX`. Every bound in this schema is a whole number, so `i64` const generics carry
/// them for `number` properties too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Bounded<T, const MIN: i64, const MAX: i64>(T);

impl<T: Scalar, const MIN: i64, const MAX: i64> Bounded<T, MIN, MAX> {
    /// Checks the bounds; the error reads `must be between MIN and MAX, got VALUE`.
    pub fn new(value: T) -> Result<Self, ConstraintError> {
        if value.within(MIN, MAX) {
            Ok(Self(value))
        } else {
            Err(ConstraintError::OutOfRange { min: MIN, max: MAX, got: value.to_string() })
        }
    }

    /// The checked value.
    pub fn get(self) -> T {
        self.0
    }
}

impl<'de, T: Scalar + Deserialize<'de>, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<T, MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked(deserializer, Self::new)
    }
}

/// `size`: `minimum: 1`, `maximum: 10000`.
pub type PageSize = Bounded<i64, 1, 10_000>;

impl PageSize {
    /// The largest page the API serves.
    pub fn largest() -> PageSize {
        Bounded(10_000)
    }

    /// This size, or `room` when that is smaller; `None` when there is no room.
    pub fn at_most(self, room: u64) -> Option<PageSize> {
        let room = i64::try_from(room).unwrap_or(i64::MAX);
        (room > 0).then(|| Bounded(self.0.min(room)))
    }

    /// The size as a number of people.
    pub fn people(self) -> u64 {
        self.0.unsigned_abs()
    }
}
/// `peoplePerCompany`: `minimum: 1`, `maximum: 20`.
pub type PeoplePerCompany = Bounded<i64, 1, 20>;
/// `jobTitleThreshold`: `minimum: 0`, `maximum: 1`.
pub type JobTitleThreshold = Bounded<f64, 0, 1>;
/// `updatedWithinMonths` (people and companies): `exclusiveMinimum: 0`, `maximum: 60`. For an integer,
/// "greater than 0" is "at least 1".
pub type UpdatedWithinMonths = Bounded<i64, 1, 60>;
/// `socialMedias.minCount`: `minimum: 1`, `maximum: 50`.
pub type SocialMediaMinCount = Bounded<i64, 1, 50>;
/// `geolocation.latitude`: `minimum: -90`, `maximum: 90`.
pub type Latitude = Bounded<f64, -90, 90>;
/// `geolocation.longitude`: `minimum: -180`, `maximum: 180`.
pub type Longitude = Bounded<f64, -180, 180>;
/// `geolocation.radius` in metres: `minimum: 1`, `maximum: 1000000`.
pub type RadiusMeters = Bounded<i64, 1, 1_000_000>;

/// A list of at most `MAX` items (`maxItems`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MaxItems<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> MaxItems<T, MAX> {
    /// Checks the length; the error reads `must be at most MAX items, got N`.
    pub fn new(items: Vec<T>) -> Result<Self, ConstraintError> {
        if items.len() <= MAX {
            Ok(Self(items))
        } else {
            Err(ConstraintError::TooManyItems { max: MAX, got: items.len() })
        }
    }

    /// The checked items.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for MaxItems<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked(deserializer, Self::new)
    }
}

/// `companiesFilters.lookalikeDomains`: `maxItems: 10`.
pub type LookalikeDomains = MaxItems<String, 10>;

/// A string of at least `MIN` characters (`minLength`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MinLenString<const MIN: usize>(String);

impl<const MIN: usize> MinLenString<MIN> {
    /// Checks the length in characters; the error reads `length must be at least MIN, got N`.
    pub fn new(value: impl Into<String>) -> Result<Self, ConstraintError> {
        let value = value.into();
        let got = value.chars().count();
        if got >= MIN { Ok(Self(value)) } else { Err(ConstraintError::TooShort { min: MIN, got }) }
    }

    /// The checked string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de, const MIN: usize> Deserialize<'de> for MinLenString<MIN> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked(deserializer, |value: String| Self::new(value))
    }
}

/// `minLength: 1`.
pub type NonEmptyString = MinLenString<1>;

/// An unbounded JSON `number`: any finite `f64`. serde_json would write NaN or infinity as `null`, which
/// would silently drop the bound, so they are refused instead.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Finite(f64);

impl Finite {
    /// Refuses NaN and ±infinity.
    pub fn new(value: f64) -> Result<Self, ConstraintError> {
        if value.is_finite() { Ok(Self(value)) } else { Err(ConstraintError::NotFinite { got: value }) }
    }

    /// The checked value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Finite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked(deserializer, Self::new)
    }
}

/// Deserializes the raw value, then checks it; a failed check becomes the format's own error, which carries
/// the position (TOML span, JSON line and column).
fn checked<'de, D, V, R>(deserializer: D, check: impl FnOnce(V) -> Result<R, ConstraintError>) -> Result<R, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    check(V::deserialize(deserializer)?).map_err(de::Error::custom)
}

/// For properties that may be left out but are not `nullable` (`size`, `mode`): an explicit `null` is an
/// error, as it is for the API, instead of quietly meaning "not set".
fn non_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------------------

/// A string enum of the schema: one variant per wire string, in the schema's order, with `as_str` and `ALL`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[doc = concat!("`", $wire, "`")] #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in the schema's order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The wire string.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }
    };
}

wire_enum! {
    /// `Seniority`.
    Seniority {
        Owner = "Owner",
        Founder = "Founder",
        BoardMember = "Board Member",
        CLevel = "C-Level",
        Partner = "Partner",
        Vp = "VP",
        Head = "Head",
        Director = "Director",
        Manager = "Manager",
        Other = "Other",
    }
}

wire_enum! {
    /// `Department`: functional departments, assigned by job function rather than seniority.
    Department {
        AccountingAndFinance = "Accounting and Finance",
        Board = "Board",
        BusinessSupport = "Business Support",
        CustomerRelations = "Customer Relations",
        Design = "Design",
        EditorialPersonnel = "Editorial Personnel",
        Engineering = "Engineering",
        FounderOwner = "Founder/Owner",
        Healthcare = "Healthcare",
        Hr = "HR",
        Legal = "Legal",
        Management = "Management",
        Manufacturing = "Manufacturing",
        MarketingAndAdvertising = "Marketing and Advertising",
        Operations = "Operations",
        PrAndCommunications = "PR and Communications",
        Procurement = "Procurement",
        Product = "Product",
        QualityControl = "Quality Control",
        RAndD = "R&D",
        Sales = "Sales",
        Security = "Security",
        SupplyChain = "Supply Chain",
        Other = "Other",
    }
}

wire_enum! {
    /// `PublicCompanySize`: employee-count bands.
    CompanySize {
        From0To1 = "0-1",
        From2To10 = "2-10",
        From11To50 = "11-50",
        From51To200 = "51-200",
        From201To500 = "201-500",
        From501To1000 = "501-1000",
        From1001To5000 = "1001-5000",
        From5001To10000 = "5001-10000",
        From10001To50000 = "10001-50000",
        From50001To100000 = "50001-100000",
        From100001To500000 = "100001-500000",
        AtLeast500000 = "500000+",
    }
}

wire_enum! {
    /// `Revenue`: revenue bands.
    Revenue {
        From0To1M = "0-1M",
        From1To10M = "1-10M",
        From10To50M = "10-50M",
        From50To100M = "50-100M",
        From100To500M = "100-500M",
        From500To1000M = "500-1000M",
        Over1000M = ">1000M",
    }
}

wire_enum! {
    /// `FundingRoundType`.
    FundingRoundType {
        Seed = "Seed",
        SeriesA = "Series A",
        Angel = "Angel",
        SeriesB = "Series B",
        SeriesUnknown = "Series Unknown",
        PreSeed = "Pre-Seed",
        Grant = "Grant",
        SeriesC = "Series C",
        ConvertibleNote = "Convertible Note",
        DebtFinancing = "Debt Financing",
        NonEquityAssistance = "Non-Equity Assistance",
        Undisclosed = "Undisclosed",
        SeriesD = "Series D",
        CorporateRound = "Corporate Round",
        EquityCrowdfunding = "Equity Crowdfunding",
        ProductCrowdfunding = "Product Crowdfunding",
        SeriesE = "Series E",
        PrivateEquity = "Private Equity",
        SecondaryMarket = "Secondary Market",
        InitialCoinOffering = "Initial Coin Offering",
        PostIpoEquity = "Post-IPO Equity",
        SeriesF = "Series F",
        PostIpoDebt = "Post-IPO Debt",
        SeriesH = "Series H",
        SeriesG = "Series G",
        PostIpoSecondary = "Post-IPO Secondary",
        SeriesI = "Series I",
        SeriesJ = "Series J",
    }
}

wire_enum! {
    /// `HeadcountGrowthMonths`: the period a headcount growth is measured over.
    HeadcountGrowthMonths {
        Three = "Three months",
        Six = "Six months",
        Twelve = "Twelve months",
    }
}

wire_enum! {
    /// An item of `fields`: the schema's `anyOf` of `PersonField` (everything without a `company.` prefix)
    /// and `PersonCompanyField` (the `company.*` selectors), as one enum so a typo gets one clear error
    /// listing every valid value.
    Field {
        Id = "id",
        Domain = "domain",
        Name = "name",
        FirstName = "firstName",
        LastName = "lastName",
        Country = "country",
        State = "state",
        Location = "location",
        LinkedinUrl = "linkedinUrl",
        Seniorities = "seniorities",
        Departments = "departments",
        Photo = "photo",
        JobTitle = "jobTitle",
        JobTitleEnglish = "jobTitleEnglish",
        CurrentJobDescription = "currentJobDescription",
        Experiences = "experiences",
        ExperiencesDomain = "experiences.domain",
        ExperiencesJobTitle = "experiences.jobTitle",
        ExperiencesDateFrom = "experiences.dateFrom",
        ExperiencesDateTo = "experiences.dateTo",
        ExperiencesDescription = "experiences.description",
        ExperiencesLinkedinCompanyHandle = "experiences.linkedinCompanyHandle",
        Summary = "summary",
        Skills = "skills",
        Email = "email",
        EmailAddress = "email.address",
        UpdatedAt = "updatedAt",
        ConnectionsCount = "connectionsCount",
        FollowersCount = "followersCount",
        Headline = "headline",
        CompanyRevenue = "company.revenue",
        CompanyPeopleCount = "company.peopleCount",
        CompanyIndustries = "company.industries",
        CompanyTechnologies = "company.technologies",
        CompanyLatestFundingRound = "company.latestFundingRound",
    }
}

wire_enum! {
    /// Items of `peopleFilters.fieldsExist` / `fieldsNotExist` (an inline enum in the schema).
    PersonPresenceField {
        Country = "country",
        Departments = "departments",
        FirstName = "firstName",
        JobTitle = "jobTitle",
        JobTitleEnglish = "jobTitleEnglish",
        LastName = "lastName",
        LinkedinUrl = "linkedinUrl",
        Location = "location",
        Name = "name",
        Photo = "photo",
        Seniorities = "seniorities",
        Summary = "summary",
    }
}

wire_enum! {
    /// Items of `companiesFilters.fieldsExist` / `fieldsNotExist` (an inline enum in the schema).
    CompanyPresenceField {
        CompanySize = "companySize",
        Countries = "countries",
        DepartmentSizes = "departmentSizes",
        Description = "description",
        Emails = "emails",
        Faxes = "faxes",
        Impressum = "impressum",
        Industries = "industries",
        IndustryCategories = "industryCategories",
        Keywords = "keywords",
        LegalName = "legalName",
        LinkedinIndustry = "linkedinIndustry",
        Locations = "locations",
        Logo = "logo",
        Medias = "medias",
        MobileApps = "mobileApps",
        Name = "name",
        Phones = "phones",
        PrimaryCountry = "primaryCountry",
        Revenue = "revenue",
        RootUrl = "rootUrl",
        Technologies = "technologies",
        TechnologyCategories = "technologyCategories",
        WebTraffic = "webTraffic",
        YearFounded = "yearFounded",
    }
}

wire_enum! {
    /// Items of `AllAnyNoneFilterSocialMedia` (an inline enum in the schema).
    SocialMedia {
        Linkedin = "linkedin",
        X = "x",
        Facebook = "facebook",
        Instagram = "instagram",
        Youtube = "youtube",
        Xing = "xing",
        Tiktok = "tiktok",
    }
}

wire_enum! {
    /// `minRelevance` / `maxRelevance` (inline enum): `A` is the most relevant; both bounds are inclusive.
    Relevance {
        A = "A",
        B = "B",
        C = "C",
    }
}

wire_enum! {
    /// `companyMatchingMode` (inline enum), used with `lookalikeDomains`: `precise` (the API's default)
    /// matches similar products/services by semantic similarity, `broad` matches companies in the same
    /// industries.
    CompanyMatchingMode {
        Precise = "precise",
        Broad = "broad",
    }
}

wire_enum! {
    /// `mode` of `IndustriesFilter` / `IndustryCategoriesFilter` (inline enum); the API's default is `anyOf`.
    MatchMode {
        AnyOf = "anyOf",
        AllOf = "allOf",
    }
}

// ---------------------------------------------------------------------------------------------------------
// The body
// ---------------------------------------------------------------------------------------------------------

/// `PublicSearchPeopleBodyV3`. Every key is optional, so `{}` is a valid body.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SearchBody {
    /// Number of people to return (page size); the API's default is 50. Not nullable.
    #[serde(default, deserialize_with = "non_null", skip_serializing_if = "Option::is_none")]
    pub size: Option<PageSize>,
    /// Filters on the people.
    pub people_filters: Option<PeopleFilters>,
    /// Filters on the people's companies.
    pub companies_filters: Option<CompaniesFilters>,
    /// People to return per company; unset returns all of them.
    pub people_per_company: Option<PeoplePerCompany>,
    /// Threshold for job title similarity; the API's default is 0.8.
    pub job_title_threshold: Option<JobTitleThreshold>,
    /// Cursor: the `searchAfter` of the previous page.
    pub search_after: Option<String>,
    /// Fields to return in each person; unset returns Ocean's default set.
    pub fields: Option<Vec<Field>>,
}

/// `PeopleFiltersV3`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeopleFilters {
    /// LinkedIn handles of people to find lookalikes of.
    pub lookalike_linkedin_handles: Option<Vec<String>>,
    /// Country codes (alpha-2 ISO 3166, lowercase in Ocean's examples).
    pub countries: Option<Vec<String>>,
    /// Ocean person ids to include.
    pub include_people_ids: Option<Vec<String>>,
    /// LinkedIn handles to include.
    pub include_linkedin_handles: Option<Vec<String>>,
    /// Ocean person ids to exclude.
    pub exclude_people_ids: Option<Vec<String>>,
    /// LinkedIn handles to exclude.
    pub exclude_linkedin_handles: Option<Vec<String>>,
    /// Seniorities.
    pub seniorities: Option<Vec<Seniority>>,
    /// LinkedIn profile skills.
    pub skills: Option<SkillsFilter>,
    /// Keywords in job titles.
    pub job_title_keywords: Option<JobTitleKeywordsFilter>,
    /// Keywords in all job descriptions.
    pub all_job_descriptions: Option<AllJobDescriptionsFilter>,
    /// Keywords in the current job description.
    pub current_job_description: Option<CurrentJobDescriptionFilter>,
    /// Keywords in the LinkedIn profile description.
    pub profile_description: Option<ProfileDescriptionFilter>,
    /// Region codes such as `CA`. Deprecated by Ocean in favour of `states`.
    pub regions: Option<Vec<String>>,
    /// States/regions (ISO 3166-2) to search in.
    pub states: Option<Vec<State>>,
    /// States/regions (ISO 3166-2) to exclude.
    pub exclude_states: Option<Vec<State>>,
    /// Country codes (alpha-2 ISO 3166) to exclude.
    pub exclude_countries: Option<Vec<String>>,
    /// Cities to search in.
    pub cities: Option<Vec<PeopleCityFilter>>,
    /// Cities to exclude.
    pub exclude_cities: Option<Vec<PeopleCityFilter>>,
    /// Names.
    pub names: Option<Vec<String>>,
    /// Departments.
    pub departments: Option<Vec<Department>>,
    /// Departments to exclude.
    pub exclude_departments: Option<Vec<Department>>,
    /// Only people on whom these fields exist.
    pub fields_exist: Option<Vec<PersonPresenceField>>,
    /// Only people on whom these fields do not exist.
    pub fields_not_exist: Option<Vec<PersonPresenceField>>,
    /// People who started a new job between this date (inclusive, e.g. `2023-01`) and now.
    pub changed_position_after: Option<String>,
    /// People who started their current job before this date (inclusive, e.g. `2023-01`).
    pub changed_position_before: Option<String>,
    /// People updated within the last N months.
    pub updated_within_months: Option<UpdatedWithinMonths>,
    /// Number of LinkedIn connections.
    pub connections: Option<FromTo>,
    /// Number of LinkedIn followers.
    pub followers: Option<FromTo>,
}

/// `CompaniesFiltersV3`: people are returned when their company matches.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompaniesFilters {
    /// Find companies similar to these domains.
    pub lookalike_domains: Option<LookalikeDomains>,
    /// Only these domains.
    pub include_domains: Option<Vec<String>>,
    /// Exclude these domains.
    pub exclude_domains: Option<Vec<String>>,
    /// Company size bands.
    pub company_sizes: Option<Vec<CompanySize>>,
    /// `true`: only e-commerce companies; `false`: no e-commerce companies.
    pub ecommerce: Option<bool>,
    /// Year founded (documented valid range 0–2100, not checked).
    pub year_founded: Option<FromTo>,
    /// Number of countries the company operates in (documented 0–300, not checked).
    pub countries_count: Option<FromTo>,
    /// Revenue bands.
    pub revenues: Option<Vec<Revenue>>,
    /// Employee profiles in Ocean's database (documented 0–10,000,000, not checked).
    pub employee_count_ocean: Option<FromTo>,
    /// Number of mobile apps (documented 0–10,000). Deprecated by Ocean in favour of `mobileAppsFilter`.
    pub mobile_apps: Option<FromTo>,
    /// Mobile app count, downloads and release year.
    pub mobile_apps_filter: Option<MobileAppsFilter>,
    /// Number of locations (documented 0–100,000, not checked).
    pub locations_count: Option<FromTo>,
    /// Department sizes (documented 0–10,000,000, not checked).
    pub department_sizes: Option<Vec<DepartmentSizeFilter>>,
    /// Employees on LinkedIn (documented 0–10,000,000, not checked).
    pub employee_count_linkedin: Option<FromTo>,
    /// Industries (values from `/v2/data-fields`).
    pub industries: Option<IndustriesFilter>,
    /// Industries to exclude.
    pub exclude_industries: Option<Vec<String>>,
    /// Industry categories (values from `/v2/data-fields`).
    pub industry_categories: Option<IndustryCategoriesFilter>,
    /// Industry categories to exclude.
    pub exclude_industry_categories: Option<Vec<String>>,
    /// LinkedIn industries, any of (values from `/v2/data-fields`).
    pub linkedin_industries: Option<Vec<String>>,
    /// LinkedIn industries to exclude.
    pub exclude_linkedin_industries: Option<Vec<String>>,
    /// Funding rounds.
    pub funding_round: Option<FundingRoundFilter>,
    /// Headquarters location.
    pub primary_locations: Option<LocationsFilter>,
    /// Locations of offices other than the headquarters.
    pub other_locations: Option<LocationsFilter>,
    /// Web traffic.
    pub web_traffic: Option<WebTrafficFilter>,
    /// Social media presence.
    pub social_medias: Option<SocialMediasFilter>,
    /// Software technologies on the company's website.
    pub technologies: Option<TechnologiesFilter>,
    /// Keywords.
    pub keywords: Option<AllAnyNoneFilter>,
    /// Minimum relevance, inclusive (`A` is the most relevant).
    pub min_relevance: Option<Relevance>,
    /// Maximum relevance, inclusive; `B` for both bounds gives only `B` results.
    pub max_relevance: Option<Relevance>,
    /// Headcount growth.
    pub headcount_growth: Option<HeadcountGrowthFilter>,
    /// Headcount growth per department.
    pub department_headcount_growth: Option<DepartmentGrowthAllAnyFilter>,
    /// Companies updated within the last N months.
    pub updated_within_months: Option<UpdatedWithinMonths>,
    /// Only companies on which these fields exist.
    pub fields_exist: Option<Vec<CompanyPresenceField>>,
    /// Only companies on which these fields do not exist.
    pub fields_not_exist: Option<Vec<CompanyPresenceField>>,
    /// How strictly `lookalikeDomains` match.
    pub company_matching_mode: Option<CompanyMatchingMode>,
}

/// `State`: a region as ISO 3166-2, split into country and subdivision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct State {
    /// Alpha-2 ISO 3166 country code.
    pub country: NonEmptyString,
    /// Subdivision code without the country prefix (`NY`, `ENG`); values from `/v2/data-fields`.
    pub abbreviation: NonEmptyString,
}

/// `PeopleCityFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeopleCityFilter {
    /// City name.
    pub city: String,
    /// Alpha-2 ISO 3166 country code.
    pub country: Option<String>,
    /// Country region, if applicable.
    pub region: Option<State>,
}

/// `CompaniesCityFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompaniesCityFilter {
    /// City name.
    pub city: String,
    /// Alpha-2 ISO 3166 country code.
    pub country: Option<String>,
    /// Country region, if applicable.
    pub region: Option<State>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// `FromTo`: an inclusive integer range, either end open. Where a property documents a "valid range", it is
/// not a schema constraint and is not checked.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FromTo {
    /// Greater than or equal to.
    pub from: Option<i64>,
    /// Less than or equal to.
    pub to: Option<i64>,
}

/// `FromToFloat`: an inclusive number range, either end open.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FromToFloat {
    /// Greater than or equal to.
    pub from: Option<Finite>,
    /// Less than or equal to.
    pub to: Option<Finite>,
}

/// `FromToStringDate`: an inclusive date range, either end open. The `YYYY-MM-DD` format is only
/// described, not a schema constraint, so it is not checked.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FromToStringDate {
    /// Date in `YYYY-MM-DD` format, greater than or equal to.
    pub from: Option<String>,
    /// Date in `YYYY-MM-DD` format, less than or equal to.
    pub to: Option<String>,
}

/// `AllAnyNoneFilter`: keyword lists that must all / at least one / none match. `T` is `String` except for
/// [`AllAnyNoneFilterSocialMedia`]. The schema's property order is `anyOf`, `allOf`, `noneOf`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
// serde would otherwise ask `T: Default` because of the fields' `default`; `Option` is what defaults.
#[serde(deny_unknown_fields, rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct AllAnyNoneFilter<T = String> {
    /// Match at least one of these.
    pub any_of: Option<Vec<T>>,
    /// Match all of these.
    pub all_of: Option<Vec<T>>,
    /// Match none of these.
    pub none_of: Option<Vec<T>>,
}

/// Written out because `derive(Default)` would needlessly ask `T: Default`.
impl<T> Default for AllAnyNoneFilter<T> {
    fn default() -> Self {
        Self { any_of: None, all_of: None, none_of: None }
    }
}

/// `SkillsFilter`: matched against the LinkedIn profile skills.
pub type SkillsFilter = AllAnyNoneFilter;
/// `JobTitleKeywordsFilter`: matched against job titles.
pub type JobTitleKeywordsFilter = AllAnyNoneFilter;
/// `AllJobDescriptionsFilter`: matched against all job descriptions.
pub type AllJobDescriptionsFilter = AllAnyNoneFilter;
/// `CurrentJobDescriptionFilter`: matched against the current job description.
pub type CurrentJobDescriptionFilter = AllAnyNoneFilter;
/// `ProfileDescriptionFilter`: matched against the LinkedIn profile description.
pub type ProfileDescriptionFilter = AllAnyNoneFilter;
/// `AllAnyNoneFilterSocialMedia`: the same shape over [`SocialMedia`].
pub type AllAnyNoneFilterSocialMedia = AllAnyNoneFilter<SocialMedia>;

/// `MobileAppsFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MobileAppsFilter {
    /// Number of mobile apps (documented 0–10,000, not checked).
    pub count: Option<FromTo>,
    /// Number of app downloads (documented 0–10,000,000,000, not checked).
    pub downloads: Option<FromTo>,
    /// App release year (documented 2000–2100, not checked).
    pub release_year: Option<FromTo>,
}

/// `DepartmentSizeFilter`: an inclusive size range for one department.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DepartmentSizeFilter {
    /// Greater than or equal to.
    pub from: Option<i64>,
    /// Less than or equal to.
    pub to: Option<i64>,
    /// The department.
    pub department: Department,
}

/// `IndustriesFilter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IndustriesFilter {
    /// Industries to include (values from `/v2/data-fields`).
    pub industries: Vec<String>,
    /// Match any (the API's default) or all of them. Not nullable.
    #[serde(default, deserialize_with = "non_null", skip_serializing_if = "Option::is_none")]
    pub mode: Option<MatchMode>,
}

/// `IndustryCategoriesFilter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IndustryCategoriesFilter {
    /// Industry categories to include (values from `/v2/data-fields`).
    pub industry_categories: Vec<String>,
    /// Match any (the API's default) or all of them. Not nullable.
    #[serde(default, deserialize_with = "non_null", skip_serializing_if = "Option::is_none")]
    pub mode: Option<MatchMode>,
}

/// `FundingRoundFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FundingRoundFilter {
    /// Amount raised (documented 0–100,000,000,000, not checked).
    pub raised: Option<FromTo>,
    /// Funding round types.
    pub types: Option<Vec<FundingRoundType>>,
    /// Date of the round (documented 1800-01-01 to 2100-12-31, not checked).
    pub date: Option<FromToStringDate>,
}

/// `LocationsFilter`: where a company is present.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocationsFilter {
    /// Countries (alpha-2 ISO 3166) the company is present in.
    pub include_countries: Option<Vec<String>>,
    /// Countries (alpha-2 ISO 3166) to exclude.
    pub exclude_countries: Option<Vec<String>>,
    /// Regions (states, provinces) to include.
    pub include_regions: Option<Vec<State>>,
    /// Regions (states, provinces) to exclude.
    pub exclude_regions: Option<Vec<State>>,
    /// Cities to include.
    pub include_cities: Option<Vec<CompaniesCityFilter>>,
    /// Cities to exclude.
    pub exclude_cities: Option<Vec<CompaniesCityFilter>>,
    /// A circle around a point.
    pub geolocation: Option<GeolocationFilter>,
}

/// `GeolocationFilter`: a circle around a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeolocationFilter {
    /// Latitude of the centre.
    pub latitude: Latitude,
    /// Longitude of the centre.
    pub longitude: Longitude,
    /// Radius in metres.
    pub radius: RadiusMeters,
}

/// `WebTrafficFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebTrafficFilter {
    /// Visits (documented 0–100,000,000,000, not checked).
    pub visits: Option<FromTo>,
    /// Page views (documented 0–100,000,000,000, not checked).
    pub views: Option<FromTo>,
}

/// `SocialMediasFilterV3`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SocialMediasFilter {
    /// Social networks the company must / may / must not be on.
    pub medias: Option<AllAnyNoneFilterSocialMedia>,
    /// Companies present in more than this many social networks.
    pub min_count: Option<SocialMediaMinCount>,
}

/// `TechnologiesFilterV3`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TechnologiesFilter {
    /// Technology apps (values from `/v2/data-fields`).
    pub apps: Option<AllAnyNoneFilter>,
    /// Technology categories (values from `/v2/data-fields`).
    pub categories: Option<AllAnyNoneFilter>,
}

/// `HeadcountGrowthFilter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeadcountGrowthFilter {
    /// `true`: `growthRange` is a fraction (`0.5` = 50%); `false`: an absolute head count.
    pub as_percentage: bool,
    /// Growth range (documented −10,000,000 to 10,000,000, not checked).
    pub growth_range: FromToFloat,
    /// Period the growth is measured over.
    pub months: HeadcountGrowthMonths,
}

/// `DepartmentGrowthAllAnyFilter`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DepartmentGrowthAllAnyFilter {
    /// Match any of these department growth filters.
    pub any_of: Option<Vec<DepartmentGrowthFilter>>,
    /// Match all of these department growth filters.
    pub all_of: Option<Vec<DepartmentGrowthFilter>>,
}

/// `DepartmentGrowthFilter`: a [`HeadcountGrowthFilter`] for one department. Kept as its own struct rather
/// than flattening, because serde's `flatten` does not combine with `deny_unknown_fields`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DepartmentGrowthFilter {
    /// `true`: `growthRange` is a fraction (`0.5` = 50%); `false`: an absolute head count.
    pub as_percentage: bool,
    /// Growth range (documented −10,000,000 to 10,000,000, not checked).
    pub growth_range: FromToFloat,
    /// Period the growth is measured over.
    pub months: HeadcountGrowthMonths,
    /// Functional department (a VP of Sales counts under `Sales`).
    pub department: Department,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    const OPENAPI: &str = crate::sandbox::SCHEMA;
    const ROOT: &str = "PublicSearchPeopleBodyV3";
    const REF_PREFIX: &str = "#/components/schemas/";

    /// Keywords a property schema may carry without needing a check here: annotations and structure.
    const UNCHECKED_KEYWORDS: &[&str] = &[
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "type",
        "items",
        "$ref",
        "nullable",
        "enum",
        "anyOf",
    ];

    static DOC: LazyLock<Value> = LazyLock::new(|| serde_json::from_str(OPENAPI).expect("the fixture is JSON"));

    /// The published schema as a JSON Schema validator: it checks this test's own sample bodies, and that
    /// everything the Rust types accept or produce is valid for Ocean too.
    static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
        let root = json!({ "$ref": format!("{REF_PREFIX}{ROOT}"), "components": DOC["components"] });
        jsonschema::validator_for(&root).expect("the schema compiles")
    });

    fn schema(name: &str) -> &'static Value {
        let found = &DOC["components"]["schemas"][name];
        assert!(found.is_object(), "no schema {name}");
        found
    }

    fn ref_name(s: &Value) -> Option<&str> {
        s.get("$ref")?.as_str()?.strip_prefix(REF_PREFIX)
    }

    /// Follows a `$ref`, or returns the schema itself.
    fn deref(s: &'static Value) -> &'static Value {
        ref_name(s).map_or(s, schema)
    }

    fn properties(name: &str) -> &'static Map<String, Value> {
        schema(name)["properties"].as_object().expect("an object schema")
    }

    fn is_required(name: &str, key: &str) -> bool {
        schema(name).get("required").and_then(Value::as_array).is_some_and(|r| r.contains(&json!(key)))
    }

    /// One step from an object down to a nested object: property `key` of `parent`, then into an array
    /// item when the property is a list.
    #[derive(Clone, Debug)]
    struct Hop {
        parent: &'static str,
        key: &'static str,
        item: bool,
    }

    /// Every object schema reachable from the body, each with the first path (breadth first) to it.
    fn objects() -> Vec<(&'static str, Vec<Hop>)> {
        let mut found: Vec<(&'static str, Vec<Hop>)> = vec![(ROOT, Vec::new())];
        let mut next = 0;
        while let Some((parent, path)) = found.get(next).cloned() {
            for (key, prop) in properties(parent) {
                let (target, item) = prop.get("items").map_or((prop, false), |items| (items, true));
                if let Some(name) = ref_name(target)
                    && schema(name).get("properties").is_some()
                    && !found.iter().any(|(seen, _)| *seen == name)
                {
                    let mut to_child = path.clone();
                    to_child.push(Hop { parent, key, item });
                    found.push((name, to_child));
                }
            }
            next += 1;
        }
        found
    }

    /// Every schema name reachable from the body, enums included.
    fn reachable() -> BTreeSet<&'static str> {
        fn refs(s: &'static Value, out: &mut BTreeSet<&'static str>) {
            match s {
                Value::Object(map) => {
                    if let Some(name) = ref_name(s)
                        && out.insert(name)
                    {
                        refs(schema(name), out);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut out = BTreeSet::from([ROOT]);
        refs(schema(ROOT), &mut out);
        out
    }

    /// A valid value for a property schema, derived from its type, enum and bounds.
    fn sample(prop: &'static Value) -> Value {
        let s = deref(prop);
        if let Some(values) = s.get("enum") {
            return values[0].clone();
        }
        if let Some(alternatives) = s.get("anyOf") {
            return sample(&alternatives[0]);
        }
        if s.get("properties").is_some() {
            return minimal(s);
        }
        let bound = |k: &str| s.get(k).and_then(Value::as_f64);
        match s["type"].as_str() {
            Some("string") => json!("sample"),
            Some("boolean") => json!(true),
            Some("integer") => {
                json!(bound("minimum").or(bound("exclusiveMinimum").map(|m| m + 1.0)).unwrap_or(1.0) as i64)
            }
            Some("number") => json!(bound("minimum").zip(bound("maximum")).map_or(0.5, |(lo, hi)| (lo + hi) / 2.0)),
            Some("array") => json!([sample(&s["items"])]),
            other => panic!("no sample for type {other:?}"),
        }
    }

    /// An object with only its required properties.
    fn minimal(object: &'static Value) -> Value {
        let required = object.get("required").and_then(Value::as_array).into_iter().flatten();
        let sampled =
            required.filter_map(Value::as_str).map(|key| (key.to_owned(), sample(&object["properties"][key])));
        Value::Object(sampled.collect())
    }

    /// A whole body with `leaf` at the end of `path`; the objects around it hold only required properties.
    fn body_at(path: &[Hop], leaf: Value) -> Value {
        path.iter().rev().fold(leaf, |inner, hop| {
            let mut outer = minimal(schema(hop.parent));
            outer[hop.key] = if hop.item { json!([inner]) } else { inner };
            outer
        })
    }

    /// Parses a body the way the client would receive it: as JSON text.
    fn parse(body: &Value) -> Result<SearchBody, String> {
        serde_json::from_str(&body.to_string()).map_err(|e| e.to_string())
    }

    fn reserialize(body: &Value) -> Value {
        serde_json::to_value(parse(body).unwrap_or_else(|e| panic!("{e} in {body}"))).unwrap()
    }

    /// One property of one reachable object schema, and the path from the body to its object.
    struct Site {
        name: &'static str,
        key: &'static str,
        prop: &'static Value,
        path: Vec<Hop>,
    }

    impl Site {
        fn at(&self) -> String {
            format!("{}.{}", self.name, self.key)
        }

        /// A body whose object holds its required properties, edited by `edit`.
        fn body_with(&self, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
            let mut leaf = minimal(schema(self.name));
            edit(leaf.as_object_mut().unwrap());
            body_at(&self.path, leaf)
        }

        /// A body that sets this property to `value`.
        fn body(&self, value: Value) -> Value {
            self.body_with(|object| {
                object.insert(self.key.to_owned(), value);
            })
        }
    }

    /// Every property of every object schema reachable from the body.
    fn sites() -> Vec<Site> {
        let objects = objects();
        assert_eq!(objects.len(), 29, "object schemas reachable from {ROOT}");
        let mut sites = Vec::new();
        for (name, path) in objects {
            for (key, prop) in properties(name) {
                sites.push(Site { name, key, prop, path: path.clone() });
            }
        }
        sites
    }

    fn site(name: &str, key: &str) -> Site {
        let found = sites().into_iter().find(|s| s.name == name && s.key == key);
        found.unwrap_or_else(|| panic!("no property {name}.{key}"))
    }

    /// The enum values a property takes, directly or as list items (`anyOf` alternatives together).
    fn enum_values(prop: &'static Value) -> Vec<Value> {
        let s = deref(prop);
        let s = s.get("items").map_or(s, deref);
        let alternatives = s.get("anyOf").and_then(Value::as_array).map_or(vec![s], |a| a.iter().map(deref).collect());
        alternatives.iter().filter_map(|a| a.get("enum")?.as_array()).flatten().cloned().collect()
    }

    #[test]
    fn every_schema_property_parses_and_serializes_back_exactly() {
        for site in sites() {
            let body = site.body(sample(site.prop));
            assert!(VALIDATOR.is_valid(&body), "{}: the test's sample {body} is invalid", site.at());
            assert_eq!(reserialize(&body), body, "{}: serializes differently", site.at());
        }
    }

    #[test]
    fn unknown_keys_are_rejected_beside_every_property() {
        for site in sites() {
            let body = site.body_with(|object| {
                object.insert(site.key.to_owned(), sample(site.prop));
                object.insert("notInTheSchema".to_owned(), json!(1));
            });
            assert!(!VALIDATOR.is_valid(&body), "{}: the schema allows unknown keys", site.at());
            let err = parse(&body).expect_err(&site.at());
            assert!(err.contains("unknown field `notInTheSchema`"), "{}: {err}", site.at());
        }
    }

    #[test]
    fn null_is_accepted_exactly_where_the_schema_says_nullable() {
        for site in sites() {
            let nullable = site.prop.get("nullable") == Some(&json!(true));
            match parse(&site.body(Value::Null)) {
                Ok(parsed) => {
                    assert!(nullable, "{}: null accepted, but not nullable", site.at());
                    let unset = site.body_with(|_| {});
                    assert_eq!(serde_json::to_value(&parsed).unwrap(), unset, "{}", site.at());
                }
                Err(e) => assert!(!nullable, "{}: null refused, but nullable: {e}", site.at()),
            }
        }
    }

    #[test]
    fn required_properties_cannot_be_left_out() {
        for site in sites().into_iter().filter(|s| is_required(s.name, s.key)) {
            let body = site.body_with(|object| {
                object.remove(site.key);
            });
            let err = parse(&body).expect_err(&site.at());
            assert!(err.contains(&format!("missing field `{}`", site.key)), "{}: {err}", site.at());
        }
    }

    #[test]
    fn every_enum_value_parses_and_others_do_not() {
        let mut seen = 0;
        for site in sites() {
            let values = enum_values(site.prop);
            if values.is_empty() {
                continue;
            }
            let list = deref(site.prop).get("items").is_some();
            let body = |value: Value| site.body(if list { json!([value]) } else { value });
            for value in values {
                let body = body(value);
                assert_eq!(reserialize(&body), body, "{}: wire string differs", site.at());
                seen += 1;
            }
            let err = parse(&body(json!("notAValue"))).expect_err(&site.at());
            assert!(err.contains("unknown variant `notAValue`"), "{}: {err}", site.at());
        }
        // 23 enum-typed properties hold 301 values between them.
        assert_eq!(seen, 301);
    }

    #[test]
    fn rust_enums_list_exactly_the_schema_values() {
        fn wire<E: 'static>(all: &[E], as_str: fn(&E) -> &'static str) -> Vec<&'static str> {
            all.iter().map(as_str).collect()
        }
        let s = "/components/schemas";
        let people = format!("{s}/PeopleFiltersV3/properties");
        let companies = format!("{s}/CompaniesFiltersV3/properties");
        let medias = format!("{s}/AllAnyNoneFilterSocialMedia/properties");
        let mut cases: Vec<(Vec<String>, Vec<&str>)> = vec![
            (vec![format!("{s}/Seniority/enum")], wire(Seniority::ALL, Seniority::as_str)),
            (vec![format!("{s}/Department/enum")], wire(Department::ALL, Department::as_str)),
            (vec![format!("{s}/PublicCompanySize/enum")], wire(CompanySize::ALL, CompanySize::as_str)),
            (vec![format!("{s}/Revenue/enum")], wire(Revenue::ALL, Revenue::as_str)),
            (vec![format!("{s}/FundingRoundType/enum")], wire(FundingRoundType::ALL, FundingRoundType::as_str)),
            (
                vec![format!("{s}/HeadcountGrowthMonths/enum")],
                wire(HeadcountGrowthMonths::ALL, HeadcountGrowthMonths::as_str),
            ),
            (
                vec![format!("{s}/PersonField/enum"), format!("{s}/PersonCompanyField/enum")],
                wire(Field::ALL, Field::as_str),
            ),
            (
                vec![format!("{companies}/companyMatchingMode/enum")],
                wire(CompanyMatchingMode::ALL, CompanyMatchingMode::as_str),
            ),
        ];
        for key in ["fieldsExist", "fieldsNotExist"] {
            cases.push((
                vec![format!("{people}/{key}/items/enum")],
                wire(PersonPresenceField::ALL, PersonPresenceField::as_str),
            ));
            cases.push((
                vec![format!("{companies}/{key}/items/enum")],
                wire(CompanyPresenceField::ALL, CompanyPresenceField::as_str),
            ));
        }
        for key in ["anyOf", "allOf", "noneOf"] {
            cases.push((vec![format!("{medias}/{key}/items/enum")], wire(SocialMedia::ALL, SocialMedia::as_str)));
        }
        for key in ["minRelevance", "maxRelevance"] {
            cases.push((vec![format!("{companies}/{key}/enum")], wire(Relevance::ALL, Relevance::as_str)));
        }
        for filter in ["IndustriesFilter", "IndustryCategoriesFilter"] {
            cases.push((vec![format!("{s}/{filter}/properties/mode/enum")], wire(MatchMode::ALL, MatchMode::as_str)));
        }

        for (pointers, rust) in &cases {
            let schema: Vec<&str> = pointers
                .iter()
                .flat_map(|p| DOC.pointer(p).and_then(Value::as_array).unwrap_or_else(|| panic!("no enum at {p}")))
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(rust, &schema, "{pointers:?}");
        }

        // Every enum in the reachable schemas is in the table above.
        fn enums(s: &Value, at: String, out: &mut BTreeSet<String>) {
            match s {
                Value::Object(map) => map.iter().for_each(|(k, v)| {
                    if k == "enum" {
                        out.insert(format!("{at}/enum"));
                    } else {
                        enums(v, format!("{at}/{k}"), out);
                    }
                }),
                Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| enums(v, format!("{at}/{i}"), out)),
                _ => {}
            }
        }
        let mut in_schema = BTreeSet::new();
        for name in reachable() {
            enums(schema(name), format!("{s}/{name}"), &mut in_schema);
        }
        let in_table: BTreeSet<String> = cases.into_iter().flat_map(|(pointers, _)| pointers).collect();
        assert_eq!(in_table, in_schema);
    }

    /// One constrained property: values just inside its bounds, and values just outside with the message.
    struct Range {
        name: &'static str,
        key: &'static str,
        inside: Vec<Value>,
        outside: Vec<(Value, String)>,
    }

    /// An integer property with `minimum: lo` (or `exclusiveMinimum: lo - 1`) and `maximum: hi`.
    fn integer(name: &'static str, key: &'static str, lo: i64, hi: i64) -> Range {
        let message = |v: i64| format!("must be between {lo} and {hi}, got {v}");
        Range {
            name,
            key,
            inside: vec![json!(lo), json!(hi)],
            outside: vec![(json!(lo - 1), message(lo - 1)), (json!(hi + 1), message(hi + 1))],
        }
    }

    /// A number property with `minimum: lo` and `maximum: hi`; integers are accepted as numbers.
    fn number(name: &'static str, key: &'static str, lo: i64, hi: i64) -> Range {
        let (below, above) = (lo as f64 - 0.01, hi as f64 + 0.01);
        let message = |v: f64| format!("must be between {lo} and {hi}, got {v}");
        Range {
            name,
            key,
            inside: vec![json!(lo), json!(lo as f64), json!(hi), json!(hi as f64)],
            outside: vec![(json!(below), message(below)), (json!(above), message(above))],
        }
    }

    fn non_empty_string(name: &'static str, key: &'static str) -> Range {
        let outside = vec![(json!(""), "length must be at least 1, got 0".to_owned())];
        Range { name, key, inside: vec![json!("u")], outside }
    }

    /// Every `minimum`, `maximum`, `exclusiveMinimum`, `maxItems` and `minLength` of the schema.
    fn ranges() -> Vec<Range> {
        let domains = |n: usize| json!((0..n).map(|i| format!("d{i}.com")).collect::<Vec<_>>());
        vec![
            integer(ROOT, "size", 1, 10_000),
            integer(ROOT, "peoplePerCompany", 1, 20),
            number(ROOT, "jobTitleThreshold", 0, 1),
            // `exclusiveMinimum: 0` on an integer.
            integer("PeopleFiltersV3", "updatedWithinMonths", 1, 60),
            integer("CompaniesFiltersV3", "updatedWithinMonths", 1, 60),
            Range {
                name: "CompaniesFiltersV3",
                key: "lookalikeDomains",
                inside: vec![domains(0), domains(10)],
                outside: vec![(domains(11), "must be at most 10 items, got 11".to_owned())],
            },
            integer("SocialMediasFilterV3", "minCount", 1, 50),
            number("GeolocationFilter", "latitude", -90, 90),
            number("GeolocationFilter", "longitude", -180, 180),
            integer("GeolocationFilter", "radius", 1, 1_000_000),
            non_empty_string("State", "country"),
            non_empty_string("State", "abbreviation"),
        ]
    }

    #[test]
    fn ranges_cover_every_constraint_in_the_schema() {
        let mut in_schema = BTreeSet::new();
        for site in sites() {
            let items = site.prop.get("items").and_then(Value::as_object);
            let keywords = site.prop.as_object().unwrap().keys().chain(items.into_iter().flat_map(|i| i.keys()));
            for keyword in keywords {
                if !UNCHECKED_KEYWORDS.contains(&keyword.as_str()) {
                    in_schema.insert((site.name, site.key));
                }
            }
        }
        let in_table: BTreeSet<_> = ranges().into_iter().map(|r| (r.name, r.key)).collect();
        assert_eq!(in_table, in_schema);
    }

    #[test]
    fn bounds_pass_just_inside_and_fail_just_outside_naming_the_bound() {
        for Range { name, key, inside, outside } in ranges() {
            let site = site(name, key);
            for value in inside {
                let body = site.body(value);
                assert!(VALIDATOR.is_valid(&body), "{name}.{key}: the test's {body} is invalid");
                parse(&body).unwrap_or_else(|e| panic!("{name}.{key}: {e} in {body}"));
            }
            for (value, message) in outside {
                let body = site.body(value);
                assert!(!VALIDATOR.is_valid(&body), "{name}.{key}: the test's {body} is valid");
                let err = parse(&body).expect_err(&body.to_string());
                assert!(err.starts_with(&message), "{name}.{key}: {err:?} does not start with {message:?}");
            }
        }
    }

    #[test]
    fn constraint_messages_name_the_bound_and_the_value() {
        assert_eq!(PageSize::new(10_000).unwrap().get(), 10_000);
        assert_eq!(PageSize::new(20_000).unwrap_err().to_string(), "must be between 1 and 10000, got 20000");
        let hundred = PageSize::new(100).unwrap();
        assert_eq!(hundred.at_most(30).map(PageSize::get), Some(30));
        assert_eq!(hundred.at_most(u64::MAX).map(PageSize::people), Some(100));
        assert_eq!(hundred.at_most(0), None);
        assert_eq!(Latitude::new(f64::NAN).unwrap_err().to_string(), "must be between -90 and 90, got NaN");
        let twelve = vec![String::new(); 12];
        assert_eq!(LookalikeDomains::new(twelve).unwrap_err().to_string(), "must be at most 10 items, got 12");
        assert_eq!(NonEmptyString::new("").unwrap_err().to_string(), "length must be at least 1, got 0");
        // minLength counts characters, not bytes.
        assert_eq!(MinLenString::<2>::new("é").unwrap_err().to_string(), "length must be at least 2, got 1");
        assert_eq!(Finite::new(f64::NEG_INFINITY).unwrap_err().to_string(), "must be a finite number, got -inf");
    }

    #[test]
    fn serializes_to_the_wire_format() {
        assert_eq!(serde_json::to_string(&SearchBody::default()).unwrap(), "{}");
        let body = SearchBody {
            size: Some(PageSize::new(100).unwrap()),
            people_filters: Some(PeopleFilters {
                lookalike_linkedin_handles: Some(vec!["dwight-schrute".into()]),
                seniorities: Some(vec![Seniority::CLevel, Seniority::Vp]),
                departments: Some(vec![Department::RAndD]),
                ..PeopleFilters::default()
            }),
            companies_filters: Some(CompaniesFilters {
                company_sizes: Some(vec![CompanySize::AtLeast500000]),
                revenues: Some(vec![Revenue::Over1000M]),
                social_medias: Some(SocialMediasFilter {
                    medias: Some(AllAnyNoneFilter {
                        any_of: Some(vec![SocialMedia::X]),
                        ..AllAnyNoneFilter::default()
                    }),
                    min_count: None,
                }),
                ..CompaniesFilters::default()
            }),
            job_title_threshold: Some(JobTitleThreshold::new(0.8).unwrap()),
            fields: Some(vec![Field::EmailAddress, Field::CompanyLatestFundingRound]),
            ..SearchBody::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "size": 100,
                "peopleFilters": {
                    "lookalikeLinkedinHandles": ["dwight-schrute"],
                    "seniorities": ["C-Level", "VP"],
                    "departments": ["R&D"],
                },
                "companiesFilters": {
                    "companySizes": ["500000+"],
                    "revenues": [">1000M"],
                    "socialMedias": { "medias": { "anyOf": ["x"] } },
                },
                "jobTitleThreshold": 0.8,
                "fields": ["email.address", "company.latestFundingRound"],
            })
        );
    }

    #[test]
    fn json_errors_carry_the_position() {
        // The position is the value's last character.
        let src = "{\n  \"searchAfter\": \"x\",\n  \"size\": 0,\n  \"fields\": []\n}";
        let err = serde_json::from_str::<SearchBody>(src).unwrap_err();
        assert_eq!((err.line(), err.column()), (3, 11));
        assert!(err.to_string().starts_with("must be between 1 and 10000, got 0"), "{err}");
    }

    /// The message of a failed TOML parse, the 1-based line and column its span starts at, and the text it
    /// covers.
    fn toml_error(src: &str) -> (String, (usize, usize), &str) {
        let err = toml::from_str::<SearchBody>(src).expect_err("should not parse");
        let span = err.span().expect("a span");
        let before = &src[..span.start];
        let line = before.matches('\n').count() + 1;
        let column = span.start - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (err.message().to_owned(), (line, column), &src[span])
    }

    #[test]
    fn toml_unknown_key_error_points_at_the_key() {
        let src = "size = 100\n\n[peopleFilters]\ncountries = [\"us\"]\ncountrys = [\"dk\"]\n";
        let (message, at, text) = toml_error(src);
        assert!(message.starts_with("unknown field `countrys`"), "{message}");
        assert_eq!((at, text), ((5, 1), "countrys"));
    }

    #[test]
    fn toml_bad_values_error_at_the_value() {
        let cases = [
            ("searchAfter = \"abc\"\nsize = 0\n", "must be between 1 and 10000, got 0", (2, 8), "0"),
            ("jobTitleThreshold = 1.5\n", "must be between 0 and 1, got 1.5", (1, 21), "1.5"),
            ("[peopleFilters]\nseniorities = [\"Owner\", \"CEO\"]\n", "unknown variant `CEO`", (2, 25), "\"CEO\""),
            (
                "[companiesFilters.primaryLocations]\nincludeCountries = [\"us\"]\n\n\
                 [[companiesFilters.primaryLocations.includeRegions]]\ncountry = \"us\"\nabbreviation = \"\"\n",
                "length must be at least 1, got 0",
                (6, 16),
                "\"\"",
            ),
            (
                "[companiesFilters]\nlookalikeDomains = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]\n",
                "must be at most 10 items, got 11",
                (2, 20),
                "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]",
            ),
            (
                "[companiesFilters.headcountGrowth]\nasPercentage = true\nmonths = \"Six months\"\n\
                 growthRange = { from = -inf }\n",
                "must be a finite number, got -inf",
                (4, 24),
                "-inf",
            ),
        ];
        for (src, expected, at, text) in cases {
            let (message, found_at, found_text) = toml_error(src);
            assert!(message.starts_with(expected), "{src}: {message:?}");
            assert_eq!((found_at, found_text), (at, text), "{src}");
        }
    }

    #[test]
    fn toml_integers_are_accepted_for_numbers() {
        let src = "jobTitleThreshold = 1\n\
                   [companiesFilters.primaryLocations.geolocation]\nlatitude = 38\nlongitude = -77\nradius = 1000\n\
                   [companiesFilters.headcountGrowth]\nasPercentage = false\nmonths = \"Three months\"\n\
                   growthRange = { from = -1, to = 3 }\n";
        let body: SearchBody = toml::from_str(src).unwrap();
        assert_eq!(body.job_title_threshold.map(Bounded::get), Some(1.0));
        let companies = body.companies_filters.as_ref().unwrap();
        let geolocation = companies.primary_locations.as_ref().unwrap().geolocation.as_ref().unwrap();
        assert_eq!((geolocation.latitude.get(), geolocation.longitude.get()), (38.0, -77.0));
        let growth = companies.headcount_growth.as_ref().unwrap();
        assert_eq!(
            (growth.growth_range.from.map(Finite::get), growth.growth_range.to.map(Finite::get)),
            (Some(-1.0), Some(3.0))
        );
        assert!(VALIDATOR.is_valid(&serde_json::to_value(&body).unwrap()));
    }

    // ----- round-trip property -----

    /// Decimals with at most three places, as people write them. serde_json's default float parser is exact
    /// for those; arbitrary `f64`s would need its `float_roundtrip` feature to survive JSON.
    fn decimal(lo: i64, hi: i64) -> impl Strategy<Value = f64> {
        (lo * 1000..=hi * 1000).prop_map(|n| n as f64 / 1000.0)
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ./&'\"-]{0,12}"
    }

    fn non_empty() -> impl Strategy<Value = NonEmptyString> {
        "[a-zA-Z0-9 ./&'\"-]{1,12}".prop_map(|s| NonEmptyString::new(s).unwrap())
    }

    fn list<T: fmt::Debug>(item: impl Strategy<Value = T>) -> impl Strategy<Value = Option<Vec<T>>> {
        proptest::option::of(proptest::collection::vec(item, 0..4))
    }

    fn pick<T: Copy + fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(all)
    }

    fn from_to() -> impl Strategy<Value = FromTo> {
        (any::<Option<i64>>(), any::<Option<i64>>()).prop_map(|(from, to)| FromTo { from, to })
    }

    fn from_to_float() -> impl Strategy<Value = FromToFloat> {
        let end = || proptest::option::of(decimal(-10_000_000, 10_000_000).prop_map(|v| Finite::new(v).unwrap()));
        (end(), end()).prop_map(|(from, to)| FromToFloat { from, to })
    }

    fn all_any_none<S: Strategy>(item: impl Fn() -> S) -> impl Strategy<Value = AllAnyNoneFilter<S::Value>> {
        (list(item()), list(item()), list(item())).prop_map(|(any_of, all_of, none_of)| AllAnyNoneFilter {
            any_of,
            all_of,
            none_of,
        })
    }

    fn state() -> impl Strategy<Value = State> {
        (non_empty(), non_empty()).prop_map(|(country, abbreviation)| State { country, abbreviation })
    }

    fn people_filters() -> impl Strategy<Value = PeopleFilters> {
        let city = (text(), proptest::option::of(text()), proptest::option::of(state()))
            .prop_map(|(city, country, region)| PeopleCityFilter { city, country, region });
        (
            (list(text()), list(text()), list(pick(Seniority::ALL)), list(pick(Department::ALL))),
            (list(state()), list(city), proptest::option::of(all_any_none(text))),
            (list(pick(PersonPresenceField::ALL)), proptest::option::of(text())),
            (
                proptest::option::of((1..=60i64).prop_map(|m| UpdatedWithinMonths::new(m).unwrap())),
                proptest::option::of(from_to()),
            ),
        )
            .prop_map(
                |(
                    (handles, countries, seniorities, departments),
                    (states, cities, skills),
                    (exist, changed),
                    (updated, connections),
                )| {
                    PeopleFilters {
                        lookalike_linkedin_handles: handles,
                        countries,
                        seniorities,
                        departments,
                        states,
                        cities,
                        skills,
                        fields_exist: exist,
                        changed_position_after: changed,
                        updated_within_months: updated,
                        connections,
                        ..PeopleFilters::default()
                    }
                },
            )
    }

    fn companies_filters() -> impl Strategy<Value = CompaniesFilters> {
        let domains = proptest::collection::vec(text(), 0..=10).prop_map(|d| LookalikeDomains::new(d).unwrap());
        let geolocation =
            (decimal(-90, 90), decimal(-180, 180), 1..=1_000_000i64).prop_map(|(lat, lon, r)| GeolocationFilter {
                latitude: Latitude::new(lat).unwrap(),
                longitude: Longitude::new(lon).unwrap(),
                radius: RadiusMeters::new(r).unwrap(),
            });
        let city = (text(), proptest::option::of(text()), proptest::option::of(state()), proptest::option::of(text()))
            .prop_map(|(city, country, region, postal_code)| CompaniesCityFilter {
                city,
                country,
                region,
                postal_code,
            });
        let locations = (list(text()), list(state()), list(city), proptest::option::of(geolocation)).prop_map(
            |(include_countries, include_regions, include_cities, geolocation)| LocationsFilter {
                include_countries,
                include_regions,
                include_cities,
                geolocation,
                ..LocationsFilter::default()
            },
        );
        let industries = (proptest::collection::vec(text(), 0..3), proptest::option::of(pick(MatchMode::ALL)))
            .prop_map(|(industries, mode)| IndustriesFilter { industries, mode });
        let social = (
            proptest::option::of(all_any_none(|| pick(SocialMedia::ALL))),
            proptest::option::of((1..=50i64).prop_map(|n| SocialMediaMinCount::new(n).unwrap())),
        )
            .prop_map(|(medias, min_count)| SocialMediasFilter { medias, min_count });
        let growth = (any::<bool>(), from_to_float(), pick(HeadcountGrowthMonths::ALL)).prop_map(
            |(as_percentage, growth_range, months)| HeadcountGrowthFilter { as_percentage, growth_range, months },
        );
        let department_growth = || {
            (any::<bool>(), from_to_float(), pick(HeadcountGrowthMonths::ALL), pick(Department::ALL)).prop_map(
                |(as_percentage, growth_range, months, department)| DepartmentGrowthFilter {
                    as_percentage,
                    growth_range,
                    months,
                    department,
                },
            )
        };
        let department_growths = (list(department_growth()), list(department_growth()))
            .prop_map(|(any_of, all_of)| DepartmentGrowthAllAnyFilter { any_of, all_of });
        let funding = (proptest::option::of(from_to()), list(pick(FundingRoundType::ALL)))
            .prop_map(|(raised, types)| FundingRoundFilter { raised, types, date: None });
        (
            (
                proptest::option::of(domains),
                list(pick(CompanySize::ALL)),
                list(pick(Revenue::ALL)),
                any::<Option<bool>>(),
            ),
            (proptest::option::of(industries), proptest::option::of(locations), proptest::option::of(social)),
            (proptest::option::of(growth), proptest::option::of(department_growths), proptest::option::of(funding)),
            (
                proptest::option::of(pick(Relevance::ALL)),
                proptest::option::of(pick(CompanyMatchingMode::ALL)),
                list(pick(CompanyPresenceField::ALL)),
            ),
        )
            .prop_map(
                |(
                    (lookalike_domains, company_sizes, revenues, ecommerce),
                    (industries, primary_locations, social_medias),
                    (headcount_growth, department_headcount_growth, funding_round),
                    (min_relevance, company_matching_mode, fields_not_exist),
                )| CompaniesFilters {
                    lookalike_domains,
                    company_sizes,
                    revenues,
                    ecommerce,
                    industries,
                    primary_locations,
                    social_medias,
                    headcount_growth,
                    department_headcount_growth,
                    funding_round,
                    min_relevance,
                    company_matching_mode,
                    fields_not_exist,
                    ..CompaniesFilters::default()
                },
            )
    }

    fn search_body() -> impl Strategy<Value = SearchBody> {
        (
            proptest::option::of((1..=10_000i64).prop_map(|n| PageSize::new(n).unwrap())),
            proptest::option::of(people_filters()),
            proptest::option::of(companies_filters()),
            proptest::option::of((1..=20i64).prop_map(|n| PeoplePerCompany::new(n).unwrap())),
            proptest::option::of(decimal(0, 1).prop_map(|t| JobTitleThreshold::new(t).unwrap())),
            proptest::option::of(text()),
            list(pick(Field::ALL)),
        )
            .prop_map(
                |(
                    size,
                    people_filters,
                    companies_filters,
                    people_per_company,
                    job_title_threshold,
                    search_after,
                    fields,
                )| {
                    SearchBody {
                        size,
                        people_filters,
                        companies_filters,
                        people_per_company,
                        job_title_threshold,
                        search_after,
                        fields,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn search_body_round_trips_and_validates(body in search_body()) {
            let json = serde_json::to_string(&body).unwrap();
            prop_assert_eq!(&serde_json::from_str::<SearchBody>(&json).unwrap(), &body);
            let value: Value = serde_json::from_str(&json).unwrap();
            prop_assert!(VALIDATOR.is_valid(&value), "not valid for the schema: {}", json);
            let toml_text = toml::to_string(&body).unwrap();
            prop_assert_eq!(&toml::from_str::<SearchBody>(&toml_text).unwrap(), &body, "via TOML:\n{}", toml_text);
        }
    }
}
