//! Reading and validating Felis YAML: every check `felis validate` makes by default (the
//! pydantic model of `felis.datamodel`, with ID generation), plus duplicate `tap:table_index`
//! values, which vogate always rejects, and Felis's opt-in checks behind [`Checks`]. Each
//! problem is located: file, line and a path such as `tables[3].columns[7].datatype`.
//!
//! UCDs are checked against the UCD1+ controlled vocabulary ([`crate::ucd`]). Not checked
//! (yet): units against astropy's unit grammar (Felis checks them).

use crate::model::{
    Column, Constraint, ConstraintKind, DataType, Index, Located, Scalar, Schema, Table,
};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::Node;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One thing wrong with a schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Located,
    /// The rule broken, a short stable name (`length-required`, `extra-key`, ...).
    pub rule: &'static str,
    /// What is wrong, in Felis's words where Felis has them.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {} [{}]",
            self.at.file,
            self.at.line,
            if self.at.path.is_empty() {
                "(schema)"
            } else {
                &self.at.path
            },
            self.message,
            self.rule
        )
    }
}

/// Felis's opt-in checks (`felis validate --check-...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    /// `--check-description`: every object has a non-empty description.
    pub description: bool,
    /// `--check-tap-principal`: every table has a `tap:principal: 1` column.
    pub tap_principal: bool,
    /// `--check-tap-table-indexes`: every table has a `tap:table_index` (duplicates are
    /// always refused).
    pub tap_table_indexes: bool,
    /// `--check-redundant-datatypes`: a `mysql:datatype`/`postgresql:datatype` that says the
    /// same as `datatype` is refused.
    pub redundant_datatypes: bool,
}

/// Read and validate the Felis file at `path`; resources (`resources:` URIs) are resolved
/// relative to its folder. Errors: every problem found (at least one).
pub fn load_file(path: &Path, checks: &Checks) -> Result<Schema, Vec<Problem>> {
    load_file_inner(path, checks, 0)
}

fn load_file_inner(path: &Path, checks: &Checks, depth: usize) -> Result<Schema, Vec<Problem>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Problem {
            at: Located {
                file: file.clone(),
                ..Default::default()
            },
            rule: "read",
            message: format!("cannot read the file: {e}"),
        }]
    })?;
    load_str_inner(&text, &file, path.parent(), checks, depth)
}

/// Read and validate Felis YAML `text` named `file` (for messages); `base` is the folder that
/// relative resource URIs are resolved against.
pub fn load_str(
    text: &str,
    file: &str,
    base: Option<&Path>,
    checks: &Checks,
) -> Result<Schema, Vec<Problem>> {
    load_str_inner(text, file, base, checks, 0)
}

fn load_str_inner(
    text: &str,
    file: &str,
    base: Option<&Path>,
    checks: &Checks,
    depth: usize,
) -> Result<Schema, Vec<Problem>> {
    // One document per file, as Felis (PyYAML's safe_load) wants.
    if let Some(line) = second_document(text) {
        return Err(vec![Problem {
            at: Located {
                file: file.to_string(),
                line,
                path: String::new(),
            },
            rule: "yaml",
            message: "expected a single YAML document, but found another".into(),
        }]);
    }
    // Quoted scalars stay text (may_coerce false); plain ones are typed as YAML 1.1 does.
    let options = marked_yaml::LoaderOptions::default().prevent_coercion(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| {
        vec![Problem {
            at: Located {
                file: file.to_string(),
                line: yaml_error_line(&e),
                path: String::new(),
            },
            rule: "yaml",
            message: format!("not a YAML mapping: {e}"),
        }]
    })?;
    let mut p = Parser {
        file: file.to_string(),
        base: base.map(Path::to_path_buf),
        checks: *checks,
        problems: Vec::new(),
        depth,
    };
    let schema = p.schema(&root);
    if p.problems.is_empty() {
        if let Some(s) = &schema {
            p.cross_checks(s);
        }
    }
    match schema {
        Some(s) if p.problems.is_empty() => Ok(s),
        _ => {
            if p.problems.is_empty() {
                p.problems.push(Problem {
                    at: Located {
                        file: file.to_string(),
                        ..Default::default()
                    },
                    rule: "schema",
                    message: "not a Felis schema".into(),
                });
            }
            Err(p.problems)
        }
    }
}

/// The 1-based line where a second YAML document starts (a `---` or `...` marker after
/// content), if any.
fn second_document(text: &str) -> Option<usize> {
    let mut content = false;
    let mut ended = false;
    for (i, line) in text.lines().enumerate() {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#']))
        };
        if marker("---") {
            if content {
                return Some(i + 1);
            }
            continue;
        }
        if marker("...") {
            ended = content;
            continue;
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || (!content && t.starts_with('%')) {
            continue;
        }
        if ended {
            return Some(i + 1);
        }
        content = true;
    }
    None
}

