//! How FITS files become ObsCore rows beyond what their WCS says: a mapping file (TOML,
//! modelled on Rubin's dax_obscore / daf_butler live-ObsCore configurations; see
//! `obscore-mapping.example.toml` for every key, commented).
//!
//! - rules (`[[rules]]`), tried in order, the first that matches a file deciding: by a glob
//!   on the file's path relative to the data root (`path`, `*` within a folder, `**` across
//!   folders) and by globs on header keyword values (`header = { INSTRUME = "HSC*" }`); a
//!   rule sets obs_collection, obs_id, facility_name, instrument_name, calib_level,
//!   dataproduct_type and target_name, which take precedence over the server's
//!   `obs_collection` and `calib_level` and over what the header says (a rule without
//!   `path` or `header` matches every file: put it last for defaults).
//! - templates (`obs_id`, `target_name`, `facility_name`, `instrument_name`,
//!   `obs_publisher_did`):
//!   text with `{name}` placeholders: `{path}` (relative to the data root), `{name}` (the
//!   file's name), `{stem}` (its name without `.fits`, `.fits.gz`, `.fits.fz`), `{dir}`
//!   (its folder, empty at the root), `{path[N]}` (the N-th folder or name, from 0; -1 is
//!   the name), `{obs_collection}`, `{authority}`, `{obs_id}` (in obs_publisher_did), and
//!   any upper-case name for that header keyword (the science HDU's, else the primary's;
//!   a file whose header lacks it gives no row, with the reason). `{{` and `}}` are braces.
//! - `[spectral_ranges]`: the value of the filter keyword (`filter_keyword`, default
//!   `FILTER`) -> `[em_min, em_max]` in metres, for products without a spectral axis; `[]`
//!   (Rubin's `[null, null]`) for a filter known to have no range.
//! - extension columns (Rubin's `lsst_*`): `felis = "FILE"` names a Felis file whose
//!   `ObsCore` table declares them (every column that is not one of the 30 ObsCore ones);
//!   `[extra_columns] NAME = "template"` fills them (NULL without one, or when a keyword it
//!   reads is not in a file's header). They are added to
//!   ivoa.ObsCore and published in TAP_SCHEMA; one that leaves the mapping stays in the table
//!   (nothing is dropped), no longer filled nor published.
//! - `[hdus]`: which image HDUs are science (`science`: their EXTNAME or EXTTYPE; empty:
//!   any that is not mask or variance), mask (`mask`) and variance (`variance`).
//!
//! Every problem is found when the file is read, located as `FILE:LINE: KEY: what`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The ObsCore dataproduct_type vocabulary (ObsCore 1.1 §4.1).
pub const DATAPRODUCT_TYPES: [&str; 8] = [
    "image",
    "cube",
    "spectrum",
    "sed",
    "timeseries",
    "visibility",
    "event",
    "measurements",
];

/// The default mask and variance HDU names (EXTNAME or EXTTYPE, compared without case), as
/// LSST, HST and others name them.
pub const DEFAULT_MASK: [&str; 5] = ["MASK", "DQ", "FLAGS", "BPM", "CONF"];
/// See [`DEFAULT_MASK`].
pub const DEFAULT_VARIANCE: [&str; 7] =
    ["VARIANCE", "VAR", "WEIGHT", "WHT", "ERR", "ERROR", "SIGMA"];

/// A text with `{name}` placeholders (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Path,
    Name,
    Stem,
    Dir,
    Component(i64),
    Collection,
    Authority,
    ObsId,
    Keyword(String),
}

/// What a template's placeholders stand for, for one file.
pub struct Vars<'a> {
    /// The path relative to the data root, `/`-separated.
    pub path: &'a str,
    /// obs_collection.
    pub obs_collection: &'a str,
    /// The IVOA authority.
    pub authority: &'a str,
    /// obs_id (in obs_publisher_did).
    pub obs_id: &'a str,
    /// A header keyword's value.
    pub keyword: &'a dyn Fn(&str) -> Option<String>,
}

