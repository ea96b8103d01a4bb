//! vo-adql: ADQL 2.1 (IVOA REC 2023-12-15) queries parsed, checked against a catalog and
//! rendered as SQL for a backend.
//!
//! The pipeline is [`translate`]: parse with sqlparser and an ADQL dialect ([`AdqlDialect`]),
//! resolve every table and column against a [`Catalog`] (the TAP_SCHEMA of the service),
//! derive the output column metadata, and render SQL through a [`SqlDialect`]. Nothing is
//! passed through: every construct is either understood and rendered, or refused with an ADQL
//! error that names it and its `line:column`, so an unsupported query never gets a wrong
//! answer.
//!
//! Supported now (ADQL 2.1 §2): one `SELECT [DISTINCT] [TOP n]` over one table (with an
//! optional alias), select items that are columns, `*`, `alias.*`, literals, arithmetic and
//! `COUNT(*)`, with `AS` aliases; `WHERE` with comparisons, `AND`/`OR`/`NOT`, `BETWEEN`,
//! `LIKE`/`ILIKE`, `IN (...)`, `IS [NOT] NULL`; `ORDER BY` columns, output names or positions;
//! the geometry of §4.2: `CONTAINS(POINT, CIRCLE)` and `DISTANCE(POINT, POINT)` (degrees), in
//! ICRS. Unquoted identifiers match case-insensitively, double-quoted ones exactly (§2.1.3).

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod parser;

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, ObjectName, ObjectNamePart, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableFactor, TopQuantity,
    UnaryOperator, Value as SqlValue, WildcardAdditionalOptions,
};
use sqlparser::dialect::Dialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;
use vo_common::region::Polygon;
use vo_common::sky::{stcs_polygon, SkyPoint};
use vo_common::{FieldMeta, VoError};

/// The ADQL lexical rules for sqlparser: regular identifiers are a letter followed by letters,
/// digits and underscores; delimited identifiers use double quotes (ADQL 2.1 §2.1.3).
#[derive(Debug, Default)]
pub struct AdqlDialect;

impl Dialect for AdqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic()
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"'
    }
}

/// One column of a published table, as TAP_SCHEMA.columns describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// `column_name`, exactly as published. A name published with double quotes (TAP 1.1
    /// §4.3: `"size"`, a reserved word) is a delimited identifier: ADQL must quote it too.
    /// [`unquoted`] gives the bare name.
    pub name: String,
    /// The metadata a result FIELD for this column carries (its `name` is the column name).
    pub field: FieldMeta,
}

/// One published table, as TAP_SCHEMA.tables describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// `schema_name`, if the table is in a schema.
    pub schema: Option<String>,
    /// The table name without its schema, e.g. `ObsCore` for `ivoa.ObsCore`.
    pub name: String,
    /// Columns in `column_index` order: the order `SELECT *` returns.
    pub columns: Vec<ColumnInfo>,
    /// The (ra, dec) columns (degrees) of the table's indexed sky position, if the backend
    /// keeps a spatial index on them (ObsCore's s_ra/s_dec; catalog tables named in the
    /// configuration). Cones on exactly these columns get the dialect's prefilter.
    pub position: Option<(String, String)>,
}

impl TableInfo {
    /// Whether (`ra`, `dec`) are the table's indexed position columns ([`Self::position`]).
    pub fn is_position(&self, ra: &ColumnInfo, dec: &ColumnInfo) -> bool {
        self.position
            .as_ref()
            .is_some_and(|(r, d)| *r == ra.name && *d == dec.name)
    }

    /// The qualified name, `schema.table`, as TAP_SCHEMA.tables.table_name gives it.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The tables and columns a query may name: the service's TAP_SCHEMA.
pub trait Catalog {
    /// Every published table.
    fn tables(&self) -> &[TableInfo];
}

/// How one backend spells what ADQL says.
pub trait SqlDialect {
    /// The SQL reference of a published table (quoted as the backend needs).
    fn table_ref(&self, table: &TableInfo) -> String;
    /// The SQL reference of a published column of the table in FROM.
    fn column_ref(&self, table: &TableInfo, column: &ColumnInfo) -> String;
    /// A 1/0 (NULL when any input is NULL) expression: whether the point (`ra`, `dec`) lies in
    /// the circle around (`ra0`, `dec0`) of radius `r`, all SQL expressions in degrees, exact on
    /// the sphere.
    fn contains_point_circle(&self, ra: &str, dec: &str, ra0: &str, dec0: &str, r: &str) -> String;
    /// The SQL reference of a region column (xtype adql:REGION) for the region functions below
    /// (by default the column itself).
    fn region_ref(&self, table: &TableInfo, column: &ColumnInfo) -> String {
        self.column_ref(table, column)
    }
    /// A condition under which the region column's value stands for the whole sky (ObsCore's
    /// all-sky rows: s_region NULL and s_fov 360), for a backend whose region type cannot
    /// hold the whole sky; the geometry predicates are then 1 for such rows. `None` (the
    /// default): the region expression itself covers that case.
    fn region_all_sky(&self, _table: &TableInfo, _column: &ColumnInfo) -> Option<String> {
        None
    }
    /// The SQL spelling of an ADQL numeric literal (`text` as written, `is_int` when it is an
    /// integer that fits 64 bits); by default the text itself.
    fn number_literal(&self, text: &str, _is_int: bool) -> String {
        text.to_string()
    }
    /// An SQL expression for the polygon through `vertices` ((ra, dec) SQL expressions, in
    /// degrees), usable where a region is.
    fn polygon_region(&self, vertices: &[(String, String)]) -> String;
    /// An SQL expression for a polygon given as STC-S text (`POLYGON ICRS ra dec ...`) whose
    /// vertices were all literals: by default the text as an SQL string literal.
    fn polygon_literal(&self, stcs: &str) -> String {
        format!("'{}'", stcs.replace('\'', "''"))
    }
    /// A 1/0 (NULL for NULL inputs) expression: whether the point lies in the region.
    fn contains_point_region(&self, ra: &str, dec: &str, region: &str) -> String;
    /// A 1/0 expression: whether the region and the circle share a point.
    fn intersects_region_circle(&self, region: &str, ra0: &str, dec0: &str, r: &str) -> String;
    /// A 1/0 expression: whether the two regions share a point.
    fn intersects_regions(&self, a: &str, b: &str) -> String;
    /// An optional extra condition, ANDed to WHERE, that keeps every row whose point
    /// (`ra`, `dec` columns of `table`) lies in the circle of radius `r` degrees around
    /// (`ra0`, `dec0`) and lets the database use an index (e.g. HEALPix cell ranges). It
    /// must never exclude a row the exact test keeps. `None` (the default): no prefilter.
    fn cone_prefilter(
        &self,
        _table: &TableInfo,
        _ra: &ColumnInfo,
        _dec: &ColumnInfo,
        _ra0: f64,
        _dec0: f64,
        _r: f64,
    ) -> Option<String> {
        None
    }
    /// An optional extra condition, ANDed to WHERE, that keeps every row whose region column
    /// `column` could share a point with the circle of radius `r` degrees around (`ra0`,
    /// `dec0`) (`r` = 0 for a point), and lets the database use an index. It must never
    /// exclude a row the exact test keeps. `None` (the default): no prefilter.
    fn region_prefilter(
        &self,
        _table: &TableInfo,
        _column: &ColumnInfo,
        _ra0: f64,
        _dec0: f64,
        _r: f64,
    ) -> Option<String> {
        None
    }
    /// The great-circle distance in degrees between two points given in degrees.
    fn distance(&self, ra1: &str, dec1: &str, ra2: &str, dec2: &str) -> String;
    /// A clause that keeps at most `n` rows, appended after ORDER BY.
    fn limit(&self, n: u64) -> String;
}

/// A query that passed the checks: SQL without a row limit, the output columns, and TOP.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    /// The SQL statement, without any LIMIT; add [`SqlDialect::limit`] for TOP or MAXREC.
    pub sql: String,
    /// One FIELD per output column, in order.
    pub fields: Vec<FieldMeta>,
    /// The TOP of the query, if it had one.
    pub top: Option<u64>,
}