fn yaml_error_line(e: &marked_yaml::LoadError) -> usize {
    // LoadError's Display carries the position; the line is its first "line N" number.
    let s = e.to_string();
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .skip_while(|w| *w != "line")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

struct Parser {
    file: String,
    base: Option<PathBuf>,
    checks: Checks,
    problems: Vec<Problem>,
    depth: usize,
}

fn line_of(node: &Node) -> usize {
    node.span().start().map_or(0, |m| m.line())
}

fn scalar_line(s: &MarkedScalarNode) -> usize {
    s.span().start().map_or(0, |m| m.line())
}

/// YAML 1.1 (PyYAML's resolver, which Felis reads with): the type of a plain scalar.
fn plain_kind(s: &str) -> Scalar {
    let t = s.trim();
    match t {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Scalar::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false)
        }
        _ => {}
    }
    let digits = t.trim_start_matches(['+', '-']).replace('_', "");
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(i) = t.replace('_', "").parse::<i64>() {
            return Scalar::Int(i);
        }
    }
    let looks_float = t.contains('.') || t.contains(['e', 'E']);
    if looks_float
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
        && t.chars().any(|c| c.is_ascii_digit())
    {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    if matches!(t, ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF") {
        return Scalar::Float(f64::INFINITY);
    }
    if matches!(t, "-.inf" | "-.Inf" | "-.INF") {
        return Scalar::Float(f64::NEG_INFINITY);
    }
    if matches!(t, ".nan" | ".NaN" | ".NAN") {
        return Scalar::Float(f64::NAN);
    }
    Scalar::Text(s.to_string())
}

/// The value of a scalar node: quoted scalars are text; plain ones are typed as YAML 1.1
/// does. `None` for YAML null.
fn typed(s: &MarkedScalarNode) -> Option<Scalar> {
    if !s.may_coerce() {
        return Some(Scalar::Text(s.as_str().to_string()));
    }
    if matches!(s.as_str().trim(), "" | "~" | "null" | "Null" | "NULL") {
        return None;
    }
    Some(plain_kind(s.as_str()))
}

const BASE_KEYS: [&str; 4] = ["name", "@id", "description", "votable:utype"];

/// The fields of [`BASE_KEYS`] as read (`name` is `None` when missing: already a problem).
struct Base {
    name: Option<String>,
    id: Option<String>,
    description: Option<String>,
    utype: Option<String>,
}

impl Parser {
    fn at(&self, line: usize, path: &str) -> Located {
        Located {
            file: self.file.clone(),
            line,
            path: path.to_string(),
        }
    }

    fn problem(&mut self, line: usize, path: &str, rule: &'static str, message: impl Into<String>) {
        let at = self.at(line, path);
        self.problems.push(Problem {
            at,
            rule,
            message: message.into(),
        });
    }

    fn mapping<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a MarkedMappingNode> {
        match node.as_mapping() {
            Some(m) => Some(m),
            None => {
                self.problem(
                    line_of(node),
                    path,
                    "type",
                    "Input should be a valid dictionary (a YAML mapping)",
                );
                None
            }
        }
    }

    /// Refuse keys outside `allowed` (pydantic's extra="forbid"); each key may also be
    /// written as its Python field name (pydantic's populate_by_name), see [`py_name`].
    fn keys(&mut self, map: &MarkedMappingNode, path: &str, allowed: &[&str]) {
        for (k, _) in map.iter() {
            // The Python name counts only when the key itself is absent (pydantic then reports
            // the Python name as an extra input).
            let known = allowed.iter().any(|a| {
                *a == k.as_str() || (py_name(a) == k.as_str() && map.get_node(a).is_none())
            });
            if !known {
                self.problem(
                    scalar_line(k),
                    &join(path, k.as_str()),
                    "extra-key",
                    format!("Extra inputs are not permitted: '{}'", k.as_str()),
                );
            }
        }
    }

