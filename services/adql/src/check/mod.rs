//! The checker: resolves every table, alias and column of a parsed query against the
//! [`Catalog`] and the query's own CTEs and subqueries, types every value, derives the output
//! column metadata, and builds the [`ir`](crate::ir). All errors of a query are collected
//! (every unknown name at once), each with its position.
//!
//! Where SQL dialects differ, the checker enforces PostgreSQL's rules so that SQLite gives the
//! same answers: a grouped query may select only grouping expressions and aggregates; with
//! DISTINCT or a set operation ORDER BY names output columns; a name twice in one FROM is an
//! error.

mod expr;
mod functions;
mod geometry;
mod udf;
pub use functions::RAND_MODULUS;
pub(crate) use geometry::literal_geometry;
pub use udf::{udf_signatures, Udf, UDFS};

use std::borrow::Cow;
use std::collections::HashSet;

use vo_common::FieldMeta;

use crate::ast::*;
use crate::catalog::{names_published, unquoted, Catalog, TableInfo, UPLOAD_SCHEMA};
use crate::diag::{Diagnostic, Span};
use crate::ir::*;
use crate::scope::*;

/// How many output columns one query may have.
pub const MAX_COLUMNS: usize = 1000;
/// How many terms one arithmetic or concatenation chain may have (`1 + 2 + ...`): SQL
/// parsers nest such chains one level per term, and SQLite stops at 1000 levels.
pub const MAX_TERMS: usize = 500;

/// Why ORDER BY refuses a geometry.
const NO_GEOMETRY_ORDER: &str =
    "ORDER BY cannot sort by a geometry: sort by a coordinate or a DISTANCE";

/// The ADQL type family of a value, for type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A number.
    Number,
    /// A string.
    Text,
    /// A condition (comparison, LIKE, IN, AND/OR/NOT ...): valid in WHERE, not as a value.
    Bool,
    /// The NULL literal, compatible with every kind.
    Null,
    /// A geometry value (POINT, CIRCLE, POLYGON in a SELECT list; a column of DALI xtype
    /// point, circle or polygon): selected and passed on, never compared or computed with.
    Geometry,
}

impl Kind {
    /// The kind of a column with this metadata.
    pub fn of(field: &FieldMeta) -> Kind {
        if field
            .xtype
            .as_deref()
            .is_some_and(vo_common::sky::is_dali_geometry)
        {
            return Kind::Geometry;
        }
        match field.datatype.as_str() {
            "char" | "unicodeChar" => Kind::Text,
            "boolean" => Kind::Bool,
            _ => Kind::Number,
        }
    }

    /// How messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Text => "a string",
            Kind::Bool => "a condition",
            Kind::Null => "NULL",
            Kind::Geometry => "a geometry",
        }
    }

    /// Whether values of the two kinds can be compared or combined (geometries never are).
    pub fn fits(self, other: Kind) -> bool {
        self != Kind::Geometry
            && other != Kind::Geometry
            && (self == other || self == Kind::Null || other == Kind::Null)
    }
}

/// A checked value: its node, output metadata and kind, and whether it holds an aggregate.
#[derive(Debug, Clone)]
pub struct Typed<'a> {
    /// The checked expression.
    pub node: Node<'a>,
    /// The FIELD metadata it would have as an output column (borrowed from the catalog for a
    /// published column).
    pub field: Cow<'a, FieldMeta>,
    /// Its type family.
    pub kind: Kind,
    /// Whether it contains a set function (COUNT, SUM ...) of this query level.
    pub aggregate: bool,
}

/// A common table expression the query defined.
#[derive(Debug, Clone)]
struct CteDef {
    name: Ident,
    sql: String,
    fields: Vec<FieldMeta>,
    names: Vec<Ident>,
}

/// One visible column of a FROM item, for `*` and USING/NATURAL: a column of a source of the
/// current frame, or a column a join merged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Vis {
    /// (source index, column index).
    Col(usize, usize),
    /// Index into the frame's merged columns.
    Merged(usize),
}

/// A checked SELECT: the SELECT, the ORDER BY of its query, the output fields, the names
/// outer queries use for them, and which of them are the NULL literal.
type SelectOut<'a> = (
    SelectIr<'a>,
    Vec<OrderIr<'a>>,
    Vec<FieldMeta>,
    Vec<Ident>,
    Vec<bool>,
);

/// The checked output of one query level.
pub struct Checked<'a> {
    /// The query.
    pub query: QueryIr<'a>,
    /// How outer queries name each output column.
    pub names: Vec<Ident>,
    /// Which output columns are the NULL literal in every row (they take the type of the
    /// other side of a set operation).
    pub nulls: Vec<bool>,
}

