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

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, ObjectName, ObjectNamePart, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableFactor, TopQuantity,
    UnaryOperator, Value as SqlValue, WildcardAdditionalOptions,
};
use sqlparser::dialect::Dialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;
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
    /// `column_name`, exactly as published.
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
}

impl TableInfo {
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
    };
    let out = t.query(query);
    if !t.errors.is_empty() {
        return Err(VoError::query(format!(
            "ADQL error: {}",
            t.errors.join("; ")
        )));
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

fn ident_matches(ident: &Ident, name: &str) -> bool {
    if ident.quote_style.is_some() {
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
}

/// Output of one select item: SQL and metadata.
struct Item {
    sql: String,
    field: FieldMeta,
}

impl<'a> Translator<'a> {
    fn err(&mut self, msg: String) {
        self.errors.push(msg);
    }

    fn unsupported(&mut self, what: &str, loc: Location) {
        self.err(format!("{what} is not supported{}", at(loc)));
    }

    fn query(&mut self, q: &Query) -> Option<Translated> {
        let loc = q.body.span().start;
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
                        items.push(it);
                    }
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    if let Some(mut it) = self.expr(expr) {
                        it.field.name = alias.value.clone();
                        items.push(it);
                    }
                }
            }
        }
        let where_sql = match &s.selection {
            Some(w) => Some(self.expr(w)?.sql),
            None => None,
        };
        if !self.errors.is_empty() {
            return None;
        }
        let mut fields: Vec<FieldMeta> = Vec::new();
        for it in &items {
            let mut f = it.field.clone();
            let base = f.name.clone();
            let mut n = 2;
            while fields.iter().any(|g| g.name == f.name) {
                f.name = format!("{base}_{n}");
                n += 1;
            }
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
                items.push(Item {
                    sql: self.dialect.column_ref(t, c),
                    field: c.field.clone(),
                });
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
            Some(c) => Some(Item {
                sql: self.dialect.column_ref(t, c),
                field: c.field.clone(),
            }),
            None => {
                self.err(format!(
                    "column '{}' does not exist in table {}{}",
                    id,
                    t.qualified_name(),
                    at(id.span.start)
                ));
                None
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Option<Item> {
        let loc = e.span().start;
        match e {
            Expr::Identifier(id) => self.column(&[], id),
            Expr::CompoundIdentifier(parts) => {
                let refs: Vec<&Ident> = parts.iter().collect();
                let (col, qual) = refs.split_last()?;
                self.column(qual, col)
            }
            Expr::Value(v) => match &v.value {
                SqlValue::Number(n, false) => {
                    let is_int = n.parse::<i64>().is_ok();
                    Some(Item {
                        sql: n.clone(),
                        field: numeric_field(if is_int { "long" } else { "double" }),
                    })
                }
                SqlValue::SingleQuotedString(s) => Some(Item {
                    sql: format!("'{}'", s.replace('\'', "''")),
                    field: FieldMeta {
                        datatype: "char".into(),
                        arraysize: Some("*".into()),
                        ..Default::default()
                    },
                }),
                SqlValue::Null => Some(Item {
                    sql: "NULL".into(),
                    field: numeric_field("double"),
                }),
                other => {
                    self.unsupported(&format!("the literal {other}"), loc);
                    None
                }
            },
            Expr::Nested(inner) => {
                let it = self.expr(inner)?;
                Some(Item {
                    sql: format!("({})", it.sql),
                    field: it.field,
                })
            }
            Expr::UnaryOp { op, expr } => {
                let it = self.expr(expr)?;
                let (sql, field) = match op {
                    UnaryOperator::Not => (format!("(NOT {})", it.sql), numeric_field("int")),
                    UnaryOperator::Minus => (format!("(-{})", it.sql), arith(&it.field, None)),
                    UnaryOperator::Plus => (format!("(+{})", it.sql), arith(&it.field, None)),
                    other => {
                        self.unsupported(&format!("the operator {other}"), loc);
                        return None;
                    }
                };
                Some(Item { sql, field })
            }
            Expr::BinaryOp { left, op, right } => {
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
                        self.unsupported(&format!("the operator {other}"), loc);
                        return None;
                    }
                };
                let l = self.expr(left);
                let r = self.expr(right);
                let (l, r) = (l?, r?);
                let field = match sym {
                    "+" | "-" | "*" | "/" => arith(&l.field, Some(&r.field)),
                    "||" => FieldMeta {
                        datatype: "char".into(),
                        arraysize: Some("*".into()),
                        ..Default::default()
                    },
                    _ => numeric_field("int"),
                };
                Some(Item {
                    sql: format!("({} {sym} {})", l.sql, r.sql),
                    field,
                })
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (a, b, c) = (self.expr(expr), self.expr(low), self.expr(high));
                let (a, b, c) = (a?, b?, c?);
                let not = if *negated { "NOT " } else { "" };
                Some(Item {
                    sql: format!("({} {not}BETWEEN {} AND {})", a.sql, b.sql, c.sql),
                    field: numeric_field("int"),
                })
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
                    self.unsupported("LIKE ANY / ESCAPE", loc);
                    return None;
                }
                let (a, p) = (self.expr(expr), self.expr(pattern));
                let (a, p) = (a?, p?);
                let not = if *negated { "NOT " } else { "" };
                let sql = if matches!(e, Expr::ILike { .. }) {
                    format!("(lower({}) {not}LIKE lower({}))", a.sql, p.sql)
                } else {
                    format!("({} {not}LIKE {})", a.sql, p.sql)
                };
                Some(Item {
                    sql,
                    field: numeric_field("int"),
                })
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let it = self.expr(inner)?;
                let op = if matches!(e, Expr::IsNull(_)) {
                    "IS NULL"
                } else {
                    "IS NOT NULL"
                };
                Some(Item {
                    sql: format!("({} {op})", it.sql),
                    field: numeric_field("int"),
                })
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let a = self.expr(expr);
                let mut parts = Vec::new();
                for x in list {
                    parts.push(self.expr(x).map(|i| i.sql));
                }
                let a = a?;
                let parts: Option<Vec<String>> = parts.into_iter().collect();
                let not = if *negated { "NOT " } else { "" };
                Some(Item {
                    sql: format!("({} {not}IN ({}))", a.sql, parts?.join(", ")),
                    field: numeric_field("int"),
                })
            }
            Expr::Function(f) => self.function(f, loc),
            other => {
                let text = other.to_string();
                let short: String = text.chars().take(40).collect();
                self.unsupported(&format!("the expression '{short}'"), loc);
                None
            }
        }
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
            "COUNT" if is_star => Some(Item {
                sql: "COUNT(*)".into(),
                field: numeric_field("long"),
            }),
            "CONTAINS" => {
                let [a, b] = args.as_slice() else {
                    self.err(format!("CONTAINS takes 2 arguments{}", at(loc)));
                    return None;
                };
                let p = self.geometry(a, "POINT", 2);
                let c = self.geometry(b, "CIRCLE", 3);
                let (p, c) = (p?, c?);
                Some(Item {
                    sql: self
                        .dialect
                        .contains_point_circle(&p[0], &p[1], &c[0], &c[1], &c[2]),
                    field: numeric_field("int"),
                })
            }
            "DISTANCE" => {
                let (p1, p2) = match args.as_slice() {
                    [a, b] => {
                        let (x, y) = (self.geometry(a, "POINT", 2), self.geometry(b, "POINT", 2));
                        (x?, y?)
                    }
                    [a, b, c, d] => {
                        let v: Vec<Option<Item>> =
                            [a, b, c, d].iter().map(|x| self.expr(x)).collect();
                        let v: Option<Vec<Item>> = v.into_iter().collect();
                        let v: Vec<String> = v?.into_iter().map(|i| i.sql).collect();
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
                })
            }
            "POINT" | "CIRCLE" | "POLYGON" | "BOX" | "REGION" | "INTERSECTS" | "AREA"
            | "CENTROID" | "COORD1" | "COORD2" | "COORDSYS" => {
                self.err(format!(
                    "{name}{} is not supported here: this service supports CONTAINS(POINT, CIRCLE) and DISTANCE(POINT, POINT)",
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

    /// The numeric SQL arguments of POINT (ra, dec) or CIRCLE (ra, dec, radius), with the
    /// optional leading coordinate-system string of ADQL 2.0 checked to be ICRS.
    fn geometry(&mut self, e: &Expr, want: &str, n: usize) -> Option<Vec<String>> {
        let loc = e.span().start;
        let Expr::Function(f) = e else {
            self.err(format!("expected {want}(...){}", at(loc)));
            return None;
        };
        let fname = object_idents(&f.name)
            .and_then(|v| v.first().map(|i| i.value.to_ascii_uppercase()))
            .unwrap_or_default();
        if fname != want {
            self.err(format!(
                "expected {want}(...){}, found {fname}: this service supports CONTAINS(POINT, CIRCLE)",
                at(loc)
            ));
            return None;
        }
        let args = self.function_args(f)?;
        let nums: &[&Expr] = if args.len() == n + 1 {
            match args[0] {
                Expr::Value(v) => match &v.value {
                    SqlValue::SingleQuotedString(cs) => {
                        let norm = cs.trim().to_ascii_uppercase();
                        if !(norm.is_empty() || norm.starts_with("ICRS") || norm == "J2000") {
                            self.err(format!(
                                "coordinate system '{cs}'{} is not supported: positions are ICRS",
                                at(v.span.start)
                            ));
                            return None;
                        }
                    }
                    _ => {
                        self.err(format!(
                            "the first argument of {want}{} must be a coordinate system string such as 'ICRS'",
                            at(loc)
                        ));
                        return None;
                    }
                },
                _ => {
                    self.err(format!(
                        "the first argument of {want}{} must be a coordinate system string such as 'ICRS'",
                        at(loc)
                    ));
                    return None;
                }
            }
            &args[1..]
        } else if args.len() == n {
            &args[..]
        } else {
            self.err(format!(
                "{want}{} takes {n} numeric arguments (after an optional coordinate system)",
                at(loc)
            ));
            return None;
        };
        let mut out = Vec::new();
        for a in nums {
            let it = self.expr(a)?;
            if it.field.datatype == "char" {
                self.err(format!(
                    "{want} arguments must be numbers{}",
                    at(a.span().start)
                ));
                return None;
            }
            out.push(it.sql);
        }
        Some(out)
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