impl Template {
    /// Parse `text`; `obs_id` says whether `{obs_id}` may be used. Errors say what is wrong.
    pub fn parse(text: &str, obs_id: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err("a '}' without its '{' (write '}}' for a brace)".into()),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("'{{{name}' is not closed")),
                        }
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Self::placeholder(&name, obs_id)?);
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template {
            parts,
            text: text.to_string(),
        })
    }

    fn placeholder(name: &str, obs_id: bool) -> Result<Part, String> {
        Ok(match name {
            "path" => Part::Path,
            "name" => Part::Name,
            "stem" => Part::Stem,
            "dir" => Part::Dir,
            "obs_collection" => Part::Collection,
            "authority" => Part::Authority,
            "obs_id" if obs_id => Part::ObsId,
            "obs_id" => return Err("{obs_id} can be used in obs_publisher_did only".into()),
            _ => {
                if let Some(n) = name.strip_prefix("path[").and_then(|r| r.strip_suffix(']')) {
                    let n: i64 = n
                        .trim()
                        .parse()
                        .map_err(|_| format!("{{{name}}}: the index must be a whole number"))?;
                    Part::Component(n)
                } else if !name.is_empty()
                    && name.len() <= 70
                    && name.bytes().all(|b| {
                        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
                {
                    Part::Keyword(name.to_string())
                } else {
                    return Err(format!(
                        "{{{name}}} is not a placeholder: use path, name, stem, dir, path[N], obs_collection, authority, obs_id, or an upper-case header keyword"
                    ));
                }
            }
        })
    }

    /// The header keywords it uses.
    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Keyword(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// The text for one file; `encode` percent-encodes each value put in (but the
    /// authority), keeping `/`. Errors: a keyword the header lacks, a path part that is not
    /// there.
    pub fn render(&self, v: &Vars<'_>, encode: bool) -> Result<String, String> {
        let parts: Vec<&str> = v.path.split('/').collect();
        let name = parts.last().copied().unwrap_or("");
        let mut out = String::new();
        for p in &self.parts {
            let value: String = match p {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Authority => {
                    out.push_str(v.authority);
                    continue;
                }
                Part::Path => v.path.to_string(),
                Part::Name => name.to_string(),
                Part::Stem => stem(name).to_string(),
                Part::Dir => parts[..parts.len().saturating_sub(1)].join("/"),
                Part::Component(n) => {
                    let i = if *n < 0 { parts.len() as i64 + n } else { *n };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| parts.get(i))
                        .ok_or_else(|| {
                            format!("template '{}': {} has no part [{n}]", self.text, v.path)
                        })?
                        .to_string()
                }
                Part::Collection => v.obs_collection.to_string(),
                Part::ObsId => v.obs_id.to_string(),
                Part::Keyword(k) => (v.keyword)(k)
                    .ok_or_else(|| format!("template '{}': the header has no {k}", self.text))?,
            };
            if encode {
                out.push_str(&crate::ingest::percent_encode(&value).replace("%2F", "/"));
            } else {
                out.push_str(&value);
            }
        }
        Ok(out)
    }
}

/// A file name without its FITS ending (`.fits`, `.fits.gz`, `.fits.fz`, any case).
pub fn stem(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    for end in [".fits.gz", ".fits.fz", ".fits"] {
        if lower.ends_with(end) {
            return &name[..name.len() - end.len()];
        }
    }
    name
}

/// The values a rule (or the file's top level) sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    /// obs_collection.
    pub obs_collection: Option<String>,
    /// calib_level (0..=4).
    pub calib_level: Option<i32>,
    /// dataproduct_type (one of [`DATAPRODUCT_TYPES`]).
    pub dataproduct_type: Option<String>,
    /// facility_name.
    pub facility_name: Option<Template>,
    /// instrument_name.
    pub instrument_name: Option<Template>,
    /// target_name.
    pub target_name: Option<Template>,
    /// obs_id.
    pub obs_id: Option<Template>,
}

/// One rule: which files, and what it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// A glob on the path relative to the data root.
    pub path: Option<glob::Pattern>,
    /// Globs on header keyword values (all must match).
    pub header: Vec<(String, glob::Pattern)>,
    /// What it sets.
    pub set: Fields,
}