fn at(loc: Location) -> String {
    if loc.line == 0 {
        String::new()
    } else {
        format!(" at line {}, column {}", loc.line, loc.column)
    }
}

/// Parse, check and render one ADQL query. Errors are [`VoError`]s of kind Query whose message
/// says what was wrong and where; several unknown names are reported together.
pub fn translate(
    adql: &str,
    catalog: &dyn Catalog,
    dialect: &dyn SqlDialect,
) -> Result<Translated, VoError> {
    let statements = Parser::parse_sql(&AdqlDialect, adql)
        .map_err(|e| VoError::query(format!("ADQL syntax error: {}", strip_error_prefix(&e))))?;
    let query = match statements.as_slice() {
        [Statement::Query(q)] => q,
        [] => return Err(VoError::query("ADQL error: the query is empty")),
        [_] => {
            return Err(VoError::query(
                "ADQL error: only SELECT queries are allowed (ADQL 2.1 §2.2)",
            ))
        }
        _ => {
            return Err(VoError::query(
                "ADQL error: one query only; ';' may not join several statements",
            ))
        }
    };
    let mut t = Translator {
        catalog,
        dialect,
        table: None,
        alias: None,
        errors: Vec::new(),
        depth: 0,
        literal_polygon: None,
    };
    let out = t.query(query);
    if !t.errors.is_empty() {
        let more = t.errors.len().saturating_sub(MAX_ERRORS);
        t.errors.truncate(MAX_ERRORS);
        let mut msg = format!("ADQL error: {}", t.errors.join("; "));
        if more > 0 {
            msg.push_str(&format!("; and {more} more errors"));
        }
        return Err(VoError::query(msg));
    }
    out.ok_or_else(|| VoError::query("ADQL error: the query could not be translated"))
}

fn strip_error_prefix(e: &sqlparser::parser::ParserError) -> String {
    let s = e.to_string();
    s.strip_prefix("sql parser error: ")
        .unwrap_or(&s)
        .replace("Line: ", "line ")
        .replace("Column: ", "column ")
}

/// A published name without the double quotes of a delimited name (`"size"` → `size`).
pub fn unquoted(name: &str) -> &str {
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        &name[1..name.len() - 1]
    } else {
        name
    }
}

fn ident_matches(ident: &Ident, name: &str) -> bool {
    if unquoted(name).len() != name.len() {
        // A delimited published name matches only the same delimited identifier.
        ident.quote_style.is_some() && ident.value == unquoted(name)
    } else if ident.quote_style.is_some() {
        ident.value == name
    } else {
        ident.value.eq_ignore_ascii_case(name)
    }
}

fn object_idents(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            _ => None,
        })
        .collect()
}

fn display_name(idents: &[&Ident]) -> String {
    idents
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

struct Translator<'a> {
    catalog: &'a dyn Catalog,
    dialect: &'a dyn SqlDialect,
    table: Option<&'a TableInfo>,
    alias: Option<Ident>,
    errors: Vec<String>,
    depth: usize,
    /// The STC-S text of the last POLYGON whose vertices were all literals.
    literal_polygon: Option<String>,
}

/// ADQL reserved words that may appear where a column was expected (ADQL 2.1 §2.1.2).
const RESERVED: [&str; 24] = [
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "DESC", "DISTINCT", "FROM", "GROUP", "HAVING",
    "IN", "IS", "JOIN", "LIKE", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "SELECT", "TOP",
    "WHERE",
];

/// How deep expressions may nest before the query is refused (the translator recurses).
const MAX_DEPTH: usize = 128;
/// How many terms one chain of binary operators (a OR b OR ...) may have.
const MAX_TERMS: usize = 500;
/// How many vertices a POLYGON may have when they are expressions rather than literals (the
/// SQL that assembles them nests once per coordinate).
const MAX_EXPR_VERTICES: usize = 100;
/// How many output columns a query may have.
const MAX_COLUMNS: usize = 1000;
/// How many errors one message lists.
const MAX_ERRORS: usize = 20;

/// A geometry argument, its parts as SQL expressions in degrees.
enum Geom {
    Point(String, String),
    Circle(String, String, String),
    /// Vertices (ra, dec).
    /// The polygon as a region SQL expression.
    Polygon(String),
    /// A region column, as the dialect references it, and the condition under which the
    /// row's region is the whole sky ([`SqlDialect::region_all_sky`]).
    Region(String, Option<String>),
}

impl Geom {
    fn describe(&self) -> &'static str {
        match self {
            Geom::Point(..) => "POINT",
            Geom::Circle(..) => "CIRCLE",
            Geom::Polygon(..) => "POLYGON",
            Geom::Region(..) => "a region column",
        }
    }
}

/// The ADQL type family of an expression, for type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    /// A condition (comparison, LIKE, IN, AND/OR/NOT ...): valid in WHERE, not as a value.
    Bool,
    /// The NULL literal, compatible with every kind.
    Null,
}

impl Kind {
    fn of(field: &FieldMeta) -> Kind {
        match field.datatype.as_str() {
            "char" | "unicodeChar" => Kind::Text,
            "boolean" => Kind::Bool,
            _ => Kind::Number,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Text => "a string",
            Kind::Bool => "a condition",
            Kind::Null => "NULL",
        }
    }
}

/// One translated expression: SQL, output metadata and type.
struct Item {
    sql: String,
    field: FieldMeta,
    kind: Kind,
    /// Whether it contains an aggregate (COUNT).
    aggregate: bool,
    /// Whether it refers to a column.
    columns: bool,
}

impl Item {
    fn new(sql: String, field: FieldMeta, kind: Kind) -> Item {
        Item {
            sql,
            field,
            kind,
            aggregate: false,
            columns: false,
        }
    }

    fn condition<const N: usize>(sql: String, parts: [&Item; N]) -> Item {
        Item {
            sql,
            field: numeric_field("boolean"),
            kind: Kind::Bool,
            aggregate: parts.iter().any(|p| p.aggregate),
            columns: parts.iter().any(|p| p.columns),
        }
    }
}

fn text_field() -> FieldMeta {
    FieldMeta {
        datatype: "char".into(),
        arraysize: Some("*".into()),
        ..Default::default()
    }
}

impl<'a> Translator<'a> {
    fn err(&mut self, msg: String) {
        self.errors.push(msg);
    }

    fn unsupported(&mut self, what: &str, loc: Location) {
        self.err(format!("{what} is not supported{}", at(loc)));
    }