/// The checker's state for one query.
pub struct Checker<'a> {
    catalog: &'a dyn Catalog,
    frames: Vec<Frame<'a>>,
    ctes: Vec<CteDef>,
    /// The errors found so far.
    pub diags: Vec<Diagnostic>,
    aliases: usize,
    /// Whether set functions are allowed where the checker is (SELECT list, HAVING, ORDER BY).
    aggregates_allowed: bool,
    /// Whether the checker is inside a set function's argument.
    in_aggregate: bool,
    /// The query text, for quoting it in messages.
    source: String,
    /// How many RAND(seed) calls were checked: each has a sequence of its own.
    rand_sites: usize,
}

fn plain_ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        quoted: false,
        span: Span::default(),
    }
}

/// How an outer query names a column published as `name` (`"size"` is delimited).
/// Whether two names, given as (name, quoted), are the same name as SQL folds them: a
/// regular identifier to lower case, a delimited one exact.
fn same_key(a: (&str, bool), b: (&str, bool)) -> bool {
    // `exact` equals `folded` once folded to lower case.
    let eq_folded = |exact: &str, folded: &str| {
        exact.len() == folded.len()
            && exact
                .bytes()
                .zip(folded.bytes())
                .all(|(x, y)| x == y.to_ascii_lowercase())
    };
    match (a.1, b.1) {
        (true, true) => a.0 == b.0,
        (false, false) => a.0.eq_ignore_ascii_case(b.0),
        (true, false) => eq_folded(a.0, b.0),
        (false, true) => eq_folded(b.0, a.0),
    }
}

/// The name a FROM item is known by in its FROM clause, as (name, quoted).
fn source_key<'s>(s: &'s Source<'_>) -> Option<(&'s str, bool)> {
    match (&s.alias, s.table, &s.cte) {
        (Some(a), _, _) => Some((&a.name, a.quoted)),
        (None, Some(t), _) => {
            let name = unquoted(&t.name);
            Some((name, name.len() != t.name.len()))
        }
        (None, None, Some(c)) => Some((&c.name, c.quoted)),
        _ => None,
    }
}

/// Whether two declared names are the same name (as SQL folds them).
fn same_name(a: &Ident, b: &Ident) -> bool {
    same_key((&a.name, a.quoted), (&b.name, b.quoted))
}

impl<'a> Checker<'a> {
    /// A checker over `catalog` for the query `source` (quoted in messages).
    pub fn new(catalog: &'a dyn Catalog, source: &str) -> Checker<'a> {
        Checker {
            source: source.to_string(),
            catalog,
            frames: Vec::new(),
            ctes: Vec::new(),
            diags: Vec::new(),
            aliases: 0,
            aggregates_allowed: false,
            in_aggregate: false,
            rand_sites: 0,
        }
    }

    /// The query text under `span`.
    fn text(&self, span: Span) -> String {
        self.source
            .get(span.start.offset..span.end.offset)
            .unwrap_or("")
            .to_string()
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::check(span, msg));
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// Check a whole query (with its WITH clause).
    pub fn query(&mut self, q: &Query) -> Option<Checked<'a>> {
        let mut ctes = Vec::new();
        let outer_ctes = self.ctes.len();
        for c in &q.with {
            if self.ctes[outer_ctes..]
                .iter()
                .any(|d| same_name(&d.name, &c.name))
            {
                self.err(c.name.span, format!("WITH defines '{}' twice", c.name));
                continue;
            }
            let Some(checked) = self.query(&c.query) else {
                continue;
            };
            let sql = self.alias("_cte");
            self.ctes.push(CteDef {
                name: c.name.clone(),
                sql: sql.clone(),
                fields: checked.query.fields.clone(),
                names: checked.names,
            });
            ctes.push((sql, checked.query));
        }
        let out = self.query_body(q);
        self.ctes.truncate(outer_ctes);
        let mut out = out?;
        out.query.ctes = ctes;
        Some(out)
    }