/// A mapping (see the module's documentation). The default maps as vogate always has.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The file it was read from.
    pub source: Option<PathBuf>,
    /// FNV-1a 64 of its text (hex): rows made under another mapping are made again.
    pub fingerprint: String,
    /// obs_id's template (default `{path}`), where a rule sets none.
    pub obs_id: Template,
    /// obs_publisher_did's template (default `{authority}/{obs_collection}?{obs_id}`).
    pub obs_publisher_did: Template,
    /// The keyword that names a product's filter.
    pub filter_keyword: String,
    /// Filter -> (em_min, em_max) in metres, `None` for a filter with no range.
    pub spectral_ranges: BTreeMap<String, Option<(f64, f64)>>,
    /// Science HDU names (empty: any image HDU that is not mask or variance).
    pub science: Vec<String>,
    /// Mask HDU names.
    pub mask: Vec<String>,
    /// Variance HDU names.
    pub variance: Vec<String>,
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// The header keywords it reads (for the header reader).
    pub keywords: Vec<String>,
    /// Extension columns of ivoa.ObsCore (Rubin's `lsst_*` kind), declared in the Felis file
    /// the mapping names, in its order; each filled by its template when it has one.
    pub extra_columns: Vec<ExtraColumn>,
}

/// An extension column of ivoa.ObsCore: its Felis declaration (name, datatype, description,
/// UCD, unit: what TAP_SCHEMA publishes), and the template that fills it, if any (its text
/// converted to the column's datatype; NULL without a template).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraColumn {
    /// The Felis column.
    pub column: vo_felis::model::Column,
    /// Its value's template.
    pub template: Option<Template>,
}