    fn query(&mut self, q: &Query) -> Option<Translated> {
        // The SELECT keyword's position: the span of the whole body would recurse through it.
        let loc = match q.body.as_ref() {
            SetExpr::Select(sel) => sel.select_token.0.span.start,
            _ => Location { line: 1, column: 1 },
        };
        if q.with.is_some() {
            self.unsupported("WITH (common table expressions)", loc);
        }
        if q.limit_clause.is_some() {
            self.err(format!(
                "LIMIT/OFFSET is not ADQL: use SELECT TOP n{}",
                at(loc)
            ));
        }
        if q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            self.err("the query has clauses that are not ADQL".to_string());
        }
        let select = match q.body.as_ref() {
            SetExpr::Select(s) => s,
            SetExpr::SetOperation { op, .. } => {
                self.unsupported(&format!("{op} (set operations)"), loc);
                return None;
            }
            _ => {
                self.err(format!("only SELECT queries are allowed{}", at(loc)));
                return None;
            }
        };
        let (mut sql, fields, top) = self.select(select)?;
        if let Some(order_by) = &q.order_by {
            match &order_by.kind {
                OrderByKind::Expressions(exprs) => {
                    let mut parts = Vec::new();
                    for o in exprs {
                        if o.with_fill.is_some() || o.options.nulls_first.is_some() {
                            self.unsupported("NULLS FIRST/LAST or WITH FILL", o.expr.span().start);
                        }
                        let e = self.order_expr(&o.expr, &fields)?;
                        parts.push(match o.options.asc {
                            Some(false) => format!("{e} DESC"),
                            Some(true) => format!("{e} ASC"),
                            None => e,
                        });
                    }
                    sql.push_str(" ORDER BY ");
                    sql.push_str(&parts.join(", "));
                }
                OrderByKind::All(_) => self.unsupported("ORDER BY ALL", loc),
            }
            if order_by.interpolate.is_some() {
                self.unsupported("INTERPOLATE", loc);
            }
        }
        Some(Translated { sql, fields, top })
    }

    fn order_expr(&mut self, e: &Expr, fields: &[FieldMeta]) -> Option<String> {
        if let Expr::Value(v) = e {
            if let SqlValue::Number(n, _) = &v.value {
                return match n.parse::<usize>() {
                    Ok(i) if i >= 1 && i <= fields.len() => Some(i.to_string()),
                    _ => {
                        self.err(format!(
                            "ORDER BY {n}{}: there are {} output columns",
                            at(v.span.start),
                            fields.len()
                        ));
                        None
                    }
                };
            }
        }
        if literal_number(e).is_some() || matches!(e, Expr::Value(_)) {
            self.err(format!(
                "ORDER BY {e}{}: give a column, an output name or a position from 1 to {}",
                at(e.span().start),
                fields.len()
            ));
            return None;
        }
        if let Expr::Identifier(id) = e {
            let is_column = self
                .table
                .is_some_and(|t| t.columns.iter().any(|c| ident_matches(id, &c.name)));
            if !is_column {
                if let Some(i) = fields.iter().position(|f| ident_matches(id, &f.name)) {
                    return Some((i + 1).to_string());
                }
            }
        }
        Some(self.expr(e)?.sql)
    }

    fn select(&mut self, s: &Select) -> Option<(String, Vec<FieldMeta>, Option<u64>)> {
        let loc = s.select_token.0.span.start;
        let distinct = match &s.distinct {
            None => false,
            Some(Distinct::Distinct) => true,
            Some(Distinct::On(_)) => {
                self.unsupported("DISTINCT ON", loc);
                false
            }
        };
        let top = match &s.top {
            None => None,
            Some(t) if t.percent || t.with_ties => {
                self.unsupported("TOP ... PERCENT / WITH TIES", loc);
                None
            }
            Some(t) => match &t.quantity {
                Some(TopQuantity::Constant(n)) => Some(*n),
                Some(TopQuantity::Expr(Expr::Value(v))) => match &v.value {
                    SqlValue::Number(n, _) => n.parse::<u64>().ok(),
                    _ => None,
                },
                _ => None,
            }
            .or_else(|| {
                self.err(format!("TOP takes a non-negative integer{}", at(loc)));
                None
            }),
        };
        if s.into.is_some()
            || s.exclude.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || !s.named_window.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || s.connect_by.is_some()
            || s.flavor != sqlparser::ast::SelectFlavor::Standard
        {
            self.err(format!(
                "the SELECT has clauses that are not ADQL{}",
                at(loc)
            ));
        }
        match &s.group_by {
            GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty() => {}
            _ => self.unsupported("GROUP BY", loc),
        }
        if let Some(h) = &s.having {
            self.unsupported("HAVING", h.span().start);
        }
        // FROM: exactly one table.
        let from_sql = match s.from.as_slice() {
            [] => {
                self.err(format!("the query has no FROM clause{}", at(loc)));
                return None;
            }
            [twj] if twj.joins.is_empty() => self.resolve_from(&twj.relation)?,
            [twj, ..] => {
                self.unsupported(
                    "a FROM clause with several tables or JOIN",
                    twj.relation.span().start,
                );
                return None;
            }
        };
        // Select list.
        let mut items: Vec<Item> = Vec::new();
        for (i, item) in s.projection.iter().enumerate() {
            match item {
                SelectItem::Wildcard(opts) => {
                    self.check_wildcard(opts);
                    self.push_all_columns(&mut items);
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    self.check_wildcard(opts);
                    match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(name) => {
                            let idents = object_idents(name).unwrap_or_default();
                            if self.qualifier_matches(&idents) {
                                self.push_all_columns(&mut items);
                            } else {
                                let loc = idents.first().map(|i| i.span.start).unwrap_or(loc);
                                self.err(format!(
                                    "'{}.*' does not name the table in FROM{}",
                                    display_name(&idents),
                                    at(loc)
                                ));
                            }
                        }
                        SelectItemQualifiedWildcardKind::Expr(e) => {
                            self.unsupported("expr.*", e.span().start)
                        }
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    if let Some(mut it) = self.expr(e) {
                        if !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                            it.field.name = default_name(e, i);
                        }
                        if self.value_item(&it, e) {
                            items.push(it);
                        }
                    }
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    if let Some(mut it) = self.expr(expr) {
                        it.field.name = alias.value.clone();
                        if self.value_item(&it, expr) {
                            items.push(it);
                        }
                    }
                }
            }
        }
        if items.len() > MAX_COLUMNS {
            self.err(format!(
                "the query selects {} columns; the limit is {MAX_COLUMNS}",
                items.len()
            ));
            return None;
        }
        if items.iter().any(|i| i.aggregate) && items.iter().any(|i| i.columns && !i.aggregate) {
            self.err(format!(
                "COUNT(*) next to plain columns needs GROUP BY, which is not supported yet{}",
                at(loc)
            ));
        }
        let where_sql = match &s.selection {
            Some(w) => {
                let it = self.expr(w)?;
                let prefilters = self.cone_prefilters(w);
                let it = if prefilters.is_empty() {
                    it
                } else {
                    Item {
                        sql: format!("{} AND {}", it.sql, prefilters.join(" AND ")),
                        ..it
                    }
                };
                if it.kind != Kind::Bool {
                    self.err(format!(
                        "WHERE needs a condition (a comparison, LIKE, IN, BETWEEN, IS NULL ...) but{} is {}",
                        at(w.span().start),
                        it.kind.describe()
                    ));
                }
                if it.aggregate {
                    self.err(format!(
                        "COUNT(*) cannot be used in WHERE{}",
                        at(w.span().start)
                    ));
                }
                Some(it.sql)
            }
            None => None,
        };
        if !self.errors.is_empty() {
            return None;
        }
        let mut fields: Vec<FieldMeta> = Vec::new();
        let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
        for it in &items {
            let mut f = it.field.clone();
            let base = f.name.clone();
            let mut n = 2;
            while taken.contains(&f.name) {
                f.name = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(f.name.clone());
            fields.push(f);
        }
        let mut sql = String::from("SELECT ");
        if distinct {
            sql.push_str("DISTINCT ");
        }
        sql.push_str(
            &items
                .iter()
                .map(|i| i.sql.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        sql.push_str(" FROM ");
        sql.push_str(&from_sql);
        if let Some(w) = where_sql {
            sql.push_str(" WHERE ");
            sql.push_str(&w);
        }
        Some((sql, fields, top))
    }

    /// Index prefilters for the terms `CONTAINS(POINT(ra_col, dec_col), CIRCLE(literals)) = 1`
    /// and the footprint terms on a region column with literal shapes (`CONTAINS(POINT,
    /// region) = 1`, `INTERSECTS(region, CIRCLE|POLYGON|POINT) = 1`, either order) of the
    /// top-level AND chain of WHERE, where dropping rows that cannot match is sound; see
    /// [`SqlDialect::cone_prefilter`] and [`SqlDialect::region_prefilter`].
    fn cone_prefilters(&self, w: &Expr) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![w];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Nested(inner) => stack.push(inner),
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::And,
                    right,
                } => {
                    stack.push(left);
                    stack.push(right);
                }
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } => {
                    let call = match (literal_number(left), literal_number(right)) {
                        (_, Some(1.0)) => left,
                        (Some(1.0), _) => right,
                        _ => continue,
                    };
                    if let Some(p) = self
                        .cone_prefilter_of(call)
                        .or_else(|| self.region_prefilter_of(call))
                    {
                        out.push(p);
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn cone_prefilter_of(&self, call: &Expr) -> Option<String> {
        let Expr::Function(f) = call else { return None };
        let name = object_idents(&f.name)?;
        if name.len() != 1 || !name[0].value.eq_ignore_ascii_case("CONTAINS") {
            return None;
        }
        let args = plain_args(f)?;
        let [point, circle] = args.as_slice() else {
            return None;
        };
        let (Expr::Function(pf), Expr::Function(cf)) = (point, circle) else {
            return None;
        };
        let is = |f: &sqlparser::ast::Function, n: &str| {
            object_idents(&f.name)
                .is_some_and(|v| v.len() == 1 && v[0].value.eq_ignore_ascii_case(n))
        };
        if !is(pf, "POINT") || !is(cf, "CIRCLE") {
            return None;
        }
        let p = strip_frame(plain_args(pf)?);
        let c = strip_frame(plain_args(cf)?);
        let table = self.table?;
        let column = |e: &Expr| -> Option<&ColumnInfo> {
            let (id, qual): (&Ident, Vec<&Ident>) = match e {
                Expr::Identifier(id) => (id, Vec::new()),
                Expr::CompoundIdentifier(parts) => {
                    let (last, qual) = parts.split_last()?;
                    (last, qual.iter().collect())
                }
                _ => return None,
            };
            if !qual.is_empty() && !self.qualifier_matches(&qual) {
                return None;
            }
            table.columns.iter().find(|c| ident_matches(id, &c.name))
        };
        let ([ra, dec], [ra0, dec0, r]) = (p.as_slice(), c.as_slice()) else {
            return None;
        };
        let (ra, dec) = (column(ra)?, column(dec)?);
        let (ra0, dec0, r) = (
            literal_number(ra0)?,
            literal_number(dec0)?,
            literal_number(r)?,
        );
        self.dialect.cone_prefilter(table, ra, dec, ra0, dec0, r)
    }

    /// The region prefilter of a footprint term (see [`Self::cone_prefilters`]): the literal
    /// shape as a circle that holds it (a point: radius 0; a polygon: a cap around its
    /// vertices), against a region column of the table.
    fn region_prefilter_of(&self, call: &Expr) -> Option<String> {
        let Expr::Function(f) = call else { return None };
        let name = object_idents(&f.name)?;
        let [name] = name.as_slice() else {
            return None;
        };
        let fname = name.value.to_ascii_uppercase();
        let args = plain_args(f)?;
        let [a, b] = args.as_slice() else {
            return None;
        };
        let table = self.table?;
        let region = |e: &Expr| -> Option<&ColumnInfo> {
            let (id, qual): (&Ident, Vec<&Ident>) = match e {
                Expr::Identifier(id) => (id, Vec::new()),
                Expr::CompoundIdentifier(parts) => {
                    let (last, qual) = parts.split_last()?;
                    (last, qual.iter().collect())
                }
                _ => return None,
            };
            if !qual.is_empty() && !self.qualifier_matches(&qual) {
                return None;
            }
            table
                .columns
                .iter()
                .find(|c| ident_matches(id, &c.name))
                .filter(|c| c.field.xtype.as_deref() == Some("adql:REGION"))
        };
        // The literal shape as (ra, dec, radius) of a circle holding it.
        let shape = |e: &Expr| -> Option<(f64, f64, f64)> {
            let Expr::Function(sf) = e else { return None };
            let sname = object_idents(&sf.name)?;
            let [sname] = sname.as_slice() else {
                return None;
            };
            let nums: Vec<f64> = strip_frame(plain_args(sf)?)
                .into_iter()
                .map(literal_number)
                .collect::<Option<_>>()?;
            match (sname.value.to_ascii_uppercase().as_str(), nums.as_slice()) {
                ("POINT", [ra, dec]) => Some((*ra, *dec, 0.0)),
                ("CIRCLE", [ra, dec, r]) => Some((*ra, *dec, *r)),
                ("POLYGON", v) if v.len() >= 6 && v.len() % 2 == 0 => {
                    let pts: Vec<SkyPoint> =
                        v.chunks(2).map(|c| SkyPoint::new(c[0], c[1])).collect();
                    let sum = pts.iter().fold([0.0; 3], |acc, p| {
                        let w = p.to_vec();
                        [acc[0] + w[0], acc[1] + w[1], acc[2] + w[2]]
                    });
                    let n = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
                    if n.is_nan() || n <= 1e-9 {
                        return None;
                    }
                    let centre = SkyPoint::from_vec([sum[0] / n, sum[1] / n, sum[2] / n]);
                    let r = pts.iter().map(|p| centre.distance(*p)).fold(0.0, f64::max);
                    // A cap smaller than a hemisphere holds the polygon (with its edges).
                    (r < 89.0).then_some((centre.ra, centre.dec, r + 1e-9))
                }
                _ => None,
            }
        };
        let (col, (ra0, dec0, r)) = match fname.as_str() {
            "CONTAINS" => {
                let s = shape(a).filter(|s| s.2 == 0.0)?;
                (region(b)?, s)
            }
            "INTERSECTS" => match (region(a), region(b)) {
                (Some(c), None) => (c, shape(b)?),
                (None, Some(c)) => (c, shape(a)?),
                _ => return None,
            },
            _ => return None,
        };
        if !(ra0.is_finite() && (-90.0..=90.0).contains(&dec0) && (0.0..=180.0).contains(&r)) {
            return None;
        }
        self.dialect.region_prefilter(table, col, ra0, dec0, r)
    }

    /// Whether a select item is a value (a condition cannot be selected in ADQL); records the
    /// error otherwise.
    fn value_item(&mut self, it: &Item, e: &Expr) -> bool {
        if it.kind == Kind::Bool {
            self.err(format!(
                "a condition cannot be selected{}: select a value (a column, a number, a string)",
                at(e.span().start)
            ));
            return false;
        }
        true
    }

    fn check_wildcard(&mut self, o: &WildcardAdditionalOptions) {
        if o.opt_ilike.is_some()
            || o.opt_exclude.is_some()
            || o.opt_except.is_some()
            || o.opt_replace.is_some()
            || o.opt_rename.is_some()
        {
            self.unsupported("options after '*'", o.wildcard_token.0.span.start);
        }
    }

    fn push_all_columns(&mut self, items: &mut Vec<Item>) {
        if let Some(t) = self.table {
            for c in &t.columns {
                let mut it = Item::new(
                    self.dialect.column_ref(t, c),
                    c.field.clone(),
                    Kind::of(&c.field),
                );
                it.columns = true;
                items.push(it);
            }
        }
    }

    fn resolve_from(&mut self, tf: &TableFactor) -> Option<String> {
        let TableFactor::Table {
            name,
            alias,
            args,
            with_hints,
            version,
            partitions,
            ..
        } = tf
        else {
            self.unsupported("a subquery or table function in FROM", tf.span().start);
            return None;
        };
        if args.is_some() || !with_hints.is_empty() || version.is_some() || !partitions.is_empty() {
            self.unsupported("table options in FROM", tf.span().start);
        }
        let idents = object_idents(name).unwrap_or_default();
        let loc = idents
            .first()
            .map(|i| i.span.start)
            .unwrap_or(Location { line: 0, column: 0 });
        let found: Vec<&'a TableInfo> = self
            .catalog
            .tables()
            .iter()
            .filter(|t| match idents.as_slice() {
                [s, n] => {
                    t.schema.as_deref().is_some_and(|sn| ident_matches(s, sn))
                        && ident_matches(n, &t.name)
                }
                [n] => ident_matches(n, &t.name),
                _ => false,
            })
            .collect();
        let table = match found.as_slice() {
            [t] => *t,
            [] => {
                self.err(format!(
                    "table '{}' does not exist{} (see TAP_SCHEMA.tables)",
                    display_name(&idents),
                    at(loc)
                ));
                return None;
            }
            _ => {
                self.err(format!(
                    "table name '{}'{} is ambiguous: qualify it with its schema",
                    display_name(&idents),
                    at(loc)
                ));
                return None;
            }
        };
        self.table = Some(table);
        if let Some(a) = alias {
            if !a.columns.is_empty() {
                self.unsupported("column aliases on a table", a.name.span.start);
            }
            self.alias = Some(a.name.clone());
        }
        Some(self.dialect.table_ref(table))
    }

    /// Whether a qualifier (the part before `.column` or `.*`) names the FROM table.
    fn qualifier_matches(&self, q: &[&Ident]) -> bool {
        let Some(t) = self.table else { return false };
        if let Some(a) = &self.alias {
            // Once aliased, the table is known by its alias only (SQL-92 §6.3).
            return match q {
                [one] => {
                    if a.quote_style.is_some() || one.quote_style.is_some() {
                        one.value == a.value
                    } else {
                        one.value.eq_ignore_ascii_case(&a.value)
                    }
                }
                _ => false,
            };
        }
        match q {
            [n] => ident_matches(n, &t.name),
            [s, n] => {
                t.schema.as_deref().is_some_and(|sn| ident_matches(s, sn))
                    && ident_matches(n, &t.name)
            }
            _ => false,
        }
    }

    fn column(&mut self, qualifier: &[&Ident], id: &Ident) -> Option<Item> {
        let t = self.table?;
        if !qualifier.is_empty() && !self.qualifier_matches(qualifier) {
            self.err(format!(
                "'{}' in '{}.{}'{} does not name the table in FROM",
                display_name(qualifier),
                display_name(qualifier),
                id,
                at(qualifier[0].span.start)
            ));
            return None;
        }
        match t.columns.iter().find(|c| ident_matches(id, &c.name)) {
            Some(c) => {
                let mut it = Item::new(
                    self.dialect.column_ref(t, c),
                    c.field.clone(),
                    Kind::of(&c.field),
                );
                it.columns = true;
                Some(it)
            }
            None => {
                let hint = if id.quote_style.is_none()
                    && RESERVED.iter().any(|w| id.value.eq_ignore_ascii_case(w))
                {
                    format!(
                        " ('{}' is an ADQL reserved word: check the clause order, or quote it)",
                        id.value.to_ascii_uppercase()
                    )
                } else {
                    String::new()
                };
                self.err(format!(
                    "column '{}' does not exist in table {}{}{hint}",
                    id,
                    t.qualified_name(),
                    at(id.span.start)
                ));
                None
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Option<Item> {
        self.depth += 1;
        let out = if self.depth > MAX_DEPTH {
            self.err(format!(
                "the expression{} is nested more than {MAX_DEPTH} levels deep",
                at(e.span().start)
            ));
            None
        } else {
            self.expr_inner(e)
        };
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &Expr) -> Option<Item> {
        let loc = || e.span().start;
        match e {
            Expr::Identifier(id) => self.column(&[], id),
            Expr::CompoundIdentifier(parts) => {
                let refs: Vec<&Ident> = parts.iter().collect();
                let (col, qual) = refs.split_last()?;
                self.column(qual, col)
            }
            Expr::Value(v) => match &v.value {
                SqlValue::Number(n, false) => {
                    if !n.parse::<f64>().is_ok_and(f64::is_finite) {
                        self.err(format!(
                            "the number {n}{} is out of range",
                            at(v.span.start)
                        ));
                        return None;
                    }
                    let is_int = n.parse::<i64>().is_ok();
                    Some(Item::new(
                        self.dialect.number_literal(n, is_int),
                        numeric_field(if is_int { "long" } else { "double" }),
                        Kind::Number,
                    ))
                }
                SqlValue::SingleQuotedString(s) => {
                    if s.contains('\0') {
                        self.err(format!(
                            "the string literal{} contains a NUL character",
                            at(v.span.start)
                        ));
                        return None;
                    }
                    Some(Item::new(
                        format!("'{}'", s.replace('\'', "''")),
                        text_field(),
                        Kind::Text,
                    ))
                }
                SqlValue::Null => Some(Item::new(
                    "NULL".into(),
                    numeric_field("double"),
                    Kind::Null,
                )),
                other => {
                    self.unsupported(&format!("the literal {other}"), v.span.start);
                    None
                }
            },
            Expr::Nested(inner) => {
                let it = self.expr(inner)?;
                Some(Item {
                    sql: format!("({})", it.sql),
                    ..it
                })
            }
            Expr::UnaryOp { op, expr } => {
                let it = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => {
                        self.expect_kind(&it, Kind::Bool, "NOT", expr)?;
                        Some(Item {
                            sql: format!("(NOT {})", it.sql),
                            ..it
                        })
                    }
                    UnaryOperator::Minus | UnaryOperator::Plus => {
                        self.expect_kind(&it, Kind::Number, &op.to_string(), expr)?;
                        let field = arith(&it.field, None);
                        Some(Item {
                            sql: format!("({op}{})", it.sql),
                            field,
                            ..it
                        })
                    }
                    other => {
                        self.unsupported(&format!("the operator {other}"), loc());
                        None
                    }
                }
            }
            Expr::BinaryOp { .. } => {
                // Left-deep chains (a OR b OR c ..., 1 + 2 + 3 ...) are walked iteratively, so
                // a long list of terms cannot exhaust the stack.
                let mut chain: Vec<(&BinaryOperator, &Expr)> = Vec::new();
                let mut cur = e;
                while let Expr::BinaryOp { left, op, right } = cur {
                    chain.push((op, right));
                    cur = left;
                }
                if chain.len() > MAX_TERMS {
                    // The span of the leftmost term: the whole chain's span would recurse.
                    self.err(format!(
                        "the expression{} has {} terms; the limit is {MAX_TERMS} (use IN (...) for long lists)",
                        at(cur.span().start),
                        chain.len() + 1
                    ));
                    return None;
                }
                chain.reverse();
                let mut acc = self.expr(cur);
                let mut lhs = cur;
                for (op, right) in chain {
                    let r = self.expr(right);
                    acc = match (acc, r) {
                        (Some(a), Some(r)) => self.binary(a, op, r, lhs, right),
                        _ => None,
                    };
                    lhs = right;
                }
                acc
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (a, b, c) = (self.expr(expr), self.expr(low), self.expr(high));
                let (a, b, c) = (a?, b?, c?);
                self.expect_same(&a, &b, "BETWEEN", low)?;
                self.expect_same(&a, &c, "BETWEEN", high)?;
                let not = if *negated { "NOT " } else { "" };
                Some(Item::condition(
                    format!("({} {not}BETWEEN {} AND {})", a.sql, b.sql, c.sql),
                    [&a, &b, &c],
                ))
            }
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any || escape_char.is_some() {
                    self.unsupported("LIKE ANY / ESCAPE", loc());
                    return None;
                }
                let (a, p) = (self.expr(expr), self.expr(pattern));
                let (a, p) = (a?, p?);
                self.expect_kind(&a, Kind::Text, "LIKE", expr)?;
                self.expect_kind(&p, Kind::Text, "LIKE", pattern)?;
                let not = if *negated { "NOT " } else { "" };
                let sql = if matches!(e, Expr::ILike { .. }) {
                    format!("(lower({}) {not}LIKE lower({}))", a.sql, p.sql)
                } else {
                    format!("({} {not}LIKE {})", a.sql, p.sql)
                };
                Some(Item::condition(sql, [&a, &p]))
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let it = self.expr(inner)?;
                let op = if matches!(e, Expr::IsNull(_)) {
                    "IS NULL"
                } else {
                    "IS NOT NULL"
                };
                Some(Item::condition(format!("({} {op})", it.sql), [&it]))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let a = self.expr(expr)?;
                let mut parts = Vec::new();
                for x in list {
                    let it = self.expr(x)?;
                    self.expect_same(&a, &it, "IN", x)?;
                    parts.push(it.sql);
                }
                let not = if *negated { "NOT " } else { "" };
                Some(Item::condition(
                    format!("({} {not}IN ({}))", a.sql, parts.join(", ")),
                    [&a],
                ))
            }
            Expr::Function(f) => self.function(f, loc()),
            other => {
                let text = other.to_string();
                let short: String = text.chars().take(40).collect();
                self.unsupported(&format!("the expression '{short}'"), loc());
                None
            }
        }
    }

    /// `a op r`, type-checked: AND/OR take conditions; comparisons take two numbers or two
    /// strings and give a condition; arithmetic takes numbers; `||` takes strings.
    fn binary(
        &mut self,
        a: Item,
        op: &BinaryOperator,
        r: Item,
        lhs: &Expr,
        rhs: &Expr,
    ) -> Option<Item> {
        let sym = match op {
            BinaryOperator::Plus => "+",
            BinaryOperator::Minus => "-",
            BinaryOperator::Multiply => "*",
            BinaryOperator::Divide => "/",
            BinaryOperator::Eq => "=",
            BinaryOperator::NotEq => "<>",
            BinaryOperator::Lt => "<",
            BinaryOperator::LtEq => "<=",
            BinaryOperator::Gt => ">",
            BinaryOperator::GtEq => ">=",
            BinaryOperator::And => "AND",
            BinaryOperator::Or => "OR",
            BinaryOperator::StringConcat => "||",
            other => {
                self.unsupported(&format!("the operator {other}"), rhs.span().start);
                return None;
            }
        };
        let sql = format!("({} {sym} {})", a.sql, r.sql);
        match sym {
            "AND" | "OR" => {
                self.expect_kind(&a, Kind::Bool, sym, lhs)?;
                self.expect_kind(&r, Kind::Bool, sym, rhs)?;
                Some(Item::condition(sql, [&a, &r]))
            }
            "+" | "-" | "*" | "/" => {
                self.expect_kind(&a, Kind::Number, sym, lhs)?;
                self.expect_kind(&r, Kind::Number, sym, rhs)?;
                let field = arith(&a.field, Some(&r.field));
                Some(Item {
                    sql,
                    field,
                    kind: Kind::Number,
                    aggregate: a.aggregate || r.aggregate,
                    columns: a.columns || r.columns,
                })
            }
            "||" => {
                self.expect_kind(&a, Kind::Text, sym, lhs)?;
                self.expect_kind(&r, Kind::Text, sym, rhs)?;
                Some(Item {
                    sql,
                    field: text_field(),
                    kind: Kind::Text,
                    aggregate: a.aggregate || r.aggregate,
                    columns: a.columns || r.columns,
                })
            }
            _ => {
                self.expect_same(&a, &r, sym, rhs)?;
                if a.kind == Kind::Bool {
                    self.err(format!(
                        "'{sym}'{} compares two conditions; combine them with AND/OR",
                        at(rhs.span().start)
                    ));
                    return None;
                }
                Some(Item::condition(sql, [&a, &r]))
            }
        }
    }

    fn expect_kind(&mut self, it: &Item, want: Kind, op: &str, e: &Expr) -> Option<()> {
        if it.kind == want || it.kind == Kind::Null {
            return Some(());
        }
        self.err(format!(
            "{op} needs {} but{} is {}",
            want.describe(),
            at(e.span().start),
            it.kind.describe()
        ));
        None
    }

    fn expect_same(&mut self, a: &Item, b: &Item, op: &str, e: &Expr) -> Option<()> {
        if a.kind == b.kind || a.kind == Kind::Null || b.kind == Kind::Null {
            return Some(());
        }
        self.err(format!(
            "{op} mixes {} and {}{}",
            a.kind.describe(),
            b.kind.describe(),
            at(e.span().start)
        ));
        None
    }

    fn function_args<'f>(&mut self, f: &'f sqlparser::ast::Function) -> Option<Vec<&'f Expr>> {
        let loc = f.name.span().start;
        if f.filter.is_some() || f.null_treatment.is_some() || f.over.is_some() {
            self.unsupported("FILTER/OVER on a function", loc);
            return None;
        }
        if !matches!(f.parameters, FunctionArguments::None) || !f.within_group.is_empty() {
            self.unsupported("function parameters", loc);
            return None;
        }
        let list = match &f.args {
            FunctionArguments::List(l) => l,
            FunctionArguments::None => return Some(Vec::new()),
            FunctionArguments::Subquery(_) => {
                self.unsupported("a subquery as function argument", loc);
                return None;
            }
        };
        if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
            self.unsupported("DISTINCT/ALL or clauses in a function call", loc);
            return None;
        }
        let mut out = Vec::new();
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => out.push(e),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {
                    // Only COUNT(*) takes '*'; the caller checks.
                    return Some(Vec::new())
                        .filter(|_| list.args.len() == 1)
                        .or_else(|| {
                            self.unsupported("'*' among function arguments", loc);
                            None
                        });
                }
                _ => {
                    self.unsupported("named or qualified function arguments", loc);
                    return None;
                }
            }
        }
        Some(out)
    }

    fn function(&mut self, f: &sqlparser::ast::Function, loc: Location) -> Option<Item> {
        let idents = object_idents(&f.name).unwrap_or_default();
        let name = match idents.as_slice() {
            [one] if one.quote_style.is_none() => one.value.to_ascii_uppercase(),
            _ => {
                self.err(format!("function '{}'{} does not exist", f.name, at(loc)));
                return None;
            }
        };
        let is_star = matches!(&f.args, FunctionArguments::List(l)
            if matches!(l.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]));
        let args = self.function_args(f)?;
        match name.as_str() {
            "COUNT" if is_star => {
                let mut it = Item::new("COUNT(*)".into(), numeric_field("long"), Kind::Number);
                it.aggregate = true;
                Some(it)
            }
            "CONTAINS" | "INTERSECTS" => {
                let [a, b] = args.as_slice() else {
                    self.err(format!("{name} takes 2 geometries{}", at(loc)));
                    return None;
                };
                let (ga, gb) = (self.geom(a), self.geom(b));
                let (ga, gb) = (ga?, gb?);
                let d = self.dialect;
                let all_sky: Vec<String> = [&ga, &gb]
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::Region(_, Some(cond)) => Some(cond.clone()),
                        _ => None,
                    })
                    .collect();
                let sql = match (name.as_str(), ga, gb) {
                    // ADQL 2.1 §4.2.7: INTERSECTS with a POINT is CONTAINS of the point.
                    (_, Geom::Point(ra, dec), Geom::Circle(c1, c2, r))
                    | ("INTERSECTS", Geom::Circle(c1, c2, r), Geom::Point(ra, dec)) => {
                        d.contains_point_circle(&ra, &dec, &c1, &c2, &r)
                    }
                    (_, Geom::Point(ra, dec), Geom::Polygon(v))
                    | ("INTERSECTS", Geom::Polygon(v), Geom::Point(ra, dec)) => {
                        d.contains_point_region(&ra, &dec, &v)
                    }
                    (_, Geom::Point(ra, dec), Geom::Region(r, _))
                    | ("INTERSECTS", Geom::Region(r, _), Geom::Point(ra, dec)) => {
                        d.contains_point_region(&ra, &dec, &r)
                    }
                    ("INTERSECTS", Geom::Region(r, _), Geom::Circle(c1, c2, rad))
                    | ("INTERSECTS", Geom::Circle(c1, c2, rad), Geom::Region(r, _)) => {
                        d.intersects_region_circle(&r, &c1, &c2, &rad)
                    }
                    ("INTERSECTS", Geom::Region(r, _), Geom::Polygon(v))
                    | ("INTERSECTS", Geom::Polygon(v), Geom::Region(r, _)) => {
                        d.intersects_regions(&r, &v)
                    }
                    ("INTERSECTS", Geom::Region(r1, _), Geom::Region(r2, _)) => {
                        d.intersects_regions(&r1, &r2)
                    }
                    (_, x, y) => {
                        self.err(format!(
                            "{name}({}, {}){} is not supported: this service supports CONTAINS(POINT, CIRCLE|POLYGON|region) and INTERSECTS of a region with a POINT, CIRCLE, POLYGON or region",
                            x.describe(),
                            y.describe(),
                            at(loc)
                        ));
                        return None;
                    }
                };
                let sql = if all_sky.is_empty() {
                    sql
                } else {
                    format!("(CASE WHEN {} THEN 1 ELSE {sql} END)", all_sky.join(" OR "))
                };
                Some(Item {
                    sql,
                    field: numeric_field("int"),
                    kind: Kind::Number,
                    aggregate: false,
                    columns: true,
                })
            }
            "DISTANCE" => {
                let (p1, p2) = match args.as_slice() {
                    [a, b] => {
                        let (x, y) = (self.geometry(a, "POINT", 2), self.geometry(b, "POINT", 2));
                        (x?, y?)
                    }
                    [a, b, c, d] => {
                        let mut v = Vec::new();
                        for x in [a, b, c, d] {
                            let it = self.expr(x)?;
                            self.expect_kind(&it, Kind::Number, "DISTANCE", x)?;
                            v.push(it.sql);
                        }
                        (
                            vec![v[0].clone(), v[1].clone()],
                            vec![v[2].clone(), v[3].clone()],
                        )
                    }
                    _ => {
                        self.err(format!("DISTANCE takes 2 points or 4 numbers{}", at(loc)));
                        return None;
                    }
                };
                let mut field = numeric_field("double");
                field.unit = Some("deg".into());
                field.ucd = Some("pos.angDistance".into());
                Some(Item {
                    sql: self.dialect.distance(&p1[0], &p1[1], &p2[0], &p2[1]),
                    field,
                    kind: Kind::Number,
                    aggregate: false,
                    columns: true,
                })
            }
            "POINT" | "CIRCLE" | "POLYGON" | "BOX" | "REGION" | "AREA" | "CENTROID" | "COORD1"
            | "COORD2" | "COORDSYS" => {
                self.err(format!(
                    "{name}{} is not supported here: geometries can be used inside CONTAINS, INTERSECTS and DISTANCE",
                    at(loc)
                ));
                None
            }
            _ => {
                self.err(format!("function '{name}'{} is not supported", at(loc)));
                None
            }
        }
    }

    /// The numeric SQL arguments of POINT (ra, dec) or CIRCLE (ra, dec, radius); see
    /// [`Translator::shape`].
    fn geometry(&mut self, e: &Expr, want: &str, n: usize) -> Option<Vec<String>> {
        match self.geom(e)? {
            Geom::Point(ra, dec) if want == "POINT" && n == 2 => Some(vec![ra, dec]),
            Geom::Circle(ra, dec, r) if want == "CIRCLE" && n == 3 => Some(vec![ra, dec, r]),
            other => {
                self.err(format!(
                    "expected {want}(...){}, found {}",
                    at(e.span().start),
                    other.describe()
                ));
                None
            }
        }
    }

    /// A geometry value (ADQL 2.1 §4.2): POINT, CIRCLE, POLYGON, or a region column (xtype
    /// adql:REGION).
    fn geom(&mut self, e: &Expr) -> Option<Geom> {
        let loc = e.span().start;
        let column = match e {
            Expr::Identifier(id) => Some((Vec::new(), id)),
            Expr::CompoundIdentifier(parts) => parts
                .split_last()
                .map(|(c, q)| (q.iter().collect::<Vec<_>>(), c)),
            _ => None,
        };
        if let Some((qual, id)) = column {
            let it = self.column(&qual, id)?;
            if it.field.xtype.as_deref() != Some("adql:REGION") {
                self.err(format!(
                    "column '{id}'{} is not a region (xtype adql:REGION)",
                    at(loc)
                ));
                return None;
            }
            let table = self.table?;
            let col = table.columns.iter().find(|c| ident_matches(id, &c.name))?;
            return Some(Geom::Region(
                self.dialect.region_ref(table, col),
                self.dialect.region_all_sky(table, col),
            ));
        }
        let Expr::Function(f) = e else {
            self.err(format!(
                "expected a geometry (POINT, CIRCLE, POLYGON or a region column){}",
                at(loc)
            ));
            return None;
        };
        let fname = object_idents(&f.name)
            .and_then(|v| v.first().map(|i| i.value.to_ascii_uppercase()))
            .unwrap_or_default();
        match fname.as_str() {
            "POINT" => {
                let v = self.shape(f, "POINT", loc)?;
                Some(Geom::Point(v[0].clone(), v[1].clone()))
            }
            "CIRCLE" => {
                let v = self.shape(f, "CIRCLE", loc)?;
                Some(Geom::Circle(v[0].clone(), v[1].clone(), v[2].clone()))
            }
            "POLYGON" => {
                self.literal_polygon = None;
                let v = self.shape(f, "POLYGON", loc)?;
                Some(Geom::Polygon(match self.literal_polygon.take() {
                    Some(stcs) => self.dialect.polygon_literal(&stcs),
                    None => {
                        let pairs: Vec<(String, String)> =
                            v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                        self.dialect.polygon_region(&pairs)
                    }
                }))
            }
            other => {
                self.err(format!(
                    "expected a geometry (POINT, CIRCLE, POLYGON or a region column){}, found {other}",
                    at(loc)
                ));
                None
            }
        }
    }

    /// The numeric SQL arguments of a POINT (ra, dec), CIRCLE (ra, dec, radius) or POLYGON
    /// (ra1, dec1, ra2, dec2, ... with at least 3 vertices, or POINTs), after the optional
    /// leading coordinate-system string of ADQL 2.0, which must be ICRS. Literal coordinates
    /// are range-checked; a literal polygon is checked to be a valid spherical polygon.
    fn shape(
        &mut self,
        f: &sqlparser::ast::Function,
        want: &str,
        loc: Location,
    ) -> Option<Vec<String>> {
        let args = self.function_args(f)?;
        let mut rest: &[&Expr] = &args;
        if let Some(Expr::Value(v)) = rest.first() {
            if let SqlValue::SingleQuotedString(cs) = &v.value {
                let norm = cs.trim().to_ascii_uppercase();
                if !(norm.is_empty() || norm.starts_with("ICRS") || norm == "J2000") {
                    self.err(format!(
                        "coordinate system '{cs}'{} is not supported: positions are ICRS",
                        at(v.span.start)
                    ));
                    return None;
                }
                rest = &rest[1..];
            }
        }
        // POLYGON(POINT(..), POINT(..), ...): flatten the points.
        let mut nums: Vec<&Expr> = Vec::new();
        let mut point_args = Vec::new();
        for a in rest {
            match a {
                Expr::Function(pf)
                    if want == "POLYGON"
                        && object_idents(&pf.name).is_some_and(|v| {
                            v.len() == 1 && v[0].value.eq_ignore_ascii_case("POINT")
                        }) =>
                {
                    let v = self.shape(pf, "POINT", a.span().start)?;
                    point_args.extend(v);
                }
                _ => nums.push(a),
            }
        }
        let ok_count = match want {
            "POINT" => nums.len() == 2 && point_args.is_empty(),
            "CIRCLE" => nums.len() == 3 && point_args.is_empty(),
            _ => {
                (point_args.is_empty() || nums.is_empty())
                    && (nums.len() + point_args.len()).is_multiple_of(2)
                    && nums.len() + point_args.len() >= 6
            }
        };
        if !ok_count {
            let need = match want {
                "POINT" => "2 numbers (ra, dec)",
                "CIRCLE" => "3 numbers (ra, dec, radius)",
                _ => "at least 3 vertices, as ra, dec pairs or POINTs",
            };
            self.err(format!(
                "{want}{} takes {need}, after an optional coordinate system",
                at(loc)
            ));
            return None;
        }
        if !point_args.is_empty() {
            return Some(point_args);
        }
        let mut out = Vec::new();
        let mut literals = Vec::new();
        for (i, a) in nums.iter().enumerate() {
            let it = self.expr(a)?;
            if it.kind != Kind::Number && it.kind != Kind::Null {
                self.err(format!(
                    "{want} arguments must be numbers{}",
                    at(a.span().start)
                ));
                return None;
            }
            // Literal coordinates are checked here; column values are the service's own.
            let literal = literal_number(a);
            if let Some(v) = literal {
                let role = if want == "CIRCLE" && i == 2 { 2 } else { i % 2 };
                let (what, ok, range) = match role {
                    0 => (
                        "right ascension",
                        v.is_finite(),
                        "a finite number of degrees",
                    ),
                    1 => (
                        "declination",
                        (-90.0..=90.0).contains(&v),
                        "in [-90, 90] degrees",
                    ),
                    _ => ("radius", (0.0..=180.0).contains(&v), "in [0, 180] degrees"),
                };
                if !ok {
                    self.err(format!(
                        "{want} {what} {v}{} must be {range}",
                        at(a.span().start)
                    ));
                    return None;
                }
            }
            literals.push(literal);
            out.push(it.sql);
        }
        if want == "POLYGON" {
            if let Some(vals) = literals.iter().copied().collect::<Option<Vec<f64>>>() {
                let points: Vec<SkyPoint> =
                    vals.chunks(2).map(|c| SkyPoint::new(c[0], c[1])).collect();
                if let Err(e) = Polygon::new(&points) {
                    self.err(format!("POLYGON{}: {e}", at(loc)));
                    return None;
                }
                if vo_common::region::edges_cross(&points) {
                    self.err(format!(
                        "POLYGON{}: its edges cross; give the vertices in order around the region",
                        at(loc)
                    ));
                    return None;
                }
                // A literal polygon goes to the database as one STC-S string, however many
                // vertices it has.
                self.literal_polygon = Some(stcs_polygon(&points));
            } else if out.len() > 2 * MAX_EXPR_VERTICES {
                self.err(format!(
                    "POLYGON{} has {} vertices given by expressions; the limit is {MAX_EXPR_VERTICES} (literal vertices have none)",
                    at(loc),
                    out.len() / 2
                ));
                return None;
            }
        }
        Some(out)
    }
}