    /// The body, ORDER BY and OFFSET of a query (its CTEs are already defined).
    fn query_body(&mut self, q: &Query) -> Option<Checked<'a>> {
        let offset = q.offset.map(|(n, _)| n);
        match &q.body {
            SetExpr::Select(s) => {
                let (select, order_by, fields, names, nulls) = self.select(s, &q.order_by)?;
                Some(Checked {
                    query: QueryIr {
                        ctes: Vec::new(),
                        body: BodyIr::Select(Box::new(select)),
                        order_by,
                        offset,
                        fields,
                    },
                    names,
                    nulls,
                })
            }
            SetExpr::Query(inner) if q.order_by.is_empty() && offset.is_none() => self.query(inner),
            body => {
                let checked = self.set_body(body)?;
                let order_by = self.output_order(&q.order_by, &checked.names, "a set operation")?;
                let Checked {
                    query,
                    names,
                    nulls,
                } = checked;
                let fields = query.fields.clone();
                Some(Checked {
                    query: QueryIr {
                        ctes: Vec::new(),
                        body: BodyIr::Query(Box::new(query)),
                        order_by,
                        offset,
                        fields,
                    },
                    names,
                    nulls,
                })
            }
        }
    }

    /// A set expression operand or a parenthesised query, as a whole query.
    fn set_body(&mut self, b: &SetExpr) -> Option<Checked<'a>> {
        match b {
            SetExpr::Select(s) => {
                let (select, order_by, fields, names, nulls) = self.select(s, &[])?;
                Some(Checked {
                    query: QueryIr {
                        ctes: Vec::new(),
                        body: BodyIr::Select(Box::new(select)),
                        order_by,
                        offset: None,
                        fields,
                    },
                    names,
                    nulls,
                })
            }
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOp {
                op,
                all,
                left,
                right,
                span,
            } => {
                let (l, r) = (self.set_body(left), self.set_body(right));
                let (mut l, mut r) = (l?, r?);
                if l.query.fields.len() != r.query.fields.len() {
                    self.err(
                        *span,
                        format!(
                            "the two sides of {} have {} and {} columns",
                            op.keyword(),
                            l.query.fields.len(),
                            r.query.fields.len()
                        ),
                    );
                    return None;
                }
                let mut fields = l.query.fields.clone();
                let mut nulls = Vec::with_capacity(fields.len());
                let (lf, rf) = (l.query.fields.clone(), r.query.fields.clone());
                for (i, (a, b)) in lf.iter().zip(&rf).enumerate() {
                    let (na, nb) = (l.nulls[i], r.nulls[i]);
                    let kind =
                        |null: bool, f: &FieldMeta| if null { Kind::Null } else { Kind::of(f) };
                    let (ka, kb) = (kind(na, a), kind(nb, b));
                    nulls.push(na && nb);
                    if na != nb {
                        // A NULL column takes the type of the other side; its NULLs are cast
                        // to it (PostgreSQL reads an untyped NULL in a subquery as text).
                        let typed = if na { b } else { a };
                        if let Some(target) = cast_target(typed) {
                            type_nulls(if na { &mut l.query } else { &mut r.query }, i, target);
                        }
                        if na {
                            fields[i] = b.clone();
                            fields[i].name = a.name.clone();
                        }
                        continue;
                    }
                    let same_geometry = ka == Kind::Geometry && kb == Kind::Geometry && {
                        let x = |f: &FieldMeta| f.xtype.as_deref().map(str::to_ascii_lowercase);
                        x(a) == x(b)
                    };
                    if !ka.fits(kb) && !same_geometry {
                        // Geometries are named by their xtype (a point, a circle).
                        let name = |k: Kind, f: &FieldMeta| match (k, f.xtype.as_deref()) {
                            (Kind::Geometry, Some(x)) => format!("a {x}"),
                            _ => k.describe().to_string(),
                        };
                        self.err(
                            *span,
                            format!(
                                "column {} of {} is {} on the left and {} on the right",
                                i + 1,
                                op.keyword(),
                                name(ka, a),
                                name(kb, b)
                            ),
                        );
                    }
                    if a.datatype != b.datatype && ka == Kind::Number && kb == Kind::Number {
                        fields[i] = expr::numeric_field(expr::wider(&a.datatype, &b.datatype));
                        fields[i].name = a.name.clone();
                    }
                }
                Some(Checked {
                    query: QueryIr {
                        ctes: Vec::new(),
                        body: BodyIr::SetOp {
                            op: *op,
                            all: *all,
                            left: Box::new(l.query),
                            right: Box::new(r.query),
                        },
                        order_by: Vec::new(),
                        offset: None,
                        fields,
                    },
                    names: l.names,
                    nulls,
                })
            }
        }
    }

    /// ORDER BY terms that may only name output columns (by name or position).
    fn output_order(
        &mut self,
        terms: &[OrderTerm],
        names: &[Ident],
        what: &str,
    ) -> Option<Vec<OrderIr<'a>>> {
        let mut out = Vec::new();
        for t in terms {
            match self.order_position(&t.expr, names) {
                Some(Ok(i)) => out.push(OrderIr {
                    key: OrderKey::Position(i),
                    desc: t.desc,
                }),
                Some(Err(())) => return None,
                None => {
                    self.err(
                        t.expr.span,
                        format!(
                            "ORDER BY of {what} must name an output column or give its position"
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// An ORDER BY term that is a position (`2`) or an output name: `Some(Ok(position))`;
    /// `Some(Err)` after an error; `None` when it is neither.
    fn order_position(&mut self, e: &Expr, names: &[Ident]) -> Option<Result<usize, ()>> {
        self.order_position_of(e, names, None)
    }

    /// [`Self::order_position`], where several output columns of the name that are the same
    /// value (`nodes`) count as one, as in PostgreSQL.
    fn order_position_of(
        &mut self,
        e: &Expr,
        names: &[Ident],
        nodes: Option<&[Node<'a>]>,
    ) -> Option<Result<usize, ()>> {
        match &e.kind {
            ExprKind::Number { text, int: true } => match text.parse::<usize>() {
                Ok(i) if i >= 1 && i <= names.len() => Some(Ok(i)),
                _ => {
                    self.err(
                        e.span,
                        format!("ORDER BY {text}: there are {} output columns", names.len()),
                    );
                    Some(Err(()))
                }
            },
            ExprKind::Column(n) if n.parts.len() == 1 => {
                let hits: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| names_declared(d, n.last()))
                    .map(|(i, _)| i + 1)
                    .collect();
                let same_value = |hits: &[usize]| {
                    nodes.is_some_and(|n| hits.iter().all(|h| n.get(h - 1) == n.get(hits[0] - 1)))
                };
                match hits.as_slice() {
                    [] => None,
                    [i] => Some(Ok(*i)),
                    [i, ..] if same_value(&hits) => Some(Ok(*i)),
                    _ => {
                        self.err(
                            e.span,
                            format!(
                                "ORDER BY {}: several output columns have this name",
                                n.last()
                            ),
                        );
                        Some(Err(()))
                    }
                }
            }
            _ => None,
        }
    }

    /// One SELECT with the ORDER BY terms of its query: the SELECT, the ORDER BY, the output
    /// fields and their names.
    fn select(&mut self, s: &Select, order_by: &[OrderTerm]) -> Option<SelectOut<'a>> {
        self.frames.push(Frame::default());
        let out = self.select_in_frame(s, order_by);
        self.frames.pop();
        out
    }

    fn select_in_frame(&mut self, s: &Select, order_by: &[OrderTerm]) -> Option<SelectOut<'a>> {
        let errors_before = self.diags.len();
        // FROM
        let mut from = Vec::new();
        let mut visible: Vec<Vec<Vis>> = Vec::new();
        for t in &s.from {
            if let Some((f, v)) = self.table_ref(t) {
                from.push(f);
                visible.push(v);
            }
        }
        if from.len() < s.from.len() {
            return None;
        }
        // Select list.
        let saved = (self.aggregates_allowed, self.in_aggregate);
        self.aggregates_allowed = true;
        let mut items: Vec<Typed<'a>> = Vec::new();
        let mut names: Vec<Ident> = Vec::new();
        for (i, item) in s.items.iter().enumerate() {
            match item {
                SelectItem::Wildcard(_) => {
                    for v in visible.iter().flatten() {
                        let (node, field, ident) = self.vis(*v)?;
                        items.push(Typed {
                            kind: Kind::of(&field),
                            node,
                            field,
                            aggregate: false,
                        });
                        names.push(ident);
                    }
                }
                SelectItem::QualifiedWildcard(name) => {
                    let frame = self.frames.last()?;
                    match frame.sources.iter().find(|src| src.named_by(&name.parts)) {
                        Some(src) => {
                            for c in &src.columns {
                                items.push(Typed {
                                    node: column_node(src, c),
                                    field: c.field.clone(),
                                    kind: Kind::of(&c.field),
                                    aggregate: false,
                                });
                                names.push(c.ident());
                            }
                        }
                        None => self.err(
                            name.span(),
                            format!("'{name}.*' does not name a table in FROM"),
                        ),
                    }
                }
                SelectItem::Expr { expr, alias } => {
                    let Some(mut t) = self.value(expr) else {
                        continue;
                    };
                    let ident = match (alias, &expr.kind) {
                        (Some(a), _) => a.clone(),
                        (None, ExprKind::Column(n)) => Ident {
                            name: t.field.name.clone(),
                            quoted: n.last().quoted,
                            span: n.last().span,
                        },
                        (None, _) => plain_ident(&expr::default_name(expr, i)),
                    };
                    t.field.to_mut().name = ident.name.clone();
                    items.push(t);
                    names.push(ident);
                }
            }
        }
        if items.len() > MAX_COLUMNS {
            self.err(
                s.span,
                format!(
                    "the query selects {} columns; the limit is {MAX_COLUMNS}",
                    items.len()
                ),
            );
            return None;
        }
        // WHERE
        self.aggregates_allowed = false;
        let where_ = s.where_.as_ref().and_then(|w| self.condition(w, "WHERE"));
        // GROUP BY: input columns first, then output names and positions (as PostgreSQL).
        let mut group_by = Vec::new();
        for g in &s.group_by {
            if let Some(node) = self.group_term(g, &items, &names) {
                group_by.push(node);
            }
        }
        // HAVING
        self.aggregates_allowed = true;
        let having = s.having.as_ref().and_then(|h| self.condition(h, "HAVING"));
        // ORDER BY: output names and positions first, then expressions (as PostgreSQL).
        let mut order = Vec::new();
        let mut order_nodes = Vec::new();
        let item_nodes: Vec<Node<'a>> = items.iter().map(|t| t.node.clone()).collect();
        for t in order_by {
            match self.order_position_of(&t.expr, &names, Some(&item_nodes)) {
                Some(Ok(i)) if items.get(i - 1).is_some_and(|it| it.kind == Kind::Geometry) => {
                    self.err(t.expr.span, NO_GEOMETRY_ORDER);
                }
                Some(Ok(i)) => order.push(OrderIr {
                    key: OrderKey::Position(i),
                    desc: t.desc,
                }),
                Some(Err(())) => {}
                None => {
                    if is_constant(&t.expr) {
                        let text = self.text(t.expr.span);
                        self.err(
                            t.expr.span,
                            format!("ORDER BY {text}: give a column, an output name or a position from 1 to {}", names.len()),
                        );
                        continue;
                    }
                    if let Some(v) = self.value(&t.expr) {
                        if v.kind == Kind::Bool {
                            self.err(t.expr.span, "ORDER BY takes a value, not a condition");
                            continue;
                        }
                        if v.kind == Kind::Geometry {
                            self.err(t.expr.span, NO_GEOMETRY_ORDER);
                            continue;
                        }
                        if s.distinct {
                            match items.iter().position(|it| it.node == v.node) {
                                Some(i) => {
                                    order.push(OrderIr {
                                        key: OrderKey::Position(i + 1),
                                        desc: t.desc,
                                    });
                                    continue;
                                }
                                None => {
                                    self.err(
                                        t.expr.span,
                                        "with SELECT DISTINCT, ORDER BY must name a selected column",
                                    );
                                    continue;
                                }
                            }
                        }
                        order_nodes.push((v.node.clone(), v.aggregate, t.expr.span));
                        order.push(OrderIr {
                            key: OrderKey::Expr(v.node),
                            desc: t.desc,
                        });
                    }
                }
            }
        }
        (self.aggregates_allowed, self.in_aggregate) = saved;
        // Grouping: every value outside a set function must be a grouping expression.
        let grouped = !group_by.is_empty()
            || items.iter().any(|i| i.aggregate)
            || having.is_some()
            || order_nodes.iter().any(|o| o.1);
        if grouped {
            let own: HashSet<String> = self
                .frames
                .last()
                .map(|f| f.sources.iter().map(|s| s.qualifier.to_string()).collect())
                .unwrap_or_default();
            let mut checks: Vec<(&Node, Span, &str)> = Vec::new();
            for (it, item) in items.iter().zip(s.items.iter().cycle()) {
                let span = match item {
                    SelectItem::Expr { expr, .. } => expr.span,
                    SelectItem::Wildcard(sp) => *sp,
                    SelectItem::QualifiedWildcard(n) => n.span(),
                };
                checks.push((&it.node, span, "the select list"));
            }
            if let (Some(h), Some(hx)) = (&having, &s.having) {
                checks.push((&h.node, hx.span, "HAVING"));
            }
            for (n, _, sp) in &order_nodes {
                checks.push((n, *sp, "ORDER BY"));
            }
            let mut bad = Vec::new();
            for (node, span, place) in checks {
                if let Some(col) = ungrouped(node, &group_by, &own) {
                    bad.push((span, place, col));
                }
            }
            for (span, place, col) in bad {
                self.err(
                    span,
                    format!("{col} in {place} must be in GROUP BY or inside a set function (COUNT, SUM, AVG, MIN, MAX)"),
                );
            }
        }
        if self.diags.len() > errors_before {
            return None;
        }
        let fields = unique_fields(&items);
        let nulls: Vec<bool> = items.iter().map(|t| t.kind == Kind::Null).collect();
        // Outer queries name the columns as declared: two columns of one name are then
        // ambiguous there, as in PostgreSQL (the output fields still get unique names).
        Some((
            SelectIr {
                distinct: s.distinct,
                top: s.top.map(|(n, _)| n),
                items: items.into_iter().map(|t| t.node).collect(),
                from,
                where_: where_.map(|t| t.node),
                group_by,
                having: having.map(|t| t.node),
            },
            order,
            fields,
            names,
            nulls,
        ))
    }

    fn group_term(&mut self, g: &Expr, items: &[Typed<'a>], names: &[Ident]) -> Option<Node<'a>> {
        if let ExprKind::Number { text, int: true } = &g.kind {
            return match text.parse::<usize>() {
                Ok(i) if i >= 1 && i <= items.len() => Some(items[i - 1].node.clone()),
                _ => {
                    self.err(
                        g.span,
                        format!("GROUP BY {text}: there are {} output columns", items.len()),
                    );
                    None
                }
            };
        }
        if let ExprKind::Column(n) = &g.kind {
            if n.parts.len() == 1 && !self.resolvable(n.last()) {
                if let Some(i) = names.iter().position(|d| names_declared(d, n.last())) {
                    if items[i].aggregate {
                        self.err(g.span, "GROUP BY cannot use a set function");
                        return None;
                    }
                    return Some(items[i].node.clone());
                }
            }
        }
        let t = self.value(g)?;
        if t.kind == Kind::Bool {
            self.err(g.span, "GROUP BY takes a value, not a condition");
            return None;
        }
        Some(t.node)
    }

    /// Whether an unqualified name resolves to a column in any frame.
    fn resolvable(&self, id: &Ident) -> bool {
        self.frames
            .iter()
            .rev()
            .any(|f| !matches!(f.find(id), Found::Nothing))
    }

    /// One FROM item: registers its sources in the current frame and returns it with its
    /// visible columns (for `*`, USING and NATURAL).
    fn table_ref(&mut self, t: &TableRef) -> Option<(FromIr<'a>, Vec<Vis>)> {
        match t {
            TableRef::Table { name, alias } => self.table(name, alias.as_ref()),
            TableRef::Derived { query, alias } => {
                // A derived table sees the outer queries, not its siblings in this FROM.
                let siblings = std::mem::take(self.frames.last_mut()?);
                let checked = self.query(query);
                *self.frames.last_mut()? = siblings;
                let checked = checked?;
                let qualifier = self.alias("t");
                let columns = named_columns(&checked.query.fields, &checked.names);
                let source = Source {
                    alias: Some(alias.clone()),
                    table: None,
                    cte: None,
                    qualifier: qualifier.as_str().into(),
                    columns,
                };
                let vis = self.add_source(source, alias.span)?;
                Some((
                    FromIr::Derived {
                        query: Box::new(checked.query),
                        alias: qualifier,
                    },
                    vis,
                ))
            }
            TableRef::Join {
                kind,
                natural,
                left,
                right,
                cond,
                ..
            } => self.join(*kind, *natural, left, right, cond),
        }
    }

    fn add_source(&mut self, source: Source<'a>, span: Span) -> Option<Vec<Vis>> {
        let frame = self.frames.last_mut()?;
        let clash = frame.sources.iter().find(|s| {
            matches!((source_key(s), source_key(&source)), (Some(a), Some(b)) if same_key(a, b))
        });
        if let Some(c) = clash {
            let msg = format!(
                "{} and {} have the same name in FROM; give one of them an alias (AS ...)",
                c.display(),
                source.display()
            );
            self.err(span, msg);
            return None;
        }
        let si = frame.sources.len();
        let vis = (0..source.columns.len())
            .map(|ci| Vis::Col(si, ci))
            .collect();
        frame.sources.push(source);
        Some(vis)
    }

    /// The node, metadata and name of a visible column.
    fn vis(&self, v: Vis) -> Option<(Node<'a>, Cow<'a, FieldMeta>, Ident)> {
        let frame = self.frames.last()?;
        Some(match v {
            Vis::Col(si, ci) => {
                let s = frame.sources.get(si)?;
                let c = s.columns.get(ci)?;
                (column_node(s, c), c.field.clone(), c.ident())
            }
            Vis::Merged(mi) => {
                let m = frame.merged.get(mi)?;
                (m.node.clone(), Cow::Owned(m.field.clone()), m.name.clone())
            }
        })
    }

    /// The name of a visible column.
    fn vis_ident(&self, v: Vis) -> Option<Ident> {
        let frame = self.frames.last()?;
        match v {
            Vis::Col(si, ci) => Some(frame.sources.get(si)?.columns.get(ci)?.ident()),
            Vis::Merged(mi) => Some(frame.merged.get(mi)?.name.clone()),
        }
    }

    /// The source columns a visible column stands for.
    fn vis_origin(&self, v: Vis) -> Vec<(usize, usize)> {
        match v {
            Vis::Col(si, ci) => vec![(si, ci)],
            Vis::Merged(mi) => self
                .frames
                .last()
                .and_then(|f| f.merged.get(mi))
                .map(|m| m.hides.clone())
                .unwrap_or_default(),
        }
    }

    fn table(&mut self, name: &Name, alias: Option<&Ident>) -> Option<(FromIr<'a>, Vec<Vis>)> {
        let qualifier = self.alias("t");
        // A CTE, by its unqualified name (the innermost definition wins).
        if name.parts.len() == 1 {
            if let Some(cte) = self
                .ctes
                .iter()
                .rev()
                .find(|c| names_declared(&c.name, name.last()))
                .cloned()
            {
                let columns = named_columns(&cte.fields, &cte.names);
                let source = Source {
                    alias: alias.cloned(),
                    table: None,
                    cte: Some(cte.name.clone()),
                    qualifier: qualifier.as_str().into(),
                    columns,
                };
                let vis = self.add_source(source, name.span())?;
                return Some((
                    FromIr::Cte {
                        name: cte.sql,
                        alias: qualifier,
                    },
                    vis,
                ));
            }
        }
        let parts = &name.parts;
        let catalog = self.catalog;
        let upload = parts.len() == 2 && parts[0].name.eq_ignore_ascii_case(UPLOAD_SCHEMA);
        if upload
            && !catalog
                .uploads()
                .iter()
                .any(|t| names_published(&parts[1], &t.name))
        {
            let given: Vec<String> = catalog
                .uploads()
                .iter()
                .map(|t| t.qualified_name())
                .collect();
            let hint = if given.is_empty() {
                "no table was uploaded with this query: upload one with UPLOAD=name,param:part \
                 or UPLOAD=name,URL"
                    .to_string()
            } else {
                format!("this query uploads {}", given.join(", "))
            };
            self.diags.push(
                Diagnostic::check(name.span(), format!("table '{name}' was not uploaded"))
                    .with_hint(hint),
            );
            return None;
        }
        let tables = if upload {
            catalog.uploads()
        } else {
            catalog.tables()
        };
        let found: Vec<&'a TableInfo> = tables
            .iter()
            .filter(|t| match parts.as_slice() {
                [s, n] => {
                    t.schema.as_deref().is_some_and(|sn| names_published(s, sn))
                        && names_published(n, &t.name)
                }
                [n] => names_published(n, &t.name),
                _ => false,
            })
            .collect();
        let table = match found.as_slice() {
            [t] => *t,
            [] => {
                self.diags.push(
                    Diagnostic::check(name.span(), format!("table '{name}' does not exist"))
                        .with_hint("see TAP_SCHEMA.tables"),
                );
                return None;
            }
            _ => {
                self.err(
                    name.span(),
                    format!("table name '{name}' is ambiguous: qualify it with its schema"),
                );
                return None;
            }
        };
        let columns = table
            .columns
            .iter()
            .map(|c| SourceColumn {
                name: ColName::Published(&c.name),
                field: std::borrow::Cow::Borrowed(&c.field),
                target: Target::Published(table, c),
            })
            .collect();
        let source = Source {
            alias: alias.cloned(),
            table: Some(table),
            cte: None,
            qualifier: qualifier.as_str().into(),
            columns,
        };
        let vis = self.add_source(source, name.span())?;
        Some((
            FromIr::Table {
                table,
                alias: qualifier,
            },
            vis,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        kind: JoinKind,
        natural: bool,
        left: &TableRef,
        right: &TableRef,
        cond: &JoinCond,
    ) -> Option<(FromIr<'a>, Vec<Vis>)> {
        let first_source = self.frames.last()?.sources.len();
        let first_merged = self.frames.last()?.merged.len();
        let (l, r) = (self.table_ref(left), self.table_ref(right));
        let ((lir, lvis), (rir, rvis)) = (l?, r?);
        // The names of the visible columns of both sides (for USING and NATURAL only).
        let names_of = |vis: &[Vis]| -> Vec<Ident> {
            if matches!(cond, JoinCond::Using(_)) || natural {
                vis.iter().filter_map(|v| self.vis_ident(*v)).collect()
            } else {
                Vec::new()
            }
        };
        let (lnames, rnames) = (names_of(&lvis), names_of(&rvis));
        // The columns to merge: USING's, or NATURAL's common names.
        let using: Vec<Ident> = match cond {
            JoinCond::Using(cols) => cols.clone(),
            JoinCond::None if natural => lnames
                .iter()
                .filter(|l| rnames.iter().any(|r| same_name(l, r)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let mut merged_vis = Vec::new();
        let mut equalities = Vec::new();
        let mut used_left = HashSet::new();
        let mut used_right = HashSet::new();
        for (k, col) in using.iter().enumerate() {
            if using[..k].iter().any(|c| same_name(c, col)) {
                self.err(col.span, format!("'{col}' appears more than once in USING"));
                continue;
            }
            let find = |names: &[Ident]| -> Vec<usize> {
                names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| same_name(n, col) || names_declared(n, col))
                    .map(|(i, _)| i)
                    .collect()
            };
            let (li, ri) = (find(&lnames), find(&rnames));
            let (li, ri) = match (li.as_slice(), ri.as_slice()) {
                ([a], [b]) => (*a, *b),
                ([], _) | (_, []) => {
                    self.err(
                        col.span,
                        format!("USING column '{col}' is not in both tables of the join"),
                    );
                    continue;
                }
                _ => {
                    self.err(
                        col.span,
                        format!("USING column '{col}' is ambiguous in the join"),
                    );
                    continue;
                }
            };
            let ((lnode, lfield, lname), (rnode, rfield, _)) =
                (self.vis(lvis[li])?, self.vis(rvis[ri])?);
            let (lk, rk) = (Kind::of(&lfield), Kind::of(&rfield));
            if !lk.fits(rk) {
                self.err(
                    col.span,
                    format!(
                        "'{col}' is {} on the left and {} on the right of the join",
                        lk.describe(),
                        rk.describe()
                    ),
                );
                continue;
            }
            used_left.insert(li);
            used_right.insert(ri);
            equalities.push(Node::Compare(
                Box::new(lnode.clone()),
                BinOp::Eq,
                Box::new(rnode.clone()),
            ));
            let (node, field) = match kind {
                JoinKind::Right => (rnode, rfield),
                JoinKind::Full => (Node::Coalesce(vec![lnode, rnode]), lfield),
                _ => (lnode, lfield),
            };
            let mut hides = self.vis_origin(lvis[li]);
            hides.extend(self.vis_origin(rvis[ri]));
            let frame = self.frames.last_mut()?;
            frame.merged.push(Merged {
                name: lname,
                field: field.into_owned(),
                node,
                hides,
            });
            merged_vis.push(Vis::Merged(frame.merged.len() - 1));
        }
        let on = match cond {
            JoinCond::On(c) => {
                // ON sees the tables of this join only (and the outer queries).
                let frame = self.frames.last_mut()?;
                let outer_window = frame.window.replace((first_source, first_merged));
                let out = self.condition(c, "ON");
                self.frames.last_mut()?.window = outer_window;
                // After an error in ON the join still stands, so that the rest of the query is
                // checked too (every error is reported at once).
                out.map(|t| t.node)
            }
            _ if !equalities.is_empty() => Some(if equalities.len() == 1 {
                equalities.pop()?
            } else {
                Node::Logic(LogicOp::And, equalities)
            }),
            _ => None,
        };
        let mut vis = merged_vis;
        vis.extend(
            lvis.into_iter()
                .enumerate()
                .filter(|(i, _)| !used_left.contains(i))
                .map(|(_, v)| v),
        );
        vis.extend(
            rvis.into_iter()
                .enumerate()
                .filter(|(i, _)| !used_right.contains(i))
                .map(|(_, v)| v),
        );
        Some((
            FromIr::Join {
                kind,
                left: Box::new(lir),
                right: Box::new(rir),
                on,
            },
            vis,
        ))
    }
}

use crate::catalog::names_declared;

/// The columns of a subquery or CTE with these output fields and names.
fn named_columns<'a>(fields: &[FieldMeta], names: &[Ident]) -> Vec<SourceColumn<'a>> {
    fields
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (f, n))| SourceColumn {
            name: ColName::Declared(n.clone()),
            field: std::borrow::Cow::Owned(f.clone()),
            target: Target::Named(crate::render::sql_column(i)),
        })
        .collect()
}

/// The CAST target of a column of this metadata, for typing NULLs.
fn cast_target(f: &FieldMeta) -> Option<CastTarget> {
    Some(match f.datatype.as_str() {
        "char" | "unicodeChar" => CastTarget::Varchar(None),
        "short" | "unsignedByte" => CastTarget::Smallint,
        "int" => CastTarget::Integer,
        "long" => CastTarget::Bigint,
        "float" => CastTarget::Real,
        "double" => CastTarget::Double,
        _ => return None,
    })
}

/// Cast the NULL literals of output column `i` of `q` (through set operations and
/// parenthesised queries) to `target`.
fn type_nulls(q: &mut QueryIr, i: usize, target: CastTarget) {
    match &mut q.body {
        BodyIr::Select(s) => {
            if let Some(n @ Node::Null) = s.items.get_mut(i) {
                *n = Node::Cast(Box::new(Node::Null), target);
            }
        }
        BodyIr::Query(inner) => type_nulls(inner, i, target),
        BodyIr::SetOp { left, right, .. } => {
            type_nulls(left, i, target);
            type_nulls(right, i, target);
        }
    }
}

/// Whether an expression is a constant (a literal, signed or parenthesised).
fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number { .. } | ExprKind::Hex(_) | ExprKind::Str(_) | ExprKind::Null => true,
        ExprKind::Unary(_, x) | ExprKind::Nested(x) => is_constant(x),
        _ => false,
    }
}

/// The first column of this query level outside GROUP BY and set functions in `node`, if any.
fn ungrouped<'a>(node: &Node<'a>, keys: &[Node<'a>], own: &HashSet<String>) -> Option<String> {
    if keys.iter().any(|k| k == node) {
        return None;
    }
    match node {
        Node::Aggregate { .. } => None,
        Node::Col(c) => own.contains(&*c.qualifier).then(|| match &c.target {
            Target::Published(_, col) => format!("column {}", col.name),
            Target::Named(n) => format!("column {n}"),
        }),
        // A subquery may use the grouped query's columns only where they are grouping
        // columns (PostgreSQL: "subquery uses ungrouped column from outer query").
        Node::Subquery(_) | Node::Exists(_) | Node::InQuery(..) => {
            let mut found = None;
            node.for_each_col(&mut |c| {
                let grouped = keys.iter().any(|k| matches!(k, Node::Col(g) if g == c));
                if found.is_none() && own.contains(&*c.qualifier) && !grouped {
                    found = Some(match &c.target {
                        Target::Published(_, col) => format!("column {}", col.name),
                        Target::Named(n) => format!("column {n}"),
                    });
                }
            });
            found
        }
        other => {
            let mut found = None;
            other.for_each_child(&mut |c| {
                if found.is_none() {
                    found = ungrouped(c, keys, own);
                }
            });
            found
        }
    }
}

/// The output fields of `items` with unique names: a repeated name gets `_2`, `_3` ...
fn unique_fields(items: &[Typed]) -> Vec<FieldMeta> {
    let mut taken: HashSet<String> = HashSet::new();
    items
        .iter()
        .map(|it| {
            let mut f = it.field.clone().into_owned();
            let base = f.name.clone();
            let mut n = 2;
            while taken.contains(&f.name.to_ascii_lowercase()) {
                f.name = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(f.name.to_ascii_lowercase());
            f
        })
        .collect()
}