impl ExtraColumn {
    /// The value of `text` (a rendered template) for the column: an integer for boolean
    /// (0/1) and integer types, a number for float and double, else text. Errors name the
    /// column and the value.
    pub fn value(&self, text: &str) -> Result<vo_common::Value, String> {
        use vo_common::Value;
        use vo_felis::DataType as T;
        let name = &self.column.name;
        let t = text.trim();
        Ok(match self.column.datatype {
            T::Boolean => match t.to_ascii_lowercase().as_str() {
                "t" | "true" | "1" => Value::Int(1),
                "f" | "false" | "0" => Value::Int(0),
                _ => return Err(format!("extra column {name}: '{t}' is not a boolean")),
            },
            T::Byte | T::Short | T::Int | T::Long => Value::Int(
                t.parse()
                    .map_err(|_| format!("extra column {name}: '{t}' is not an integer"))?,
            ),
            T::Float | T::Double => {
                let v: f64 = t
                    .replace(['D', 'd'], "E")
                    .parse()
                    .map_err(|_| format!("extra column {name}: '{t}' is not a number"))?;
                if v.is_finite() {
                    Value::Double(v)
                } else {
                    Value::Null
                }
            }
            _ => Value::Text(text.to_string()),
        })
    }
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            source: None,
            fingerprint: "default".into(),
            obs_id: Template {
                parts: vec![Part::Path],
                text: "{path}".into(),
            },
            obs_publisher_did: Template {
                parts: vec![
                    Part::Authority,
                    Part::Text("/".into()),
                    Part::Collection,
                    Part::Text("?".into()),
                    Part::ObsId,
                ],
                text: "{authority}/{obs_collection}?{obs_id}".into(),
            },
            filter_keyword: "FILTER".into(),
            spectral_ranges: BTreeMap::new(),
            science: Vec::new(),
            mask: DEFAULT_MASK.iter().map(|s| s.to_string()).collect(),
            variance: DEFAULT_VARIANCE.iter().map(|s| s.to_string()).collect(),
            rules: Vec::new(),
            keywords: vec!["FILTER".into()],
            extra_columns: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    path: Option<Spanned<String>>,
    obs_id: Option<Spanned<String>>,
    #[serde(default)]
    header: BTreeMap<String, Spanned<String>>,
    obs_collection: Option<Spanned<String>>,
    calib_level: Option<Spanned<i64>>,
    dataproduct_type: Option<Spanned<String>>,
    facility_name: Option<Spanned<String>>,
    instrument_name: Option<Spanned<String>>,
    target_name: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HdusFile {
    science: Option<Vec<String>>,
    mask: Option<Vec<String>>,
    variance: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    felis: Option<Spanned<String>>,
    #[serde(default)]
    extra_columns: BTreeMap<String, Spanned<String>>,
    obs_id: Option<Spanned<String>>,
    obs_publisher_did: Option<Spanned<String>>,
    filter_keyword: Option<Spanned<String>>,
    #[serde(default)]
    spectral_ranges: BTreeMap<String, Spanned<Vec<f64>>>,
    #[serde(default)]
    hdus: HdusFile,
    #[serde(default)]
    rules: Vec<RuleFile>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Mapping {
    /// Read the mapping file at `path`. Errors name the file, the line and the key.
    pub fn read(path: &Path) -> Result<Mapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the ObsCore mapping: {e}", path.display()))?;
        Mapping::parse(&text, path)
    }

    /// Parse the text of a mapping file read from `path` (for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Mapping, String> {
        let file = path.display();
        let at = |span: std::ops::Range<usize>, key: &str, what: String| {
            format!("{file}:{}: {key}: {what}", line_of(text, span.start))
        };
        let raw: MappingFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let key = text
                .lines()
                .nth(line.saturating_sub(1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .unwrap_or_default();
            // The table the line is in: `rules[N].` or `NAME.` before the key.
            let mut table = String::new();
            let mut rules = 0;
            for l in text.lines().take(line.saturating_sub(1)) {
                let l = l.trim();
                if l.starts_with("[[rules]]") {
                    rules += 1;
                    table = format!("rules[{}].", rules - 1);
                } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
                    table = format!("{}.", name.trim_matches('['));
                }
            }
            let key = if key.is_empty() {
                key
            } else {
                format!("{table}{key}")
            };
            let msg = e.message().to_string();
            if key.is_empty() {
                format!("{file}:{line}: {msg}")
            } else {
                format!("{file}:{line}: {key}: {msg}")
            }
        })?;
        let mut m = Mapping {
            source: Some(path.to_path_buf()),
            fingerprint: fingerprint(text),
            ..Mapping::default()
        };
        if let Some(t) = raw.obs_id {
            m.obs_id =
                Template::parse(t.get_ref(), false).map_err(|e| at(t.span(), "obs_id", e))?;
        }
        if let Some(t) = raw.obs_publisher_did {
            m.obs_publisher_did = Template::parse(t.get_ref(), true)
                .map_err(|e| at(t.span(), "obs_publisher_did", e))?;
            if !m.obs_publisher_did.parts.iter().any(|p| {
                matches!(
                    p,
                    Part::Path
                        | Part::Name
                        | Part::Stem
                        | Part::Component(_)
                        | Part::ObsId
                        | Part::Keyword(_)
                )
            }) {
                return Err(at(
                    t.span(),
                    "obs_publisher_did",
                    "the DID names one product: use {obs_id}, {path}, {name}, {stem}, {path[N]} or a header keyword in it".into(),
                ));
            }
        }
        if let Some(k) = raw.filter_keyword {
            let v = k.get_ref().trim().to_ascii_uppercase();
            if v.is_empty() || v.len() > 70 || v.contains(' ') {
                return Err(at(
                    k.span(),
                    "filter_keyword",
                    format!("'{}' is not a FITS keyword", k.get_ref()),
                ));
            }
            m.filter_keyword = v;
        }
        for (filter, range) in &raw.spectral_ranges {
            let key = format!("spectral_ranges.{filter}");
            let r = range.get_ref();
            let value = match r.as_slice() {
                [] => None,
                [lo, hi] if lo.is_nan() && hi.is_nan() => None,
                [lo, hi] if lo.is_finite() && hi.is_finite() && *lo > 0.0 && lo <= hi => {
                    if *hi > 1.0 {
                        return Err(at(
                            range.span(),
                            &key,
                            format!("[{lo}, {hi}]: wavelengths are in metres (e.g. 402e-9), and {hi} m is not light vogate knows"),
                        ));
                    }
                    Some((*lo, *hi))
                }
                _ => {
                    return Err(at(
                        range.span(),
                        &key,
                        format!("{r:?} is not [em_min, em_max] in metres with 0 < em_min <= em_max, nor [] (no range)"),
                    ))
                }
            };
            m.spectral_ranges.insert(filter.clone(), value);
        }
        let names = |v: &Option<Vec<String>>, default: &[&str]| -> Vec<String> {
            v.clone()
                .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect())
        };
        m.science = names(&raw.hdus.science, &[]);
        m.mask = names(&raw.hdus.mask, &DEFAULT_MASK);
        m.variance = names(&raw.hdus.variance, &DEFAULT_VARIANCE);
        for (i, r) in raw.rules.iter().enumerate() {
            let prefix = format!("rules[{i}]");
            let path = match &r.path {
                Some(p) => Some(glob::Pattern::new(p.get_ref()).map_err(|e| {
                    at(
                        p.span(),
                        &format!("{prefix}.path"),
                        format!("'{}' is not a glob: {e}", p.get_ref()),
                    )
                })?),
                None => None,
            };
            let mut header = Vec::new();
            for (k, v) in &r.header {
                let key = k.trim().to_ascii_uppercase();
                let pat = glob::Pattern::new(v.get_ref()).map_err(|e| {
                    at(
                        v.span(),
                        &format!("{prefix}.header.{k}"),
                        format!("'{}' is not a glob: {e}", v.get_ref()),
                    )
                })?;
                header.push((key, pat));
            }
            let set = rule_fields(r, &prefix, &at)?;
            m.rules.push(Rule { path, header, set });
        }
        let mut fingerprint_text = text.to_string();
        match &raw.felis {
            Some(f) => {
                let felis_path = path.parent().unwrap_or(Path::new(".")).join(f.get_ref());
                let felis_text = std::fs::read_to_string(&felis_path).map_err(|e| {
                    at(
                        f.span(),
                        "felis",
                        format!("cannot read {}: {e}", felis_path.display()),
                    )
                })?;
                fingerprint_text.push_str(&felis_text);
                let schema = vo_felis::load_file(&felis_path, &vo_felis::Checks::default())
                    .map_err(|problems| {
                        at(
                            f.span(),
                            "felis",
                            problems
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                    })?;
                let table = schema
                    .tables
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case("ObsCore"))
                    .ok_or_else(|| {
                        at(
                            f.span(),
                            "felis",
                            format!("{} has no table ObsCore", felis_path.display()),
                        )
                    })?;
                for c in &table.columns {
                    if crate::OBSCORE_COLUMNS.iter().any(|o| o.name == c.name) {
                        continue;
                    }
                    if c.name.starts_with('_')
                        || !c
                            .name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return Err(at(
                            f.span(),
                            "felis",
                            format!(
                                "column '{}' of ObsCore: extra columns are named with letters, digits and '_', not starting with '_'",
                                c.name
                            ),
                        ));
                    }
                    m.extra_columns.push(ExtraColumn {
                        column: c.clone(),
                        template: None,
                    });
                }
            }
            None => {
                if let Some((k, v)) = raw.extra_columns.iter().next() {
                    return Err(at(
                        v.span(),
                        &format!("extra_columns.{k}"),
                        "extra columns are declared in a Felis file: name it with felis = \"...\""
                            .into(),
                    ));
                }
            }
        }
        for (k, v) in &raw.extra_columns {
            let key = format!("extra_columns.{k}");
            let template =
                Template::parse(v.get_ref(), false).map_err(|e| at(v.span(), &key, e))?;
            if crate::OBSCORE_COLUMNS.iter().any(|o| o.name == k.as_str()) {
                return Err(at(
                    v.span(),
                    &key,
                    format!("{k} is an ObsCore column that vogate fills; extra columns are the Felis file's others"),
                ));
            }
            let names: Vec<String> = m
                .extra_columns
                .iter()
                .map(|c| c.column.name.clone())
                .collect();
            match m.extra_columns.iter_mut().find(|c| c.column.name == *k) {
                Some(c) => c.template = Some(template),
                None => {
                    return Err(at(
                        v.span(),
                        &key,
                        format!(
                            "the Felis file declares no extra column {k} (it declares: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    ))
                }
            }
        }
        m.fingerprint = fingerprint(&fingerprint_text);
        m.keywords = m.collect_keywords();
        Ok(m)
    }

    /// The header keywords the mapping reads (for the header reader), sorted: what
    /// [`Mapping::keywords`] holds.
    fn collect_keywords(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![self.filter_keyword.clone()];
        let mut templates: Vec<&Template> = vec![&self.obs_id, &self.obs_publisher_did];
        for f in self.rules.iter().map(|r| &r.set) {
            templates.extend(
                [
                    &f.facility_name,
                    &f.instrument_name,
                    &f.target_name,
                    &f.obs_id,
                ]
                .into_iter()
                .flatten(),
            );
        }
        for t in templates {
            out.extend(t.keywords().map(str::to_string));
        }
        for r in &self.rules {
            out.extend(r.header.iter().map(|(k, _)| k.clone()));
        }
        for c in &self.extra_columns {
            if let Some(t) = &c.template {
                out.extend(t.keywords().map(str::to_string));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The first rule that matches the file at `path` (relative) whose keywords are
    /// `keyword`.
    pub fn rule_for(&self, path: &str, keyword: &dyn Fn(&str) -> Option<String>) -> Option<&Rule> {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.rules.iter().find(|r| {
            r.path.as_ref().is_none_or(|p| p.matches_with(path, opts))
                && r.header
                    .iter()
                    .all(|(k, pat)| keyword(k).is_some_and(|v| pat.matches_with(v.trim(), opts)))
        })
    }

    /// Whether an image HDU named `names` (its EXTNAME and EXTTYPE) is science.
    pub fn is_science(&self, names: &[&str]) -> bool {
        let any = |list: &[String]| {
            names
                .iter()
                .any(|n| list.iter().any(|l| l.eq_ignore_ascii_case(n.trim())))
        };
        if self.science.is_empty() {
            !any(&self.mask) && !any(&self.variance)
        } else {
            any(&self.science)
        }
    }
}

/// FNV-1a 64 of `text`, hex (16 digits).
pub(crate) fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What rule `r` (named `prefix`, e.g. `rules[2]`) sets, checked.
fn rule_fields(
    r: &RuleFile,
    prefix: &str,
    at: &dyn Fn(std::ops::Range<usize>, &str, String) -> String,
) -> Result<Fields, String> {
    let mut f = Fields::default();
    let template = |v: &Option<Spanned<String>>, key: &str| -> Result<Option<Template>, String> {
        v.as_ref()
            .map(|t| {
                Template::parse(t.get_ref(), false)
                    .map_err(|e| at(t.span(), &format!("{prefix}.{key}"), e))
            })
            .transpose()
    };
    if let Some(c) = &r.obs_collection {
        let v = c.get_ref();
        if v.is_empty() || v.contains(['?', '/', ' ']) {
            return Err(at(
                c.span(),
                &format!("{prefix}.obs_collection"),
                format!("'{v}' must be non-empty without '?', '/' or spaces"),
            ));
        }
        f.obs_collection = Some(v.clone());
    }
    if let Some(n) = &r.calib_level {
        if !(0..=4).contains(n.get_ref()) {
            return Err(at(
                n.span(),
                &format!("{prefix}.calib_level"),
                format!("{} is not in 0..=4", n.get_ref()),
            ));
        }
        f.calib_level = Some(*n.get_ref() as i32);
    }
    if let Some(t) = &r.dataproduct_type {
        if !DATAPRODUCT_TYPES.contains(&t.get_ref().as_str()) {
            return Err(at(
                t.span(),
                &format!("{prefix}.dataproduct_type"),
                format!(
                    "'{}' is not one of {}",
                    t.get_ref(),
                    DATAPRODUCT_TYPES.join(", ")
                ),
            ));
        }
        f.dataproduct_type = Some(t.get_ref().clone());
    }
    f.facility_name = template(&r.facility_name, "facility_name")?;
    f.instrument_name = template(&r.instrument_name, "instrument_name")?;
    f.target_name = template(&r.target_name, "target_name")?;
    f.obs_id = template(&r.obs_id, "obs_id")?;
    Ok(f)
}