/// `args` without a leading coordinate-system string (ADQL 2.0 geometry syntax).
fn strip_frame(args: Vec<&Expr>) -> Vec<&Expr> {
    match args.first() {
        Some(Expr::Value(x)) if matches!(x.value, SqlValue::SingleQuotedString(_)) => {
            args[1..].to_vec()
        }
        _ => args,
    }
}

/// The plain positional arguments of a function call, or None for anything else.
fn plain_args(f: &sqlparser::ast::Function) -> Option<Vec<&Expr>> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// The value of a numeric literal, possibly signed (`-1.5`), or None for anything else.
fn literal_number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => literal_number(expr).map(|v| -v),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => literal_number(expr),
        Expr::Nested(inner) => literal_number(inner),
        _ => None,
    }
}

fn numeric_field(datatype: &str) -> FieldMeta {
    FieldMeta {
        datatype: datatype.into(),
        ..Default::default()
    }
}

fn arith(a: &FieldMeta, b: Option<&FieldMeta>) -> FieldMeta {
    let ints = ["short", "int", "long"];
    let all_int = ints.contains(&a.datatype.as_str())
        && b.is_none_or(|b| ints.contains(&b.datatype.as_str()));
    numeric_field(if all_int { "long" } else { "double" })
}

fn default_name(e: &Expr, index: usize) -> String {
    match e {
        Expr::Function(f) => f
            .name
            .0
            .last()
            .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
            .unwrap_or_else(|| format!("col{}", index + 1)),
        Expr::Nested(inner) => default_name(inner, index),
        _ => format!("col{}", index + 1),
    }
}

#[cfg(test)]
mod tests;