    fn get<'a>(&self, map: &'a MarkedMappingNode, key: &str) -> Option<&'a Node> {
        map.get_node(key)
            .or_else(|| map.get_node(&py_name(key)))
            .filter(|n| match n.as_scalar() {
                Some(s) => {
                    !(s.may_coerce()
                        && matches!(s.as_str().trim(), "" | "~" | "null" | "Null" | "NULL"))
                }
                None => true,
            })
    }

    fn string(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> Option<String> {
        let node = self.get(map, key)?;
        let p = join(path, key);
        match node.as_scalar() {
            Some(s) => match typed(s) {
                Some(Scalar::Text(t)) => Some(t.trim().to_string()),
                Some(_) => {
                    self.problem(line_of(node), &p, "type", "Input should be a valid string");
                    None
                }
                None => None,
            },
            None => {
                self.problem(line_of(node), &p, "type", "Input should be a valid string");
                None
            }
        }
    }

    fn required_string(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        path: &str,
        line: usize,
    ) -> Option<String> {
        if self.get(map, key).is_none() {
            self.problem(line, &join(path, key), "required", "Field required");
            return None;
        }
        self.string(map, key, path)
    }

    /// An integer (pydantic's lax mode also takes integral strings and floats).
    fn int(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> Option<i64> {
        let node = self.get(map, key)?;
        let p = join(path, key);
        let v = node.as_scalar().and_then(typed);
        match v {
            Some(Scalar::Int(i)) => Some(i),
            Some(Scalar::Float(f)) if f.fract() == 0.0 && f.is_finite() => Some(f as i64),
            Some(Scalar::Text(t)) if t.trim().parse::<i64>().is_ok() => t.trim().parse().ok(),
            _ => {
                self.problem(line_of(node), &p, "type", "Input should be a valid integer");
                None
            }
        }
    }

    fn boolean(&mut self, map: &MarkedMappingNode, key: &str, path: &str) -> Option<bool> {
        let node = self.get(map, key)?;
        let p = join(path, key);
        match node.as_scalar().and_then(typed) {
            Some(Scalar::Bool(b)) => Some(b),
            Some(Scalar::Int(0)) => Some(false),
            Some(Scalar::Int(1)) => Some(true),
            Some(Scalar::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "t" | "y" => Some(true),
                "false" | "no" | "off" | "0" | "f" | "n" => Some(false),
                _ => {
                    self.problem(line_of(node), &p, "type", "Input should be a valid boolean");
                    None
                }
            },
            _ => {
                self.problem(line_of(node), &p, "type", "Input should be a valid boolean");
                None
            }
        }
    }

    fn string_list(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        path: &str,
    ) -> Option<Vec<String>> {
        let node = self.get(map, key)?;
        let p = join(path, key);
        let Some(seq) = node.as_sequence() else {
            self.problem(line_of(node), &p, "type", "Input should be a valid list");
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in seq.iter().enumerate() {
            match item.as_scalar().and_then(typed) {
                Some(Scalar::Text(t)) => out.push(t.trim().to_string()),
                _ => self.problem(
                    line_of(item),
                    &format!("{p}[{i}]"),
                    "type",
                    "Input should be a valid string",
                ),
            }
        }
        Some(out)
    }

    /// The fields every Felis object has (`felis.datamodel.BaseObject`): name (required),
    /// `@id`, description (checked when [`Checks::description`]) and `votable:utype`.
    fn base(&mut self, map: &MarkedMappingNode, path: &str, line: usize) -> Base {
        let name = self.required_string(map, "name", path, line);
        let id = self.string(map, "@id", path);
        let description = self.string(map, "description", path);
        let utype = self.string(map, "votable:utype", path);
        self.description_check(&description, line, path);
        Base {
            name,
            id,
            description,
            utype,
        }
    }

    /// `ivoa:ucd` against the UCD1+ vocabulary (Felis: namespaces allowed when it has a `;`).
    fn check_ucd(&mut self, ucd: &Option<String>, line: usize, path: &str) {
        if let Some(u) = ucd {
            if let Err(e) = crate::ucd::check(u, u.contains(';')) {
                self.problem(
                    line,
                    &join(path, "ivoa:ucd"),
                    "ucd",
                    format!("Invalid IVOA UCD: {e}"),
                );
            }
        }
    }

    fn description_check(&mut self, description: &Option<String>, line: usize, path: &str) {
        if self.checks.description && description.as_deref().is_none_or(str::is_empty) {
            self.problem(
                line,
                &join(path, "description"),
                "description-required",
                "Description is required and must be non-empty",
            );
        }
    }

    fn schema(&mut self, root: &Node) -> Option<Schema> {
        let map = self.mapping(root, "")?;
        self.keys(
            map,
            "",
            &[
                "name",
                "@id",
                "description",
                "votable:utype",
                "version",
                "resources",
                "tables",
            ],
        );
        let line = line_of(root).max(1);
        let name = self.required_string(map, "name", "", line);
        let id = self.string(map, "@id", "");
        let description = self.string(map, "description", "");
        let utype = self.string(map, "votable:utype", "");
        self.description_check(&description, line, "");
        let version = match self.get(map, "version") {
            None => None,
            Some(n) => match n {
                Node::Scalar(_) => self.string(map, "version", ""),
                Node::Mapping(v) => {
                    self.keys(v, "version", &["current", "compatible", "read_compatible"]);
                    let current = self.required_string(v, "current", "version", line_of(n));
                    let _ = self.string_list(v, "compatible", "version");
                    let _ = self.string_list(v, "read_compatible", "version");
                    current
                }
                Node::Sequence(_) => {
                    self.problem(
                        line_of(n),
                        "version",
                        "type",
                        "Input should be a valid string or a mapping with 'current'",
                    );
                    None
                }
            },
        };
        let resources = self.resources(map);
        let Some(tables_node) = self.get(map, "tables") else {
            self.problem(line, "tables", "required", "Field required");
            return None;
        };
        let Some(seq) = tables_node.as_sequence() else {
            self.problem(
                line_of(tables_node),
                "tables",
                "type",
                "Input should be a valid list",
            );
            return None;
        };
        let mut tables = Vec::new();
        for (i, t) in seq.iter().enumerate() {
            if let Some(t) = self.table(t, &format!("tables[{i}]"), &resources) {
                tables.push(t);
            }
        }
        let name = name?;
        Some(Schema {
            id: id.unwrap_or_else(|| format!("#{name}")),
            name,
            description,
            utype,
            version,
            tables,
            at: self.at(line, ""),
        })
    }

    /// `resources:` name -> {uri}: each loaded (relative to this file's folder) as a schema.
    fn resources(&mut self, map: &MarkedMappingNode) -> HashMap<String, Schema> {
        let mut out = HashMap::new();
        let Some(node) = self.get(map, "resources") else {
            return out;
        };
        let Some(res) = self.mapping(node, "resources") else {
            return out;
        };
        for (k, v) in res.iter() {
            let path = format!("resources.{}", k.as_str());
            let Some(m) = self.mapping(v, &path) else {
                continue;
            };
            self.keys(m, &path, &["uri"]);
            let Some(uri) = self.required_string(m, "uri", &path, line_of(v)) else {
                continue;
            };
            if self.depth > 8 {
                self.problem(
                    line_of(v),
                    &path,
                    "resource",
                    "resources nest more than 8 deep",
                );
                continue;
            }
            let file = uri.strip_prefix("file://").unwrap_or(&uri);
            let full = match &self.base {
                Some(b) if Path::new(file).is_relative() => b.join(file),
                _ => PathBuf::from(file),
            };
            match load_file_inner(&full, &Checks::default(), self.depth + 1) {
                Ok(s) => {
                    out.insert(k.as_str().to_string(), s);
                }
                Err(problems) => {
                    let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
                    self.problem(
                        line_of(v),
                        &path,
                        "resource",
                        format!(
                            "Failed to load resource '{}' from URI '{uri}': {first}",
                            k.as_str()
                        ),
                    );
                }
            }
        }
        out
    }

    fn table(
        &mut self,
        node: &Node,
        path: &str,
        resources: &HashMap<String, Schema>,
    ) -> Option<Table> {
        let map = self.mapping(node, path)?;
        let line = line_of(node);
        let mut allowed: Vec<&str> = BASE_KEYS.to_vec();
        allowed.extend([
            "primaryKey",
            "tap:table_index",
            "mysql:engine",
            "mysql:charset",
            "columnRefs",
            "columns",
            "columnGroups",
            "constraints",
            "indexes",
        ]);
        self.keys(map, path, &allowed);
        let Base {
            name,
            id,
            description,
            utype,
        } = self.base(map, path, line);
        let tap_table_index = self.int(map, "tap:table_index", path);
        let _ = self.string(map, "mysql:engine", path);
        let _ = self.string(map, "mysql:charset", path);
        let (primary_key, primary_key_single) = match self.get(map, "primaryKey") {
            None => (Vec::new(), false),
            Some(n) if n.as_scalar().is_some() => (
                self.string(map, "primaryKey", path).into_iter().collect(),
                true,
            ),
            Some(_) => (
                self.string_list(map, "primaryKey", path)
                    .unwrap_or_default(),
                false,
            ),
        };
        let tname = name.clone().unwrap_or_default();
        let mut columns = Vec::new();
        if let Some(cols) = self.get(map, "columns") {
            match cols.as_sequence() {
                Some(seq) => {
                    for (i, c) in seq.iter().enumerate() {
                        if let Some(c) = self.column(c, &format!("{path}.columns[{i}]"), &tname) {
                            columns.push(c);
                        }
                    }
                }
                None => self.problem(
                    line_of(cols),
                    &join(path, "columns"),
                    "type",
                    "Input should be a valid list",
                ),
            }
        }
        // columnRefs: resource -> table -> local column name -> null | {ref_name, overrides}.
        if let Some(refs) = self.get(map, "columnRefs") {
            let rpath = join(path, "columnRefs");
            if let Some(refs) = self.mapping(refs, &rpath) {
                for (res_name, tables) in refs.iter() {
                    let res_path = format!("{rpath}.{}", res_name.as_str());
                    let Some(resource) = resources.get(res_name.as_str()) else {
                        self.problem(
                            scalar_line(res_name),
                            &res_path,
                            "resource",
                            format!(
                                "Schema resource '{}' was not found in resources",
                                res_name.as_str()
                            ),
                        );
                        continue;
                    };
                    let Some(tables) = self.mapping(tables, &res_path) else {
                        continue;
                    };
                    for (tkey, cols) in tables.iter() {
                        let tpath = format!("{res_path}.{}", tkey.as_str());
                        let Some(rt) = resource.table(tkey.as_str()) else {
                            self.problem(
                                scalar_line(tkey),
                                &tpath,
                                "resource",
                                format!(
                                    "Table '{}' not found in resource '{}'",
                                    tkey.as_str(),
                                    resource.name
                                ),
                            );
                            continue;
                        };
                        let Some(cols) = self.mapping(cols, &tpath) else {
                            continue;
                        };
                        for (local, spec) in cols.iter() {
                            let cpath = format!("{tpath}.{}", local.as_str());
                            if let Some(c) =
                                self.column_ref(local, spec, &cpath, rt, resource, &tname)
                            {
                                columns.push(c);
                            }
                        }
                    }
                }
            }
        }
        let constraints = self.list(map, "constraints", path, Parser::constraint);
        let indexes = self.list(map, "indexes", path, Parser::index);
        if let Some(groups) = self.get(map, "columnGroups") {
            self.column_groups(groups, &join(path, "columnGroups"), &columns);
        }
        // Table-level rules.
        let mut seen = HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                self.problem(
                    c.at.line,
                    &join(path, "columns"),
                    "unique-column-names",
                    "Column names must be unique",
                );
                break;
            }
        }
        if self.checks.tap_table_indexes && tap_table_index.is_none() {
            self.problem(
                line,
                path,
                "tap-table-index-required",
                "Table is missing a TAP table index",
            );
        }
        if self.checks.tap_principal && !columns.iter().any(|c| c.tap_principal == 1) {
            self.problem(
                line,
                path,
                "tap-principal-required",
                format!(
                    "Table '{tname}' is missing at least one column designated as 'tap:principal'"
                ),
            );
        }
        let name = name?;
        Some(Table {
            id: id.unwrap_or_else(|| format!("#{name}")),
            name,
            description,
            utype,
            primary_key,
            primary_key_single,
            tap_table_index,
            columns,
            constraints,
            indexes,
            at: self.at(line, path),
        })
    }

    /// The items of the list under `key` (absent: none), each read by `item` with its path
    /// `path.key[i]`; a value that is not a list is a problem.
    fn list<T>(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        path: &str,
        item: fn(&mut Parser, &Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let Some(node) = self.get(map, key) else {
            return out;
        };
        match node.as_sequence() {
            Some(seq) => {
                for (i, x) in seq.iter().enumerate() {
                    if let Some(x) = item(self, x, &format!("{}[{i}]", join(path, key))) {
                        out.push(x);
                    }
                }
            }
            None => self.problem(
                line_of(node),
                &join(path, key),
                "type",
                "Input should be a valid list",
            ),
        }
        out
    }

    fn column(&mut self, node: &Node, path: &str, table: &str) -> Option<Column> {
        let map = self.mapping(node, path)?;
        let line = line_of(node);
        let mut allowed: Vec<&str> = BASE_KEYS.to_vec();
        allowed.extend([
            "datatype",
            "length",
            "precision",
            "nullable",
            "value",
            "autoincrement",
            "ivoa:ucd",
            "fits:tunit",
            "ivoa:unit",
            "tap:column_index",
            "tap:principal",
            "votable:arraysize",
            "tap:std",
            "votable:xtype",
            "votable:datatype",
            "mysql:datatype",
            "postgresql:datatype",
        ]);
        self.keys(map, path, &allowed);
        let Base {
            name,
            id,
            description,
            utype,
        } = self.base(map, path, line);
        let datatype = match self.get(map, "datatype") {
            None => {
                self.problem(line, &join(path, "datatype"), "required", "Field required");
                None
            }
            Some(n) => {
                let text = self.string(map, "datatype", path);
                match text.as_deref().map(|t| (t, DataType::parse(t))) {
                    Some((_, Some(d))) => Some(d),
                    Some((t, None)) => {
                        self.problem(
                            line_of(n),
                            &join(path, "datatype"),
                            "datatype",
                            format!(
                                "Input should be 'boolean', 'byte', 'short', 'int', 'long', 'float', 'double', 'char', 'string', 'unicode', 'text', 'binary' or 'timestamp', not '{t}'"
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
        };
        let length = self.int(map, "length", path);
        if let Some(l) = length {
            if l <= 0 {
                self.problem(
                    line,
                    &join(path, "length"),
                    "length-positive",
                    "Input should be greater than 0",
                );
            }
        }
        let precision = self.int(map, "precision", path);
        if let Some(p) = precision {
            if p < 0 {
                self.problem(
                    line,
                    &join(path, "precision"),
                    "precision-non-negative",
                    "Input should be greater than or equal to 0",
                );
            }
        }
        let nullable = self.boolean(map, "nullable", path).unwrap_or(true);
        let autoincrement = self.boolean(map, "autoincrement", path);
        let value = match self.get(map, "value") {
            None => None,
            Some(n) => match n.as_scalar() {
                Some(s) => typed(s).map(|v| match v {
                    Scalar::Text(t) => Scalar::Text(t.trim().to_string()),
                    other => other,
                }),
                None => {
                    self.problem(
                        line_of(n),
                        &join(path, "value"),
                        "type",
                        "Input should be a string, a number or a boolean",
                    );
                    None
                }
            },
        };
        let ucd = self.string(map, "ivoa:ucd", path);
        self.check_ucd(&ucd, line, path);
        let fits_unit = self.string(map, "fits:tunit", path);
        let ivoa_unit = self.string(map, "ivoa:unit", path);
        if fits_unit.as_deref().is_some_and(|u| !u.is_empty())
            && ivoa_unit.as_deref().is_some_and(|u| !u.is_empty())
        {
            self.problem(
                line,
                path,
                "one-unit",
                "Column cannot have both FITS and IVOA units",
            );
        }
        let tap_column_index = self.int(map, "tap:column_index", path);
        let flag = |p: &mut Parser, key: &str| -> i64 {
            match p.int(map, key, path) {
                Some(v) if (0..=1).contains(&v) => v,
                Some(v) => {
                    let rule = if v < 0 {
                        "Input should be greater than or equal to 0"
                    } else {
                        "Input should be less than or equal to 1"
                    };
                    p.problem(line, &join(path, key), "flag-0-or-1", rule);
                    0
                }
                None => 0,
            }
        };
        let tap_principal = flag(self, "tap:principal");
        let tap_std = flag(self, "tap:std");
        let arraysize_given = match self.get(map, "votable:arraysize") {
            None => None,
            Some(n) => match n.as_scalar().and_then(typed) {
                Some(Scalar::Int(i)) => Some(i.to_string()),
                Some(Scalar::Text(t)) => Some(t.trim().to_string()),
                _ => {
                    self.problem(
                        line_of(n),
                        &join(path, "votable:arraysize"),
                        "type",
                        "Input should be a valid integer or string",
                    );
                    None
                }
            },
        };
        let xtype = self.string(map, "votable:xtype", path);
        let votable_datatype = self.string(map, "votable:datatype", path);
        let mysql_datatype = self.string(map, "mysql:datatype", path);
        let postgresql_datatype = self.string(map, "postgresql:datatype", path);
        let name = name?;
        let datatype = datatype?;
        // check_length, check_precision, check_value (felis.datamodel.Column).
        if datatype.is_sized() && length.is_none() {
            let id_part = id
                .as_deref()
                .map(|i| format!(" in column '{i}'"))
                .unwrap_or_default();
            self.problem(
                line,
                &join(path, "length"),
                "length-required",
                format!(
                    "Length must be provided for type '{}'{id_part}",
                    datatype.name()
                ),
            );
        }
        if precision.is_some() && datatype != DataType::Timestamp {
            self.problem(
                line,
                &join(path, "precision"),
                "precision-timestamp-only",
                "Precision is only valid for timestamp columns",
            );
        }
        if let Some(v) = &value {
            if autoincrement == Some(true) {
                self.problem(
                    line,
                    &join(path, "value"),
                    "value-autoincrement",
                    "Column cannot have both a default value and be autoincremented",
                );
            }
            let bad = match datatype {
                d if d.is_integer() => (!matches!(v, Scalar::Int(_)))
                    .then_some("Default value must be an int for integer type columns"),
                DataType::Float | DataType::Double => (!matches!(v, Scalar::Float(_))).then_some(
                    "Default value must be a decimal number for float and double columns",
                ),
                DataType::String | DataType::Char | DataType::Unicode | DataType::Text => match v {
                    Scalar::Text(t) if t.is_empty() => {
                        Some("Default value must be a non-empty string for string columns")
                    }
                    Scalar::Text(_) => None,
                    _ => Some("Default value must be a string for string columns"),
                },
                DataType::Boolean => (!matches!(v, Scalar::Bool(_)))
                    .then_some("Default value must be a boolean for boolean columns"),
                _ => None,
            };
            if let Some(m) = bad {
                self.problem(line, &join(path, "value"), "value-type", m);
            }
        }
        if self.checks.redundant_datatypes {
            for (key, given) in [
                ("mysql:datatype", &mysql_datatype),
                ("postgresql:datatype", &postgresql_datatype),
            ] {
                if let Some(g) = given {
                    if crate::ddl::is_redundant_override(key, g, datatype, length) {
                        self.problem(
                            line,
                            &join(path, key),
                            "redundant-datatype",
                            format!(
                                "'{}: {g}' is a redundant override of 'datatype: {}' in column '{}'",
                                key.replace(':', "_"),
                                datatype.name(),
                                id.clone().unwrap_or_else(|| format!("#{table}.{name}"))
                            ),
                        );
                    }
                }
            }
        }
        // Felis's defaults for arraysize and xtype (check_votable_arraysize/_xtype).
        let arraysize = arraysize_given.or_else(|| match (datatype, length) {
            (DataType::Char, Some(l)) if l > 1 => Some(l.to_string()),
            (DataType::String | DataType::Unicode | DataType::Binary, Some(l)) if l > 1 => {
                Some(format!("{l}*"))
            }
            (DataType::Timestamp | DataType::Text, _) => Some("*".into()),
            _ => None,
        });
        let xtype =
            xtype.or_else(|| (datatype == DataType::Timestamp).then(|| "timestamp".to_string()));
        Some(Column {
            id: id.unwrap_or_else(|| format!("#{table}.{name}")),
            name,
            description,
            utype,
            datatype,
            length,
            precision,
            nullable,
            value,
            autoincrement,
            ucd,
            unit: ivoa_unit.or(fits_unit),
            tap_column_index,
            tap_principal,
            tap_std,
            arraysize,
            xtype,
            votable_datatype,
            mysql_datatype,
            postgresql_datatype,
            at: self.at(line, path),
        })
    }

    /// A column brought in by `columnRefs`: a copy of the resource's column, renamed to the
    /// local name, with the overrides applied.
    #[allow(clippy::too_many_arguments)]
    fn column_ref(
        &mut self,
        local: &MarkedScalarNode,
        spec: &Node,
        path: &str,
        rt: &Table,
        resource: &Schema,
        table: &str,
    ) -> Option<Column> {
        let line = scalar_line(local);
        let (ref_name, overrides) = match spec {
            Node::Scalar(s) if typed(s).is_none() => (None, None),
            Node::Mapping(m) => {
                self.keys(m, path, &["ref_name", "overrides"]);
                let ref_name = self.string(m, "ref_name", path);
                let overrides = self
                    .get(m, "overrides")
                    .and_then(|o| self.mapping(o, &join(path, "overrides")));
                (ref_name, overrides)
            }
            _ => {
                self.problem(
                    line,
                    path,
                    "type",
                    "Input should be null or a mapping with ref_name/overrides",
                );
                return None;
            }
        };
        let wanted = ref_name
            .clone()
            .unwrap_or_else(|| local.as_str().to_string());
        let Some(base) = rt.columns.iter().find(|c| c.name == wanted) else {
            let msg = if ref_name.is_some() {
                format!(
                    "Column '{wanted}' not found in table '{}' from resource '{}'",
                    rt.name, resource.name
                )
            } else {
                format!(
                    "Column '{}' not found in table '{}' from resource '{}' and no ref_name provided",
                    local.as_str(),
                    rt.name,
                    resource.name
                )
            };
            self.problem(line, path, "resource", msg);
            return None;
        };
        let mut c = base.clone();
        c.name = local.as_str().to_string();
        c.id = format!("#{table}.{}", c.name);
        c.at = self.at(line, path);
        if let Some(o) = overrides {
            let opath = join(path, "overrides");
            self.keys(
                o,
                &opath,
                &[
                    "datatype",
                    "length",
                    "description",
                    "nullable",
                    "tap:principal",
                    "tap:column_index",
                ],
            );
            for key in [
                "datatype",
                "length",
                "description",
                "nullable",
                "tap:principal",
                "tap:column_index",
            ] {
                if let Some(n) = o.get_node(key) {
                    if n.as_scalar().is_some_and(|s| typed(s).is_none()) {
                        self.problem(
                            line_of(n),
                            &join(&opath, key),
                            "override-null",
                            format!("The '{key}' field cannot be overridden to null"),
                        );
                    }
                }
            }
            if let Some(d) = self.string(o, "datatype", &opath) {
                match DataType::parse(&d) {
                    Some(d) => c.datatype = d,
                    None => self.problem(
                        line,
                        &join(&opath, "datatype"),
                        "datatype",
                        format!("unknown datatype '{d}'"),
                    ),
                }
            }
            if let Some(l) = self.int(o, "length", &opath) {
                c.length = Some(l);
            }
            if let Some(d) = self.string(o, "description", &opath) {
                c.description = Some(d);
            }
            if let Some(n) = self.boolean(o, "nullable", &opath) {
                c.nullable = n;
            }
            if let Some(p) = self.int(o, "tap:principal", &opath) {
                c.tap_principal = p;
            }
            if let Some(i) = self.int(o, "tap:column_index", &opath) {
                c.tap_column_index = Some(i);
            }
        }
        Some(c)
    }

    fn constraint(&mut self, node: &Node, path: &str) -> Option<Constraint> {
        let map = self.mapping(node, path)?;
        let line = line_of(node);
        let kind = self
            .get(map, "@type")
            .and_then(|_| self.string(map, "@type", path));
        let mut allowed: Vec<&str> = BASE_KEYS.to_vec();
        allowed.extend(["@type", "deferrable", "initially"]);
        match kind.as_deref() {
            Some("ForeignKey") => {
                allowed.extend(["columns", "referencedColumns", "on_delete", "on_update"])
            }
            Some("Unique") => allowed.push("columns"),
            Some("Check") => allowed.push("expression"),
            Some(other) => {
                self.problem(
                    line,
                    &join(path, "@type"),
                    "constraint-type",
                    format!("Input tag '{other}' found using '@type' does not match any of the expected tags: 'Check', 'ForeignKey', 'Unique'"),
                );
                return None;
            }
            None => {
                self.problem(
                    line,
                    &join(path, "@type"),
                    "required",
                    "Unable to extract tag using discriminator '@type'",
                );
                return None;
            }
        }
        self.keys(map, path, &allowed);
        let Base {
            name,
            id,
            description,
            utype,
        } = self.base(map, path, line);
        let deferrable = self.boolean(map, "deferrable", path).unwrap_or(false);
        if let Some(init) = self.string(map, "initially", path) {
            if !matches!(init.as_str(), "IMMEDIATE" | "DEFERRED") {
                self.problem(
                    line,
                    &join(path, "initially"),
                    "initially",
                    "Input should be 'IMMEDIATE' or 'DEFERRED'",
                );
            } else if !deferrable {
                self.problem(
                    line,
                    &join(path, "initially"),
                    "initially-deferrable",
                    "INITIALLY clause can only be used if deferrable is True",
                );
            }
        }
        let kind = match kind.as_deref() {
            Some("ForeignKey") => {
                for key in ["on_delete", "on_update"] {
                    if let Some(v) = self.string(map, key, path) {
                        if !matches!(
                            v.as_str(),
                            "CASCADE" | "SET NULL" | "SET DEFAULT" | "RESTRICT" | "NO ACTION"
                        ) {
                            self.problem(line, &join(path, key), "fk-action", "Input should be 'CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT' or 'NO ACTION'");
                        }
                    }
                }
                let columns = self.required_list(map, "columns", path, line);
                let referenced = self.required_list(map, "referencedColumns", path, line);
                let (columns, referenced) = (columns?, referenced?);
                if columns.len() != referenced.len() {
                    self.problem(line, path, "fk-lengths", "Columns and referencedColumns must have the same length for a ForeignKey constraint");
                }
                ConstraintKind::ForeignKey {
                    columns,
                    referenced,
                }
            }
            Some("Unique") => {
                let columns = self
                    .get(map, "columns")
                    .map(|_| self.string_list(map, "columns", path));
                match columns {
                    Some(Some(columns)) => ConstraintKind::Unique { columns },
                    Some(None) => return None,
                    None => {
                        self.problem(line, &join(path, "columns"), "required", "Field required");
                        return None;
                    }
                }
            }
            _ => ConstraintKind::Check {
                expression: self.required_string(map, "expression", path, line)?,
            },
        };
        let name = name?;
        Some(Constraint {
            id: id.unwrap_or_else(|| format!("#{name}")),
            name,
            description,
            utype,
            kind,
            at: self.at(line, path),
        })
    }

    fn required_list(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        path: &str,
        line: usize,
    ) -> Option<Vec<String>> {
        match self.get(map, key) {
            None => {
                self.problem(line, &join(path, key), "required", "Field required");
                None
            }
            Some(_) => {
                let v = self.string_list(map, key, path)?;
                if v.is_empty() {
                    self.problem(
                        line,
                        &join(path, key),
                        "min-length",
                        "List should have at least 1 item after validation, not 0",
                    );
                    return None;
                }
                Some(v)
            }
        }
    }

    fn index(&mut self, node: &Node, path: &str) -> Option<Index> {
        let map = self.mapping(node, path)?;
        let line = line_of(node);
        let mut allowed: Vec<&str> = BASE_KEYS.to_vec();
        allowed.extend(["columns", "expressions"]);
        self.keys(map, path, &allowed);
        let Base {
            name,
            id,
            description,
            ..
        } = self.base(map, path, line);
        let columns = self.string_list(map, "columns", path);
        let expressions = self.string_list(map, "expressions", path);
        match (&columns, &expressions) {
            (Some(_), Some(_)) => self.problem(
                line,
                path,
                "index-columns-or-expressions",
                "Defining columns and expressions is not valid",
            ),
            (None, None) => self.problem(
                line,
                path,
                "index-columns-or-expressions",
                "Must define columns or expressions",
            ),
            _ => {}
        }
        let name = name?;
        Some(Index {
            id: id.unwrap_or_else(|| format!("#{name}")),
            name,
            description,
            columns: columns.unwrap_or_default(),
            expressions: expressions.unwrap_or_default(),
            at: self.at(line, path),
        })
    }

    /// `columnGroups`: checked (names, unique members that exist in the table), not kept.
    fn column_groups(&mut self, node: &Node, path: &str, columns: &[Column]) {
        let Some(seq) = node.as_sequence() else {
            self.problem(line_of(node), path, "type", "Input should be a valid list");
            return;
        };
        for (i, g) in seq.iter().enumerate() {
            let gpath = format!("{path}[{i}]");
            let Some(map) = self.mapping(g, &gpath) else {
                continue;
            };
            let line = line_of(g);
            let mut allowed: Vec<&str> = BASE_KEYS.to_vec();
            allowed.extend(["columns", "ivoa:ucd"]);
            self.keys(map, &gpath, &allowed);
            let _ = self.required_string(map, "name", &gpath, line);
            let description = self.string(map, "description", &gpath);
            self.description_check(&description, line, &gpath);
            let ucd = self.string(map, "ivoa:ucd", &gpath);
            self.check_ucd(&ucd, line, &gpath);
            let Some(members) = self.required_list(map, "columns", &gpath, line) else {
                continue;
            };
            let unique: HashSet<&String> = members.iter().collect();
            if unique.len() != members.len() {
                self.problem(
                    line,
                    &join(&gpath, "columns"),
                    "group-unique",
                    "Columns in the group must be unique",
                );
            }
            for m in &members {
                if !columns.iter().any(|c| &c.id == m || &c.name == m) {
                    self.problem(
                        line,
                        &join(&gpath, "columns"),
                        "group-column",
                        format!("Column '{m}' not found in table"),
                    );
                }
            }
        }
    }

    /// Schema-wide rules: unique table, constraint and index names, unique IDs, distinct
    /// `tap:table_index` values, and constraint columns that exist (foreign-key and unique
    /// columns in their own table).
    fn cross_checks(&mut self, s: &Schema) {
        let mut names = HashSet::new();
        for t in &s.tables {
            if !names.insert(t.name.as_str()) {
                self.problem(
                    t.at.line,
                    "tables",
                    "unique-table-names",
                    "Table names must be unique",
                );
                break;
            }
        }
        let mut indexes = HashMap::new();
        for t in &s.tables {
            if let Some(i) = t.tap_table_index {
                if indexes.insert(i, t.name.as_str()).is_some() {
                    self.problem(
                        t.at.line,
                        &join(&t.at.path, "tap:table_index"),
                        "unique-tap-table-index",
                        format!("Duplicate 'tap:table_index' value {i} found in schema"),
                    );
                }
            }
        }
        for (what, rule, all) in [
            (
                "constraint",
                "unique-constraint-names",
                s.tables
                    .iter()
                    .flat_map(|t| {
                        t.constraints
                            .iter()
                            .map(|c| (c.name.as_str(), c.at.clone()))
                    })
                    .collect::<Vec<_>>(),
            ),
            (
                "index",
                "unique-index-names",
                s.tables
                    .iter()
                    .flat_map(|t| t.indexes.iter().map(|c| (c.name.as_str(), c.at.clone())))
                    .collect::<Vec<_>>(),
            ),
        ] {
            let mut seen = HashSet::new();
            for (n, at) in all {
                if !seen.insert(n) {
                    self.problem(
                        at.line,
                        &at.path,
                        rule,
                        format!("Duplicate {what} names found in schema: ['{n}']"),
                    );
                }
            }
        }
        let mut ids: HashMap<&str, &Located> = HashMap::new();
        let mut objects: Vec<(&str, &Located)> = vec![(s.id.as_str(), &s.at)];
        for t in &s.tables {
            objects.push((t.id.as_str(), &t.at));
            objects.extend(t.columns.iter().map(|c| (c.id.as_str(), &c.at)));
            objects.extend(t.constraints.iter().map(|c| (c.id.as_str(), &c.at)));
        }
        for (id, at) in objects {
            if ids.insert(id, at).is_some() {
                self.problem(
                    at.line,
                    &at.path,
                    "unique-ids",
                    format!("Duplicate IDs found in schema: {id}"),
                );
            }
        }
        for t in &s.tables {
            for c in &t.constraints {
                let (own, other): (&[String], &[String]) = match &c.kind {
                    ConstraintKind::ForeignKey {
                        columns,
                        referenced,
                    } => (columns, referenced),
                    ConstraintKind::Unique { columns } => (columns, &[]),
                    ConstraintKind::Check { .. } => (&[], &[]),
                };
                for id in own.iter().chain(other) {
                    if s.column_by_id(id).is_none() {
                        let what = if ids.contains_key(id.as_str()) {
                            "does not refer to a Column object"
                        } else {
                            "not found in schema"
                        };
                        let msg = if what == "not found in schema" {
                            format!("Column ID '{id}' not found in schema")
                        } else {
                            format!("ID '{id}' {what}")
                        };
                        self.problem(c.at.line, &join(&c.at.path, "columns"), "column-id", msg);
                    }
                }
                for id in own {
                    if s.column_by_id(id).is_some() && t.column_by_id(id).is_none() {
                        self.problem(
                            c.at.line,
                            &join(&c.at.path, "columns"),
                            "constraint-column-table",
                            format!("Column '{id}' not found in table '{}'", t.name),
                        );
                    }
                }
            }
        }
    }
}

/// The Python field name of a Felis key (`tap:table_index` -> `tap_table_index`,
/// `primaryKey` -> `primary_key`, `@id` -> `id`), which Felis accepts too.
fn py_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for ch in key.trim_start_matches('@').chars() {
        match ch {
            ':' => out.push('_'),
            c if c.is_ascii_uppercase() => {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            }
            c => out.push(c),
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
