//! Rendering the checked query as SQL through a [`SqlDialect`]: only what the checker built
//! can be rendered, and every identifier the SQL holds is either a published name or one the
//! renderer generated.
//!
//! Shapes that differ between backends are rendered one way for both: set operations combine
//! `SELECT * FROM (operand)` wrappers (SQLite cannot parenthesise compound members, and each
//! operand keeps its own TOP and ORDER BY); USING and NATURAL joins are ON equalities; every
//! select item carries its output name as an alias.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::ast::{BinOp, JoinKind, LogicOp, SetOp};
use crate::dialect::{GeoSql, SqlDialect};
use crate::ir::*;

/// Renders one query.
pub struct Renderer<'d> {
    d: &'d dyn SqlDialect,
    wrappers: Cell<usize>,
    /// Table aliases already quoted, by the shared string of their [`ColRef`]s (a query
    /// refers to a handful of tables, many times each).
    quoted: RefCell<Vec<(Rc<str>, Rc<str>)>>,
}

impl<'d> Renderer<'d> {
    /// A renderer for `dialect`.
    pub fn new(d: &'d dyn SqlDialect) -> Renderer<'d> {
        Renderer {
            d,
            wrappers: Cell::new(0),
            quoted: RefCell::new(Vec::new()),
        }
    }

    fn q(&self, name: &str) -> String {
        self.d.quote_ident(name)
    }

    /// The quoted form of a table alias, made once per alias.
    fn q_alias(&self, alias: &Rc<str>) -> Rc<str> {
        let mut cache = self.quoted.borrow_mut();
        if let Some((_, q)) = cache.iter().find(|(a, _)| Rc::ptr_eq(a, alias)) {
            return q.clone();
        }
        let q: Rc<str> = self.q(alias).into();
        cache.push((alias.clone(), q.clone()));
        q
    }

    fn wrapper(&self) -> String {
        self.wrappers.set(self.wrappers.get() + 1);
        self.q(&format!("s{}", self.wrappers.get()))
    }

    /// The SQL of `query`. For the outermost query (`outer`), the TOP of its SELECT and its
    /// OFFSET are left to the caller, who adds them with the row limit (see
    /// [`crate::Translated::sql_with_limit`]).
    pub fn query(&self, query: &QueryIr, outer: bool) -> String {
        let mut sql = String::with_capacity(1024);
        self.write_query(&mut sql, query, outer);
        sql
    }

    /// Append the SQL of `query` to `sql` (see [`Renderer::query`]).
    fn write_query(&self, sql: &mut String, query: &QueryIr, outer: bool) {
        if !query.ctes.is_empty() {
            sql.push_str("WITH ");
            for (i, (name, q)) in query.ctes.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.q(name));
                sql.push_str(" AS (");
                self.write_query(sql, q, false);
                sql.push(')');
            }
            sql.push(' ');
        }
        let top = match &query.body {
            BodyIr::Select(s) => {
                self.select(sql, s);
                s.top
            }
            BodyIr::Query(inner) => {
                sql.push_str("SELECT * FROM (");
                self.write_query(sql, inner, false);
                sql.push_str(") AS ");
                sql.push_str(&self.wrapper());
                None
            }
            BodyIr::SetOp {
                op,
                all: true,
                left,
                right,
            } if *op != SetOp::Union => {
                // INTERSECT ALL and EXCEPT ALL (which SQLite lacks) as the plain operation on
                // rows numbered within each group of equal rows: a row kept n times on one side
                // and m on the other meets min(n, m) (or n - m) partners, as SQL-92 says.
                let numbered = |sql: &mut String, q: &QueryIr| {
                    let w = self.wrapper();
                    let cols: Vec<String> = (0..q.fields.len())
                        .map(|i| format!("{w}.{}", self.q(&sql_column(i))))
                        .collect();
                    let cols = cols.join(", ");
                    sql.push_str(&format!(
                        "SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {cols}) AS {} FROM (",
                        self.q("_n"),
                    ));
                    self.write_query(sql, q, false);
                    sql.push_str(") AS ");
                    sql.push_str(&w);
                };
                let outer = self.wrapper();
                let cols: Vec<String> = (0..query.fields.len())
                    .map(|i| {
                        let c = self.q(&sql_column(i));
                        format!("{outer}.{c} AS {c}")
                    })
                    .collect();
                sql.push_str("SELECT ");
                sql.push_str(&cols.join(", "));
                sql.push_str(" FROM (");
                numbered(sql, left);
                sql.push(' ');
                sql.push_str(op.keyword());
                sql.push(' ');
                numbered(sql, right);
                sql.push_str(") AS ");
                sql.push_str(&outer);
                None
            }
            BodyIr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                sql.push_str("SELECT * FROM (");
                self.write_query(sql, left, false);
                sql.push_str(") AS ");
                sql.push_str(&self.wrapper());
                sql.push(' ');
                sql.push_str(op.keyword());
                if *all {
                    sql.push_str(" ALL");
                }
                sql.push_str(" SELECT * FROM (");
                self.write_query(sql, right, false);
                sql.push_str(") AS ");
                sql.push_str(&self.wrapper());
                None
            }
        };
        if !query.order_by.is_empty() {
            sql.push_str(" ORDER BY ");
            for (i, o) in query.order_by.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                match &o.key {
                    OrderKey::Position(i) => sql.push_str(&i.to_string()),
                    OrderKey::Expr(n) => self.write(sql, n),
                }
                sql.push_str(if o.desc { " DESC" } else { " ASC" });
                sql.push_str(self.d.order_nulls(o.desc));
            }
        }
        if !outer {
            match (top, query.offset) {
                (Some(n), None) => sql.push_str(&self.d.limit(n)),
                (limit, Some(o)) => sql.push_str(&self.d.limit_offset(limit, o)),
                (None, None) => {}
            }
        }
    }

    fn select(&self, sql: &mut String, s: &SelectIr) {
        sql.push_str("SELECT ");
        if s.distinct {
            sql.push_str("DISTINCT ");
        }
        for (i, n) in s.items.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.write(sql, n);
            sql.push_str(" AS ");
            sql.push_str(&self.q(&sql_column(i)));
        }
        sql.push_str(" FROM ");
        for (i, f) in s.from.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.from(sql, f);
        }
        if let Some(w) = &s.where_ {
            sql.push_str(" WHERE ");
            self.write(sql, w);
        }
        if !s.group_by.is_empty() {
            sql.push_str(" GROUP BY ");
            for (i, n) in s.group_by.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                self.write(sql, n);
            }
        }
        if let Some(h) = &s.having {
            sql.push_str(" HAVING ");
            self.write(sql, h);
        }
    }

    fn from(&self, sql: &mut String, f: &FromIr) {
        match f {
            FromIr::Table { table, alias } => {
                sql.push_str(&self.d.table_ref(table));
                sql.push_str(" AS ");
                sql.push_str(&self.q(alias));
            }
            FromIr::Cte { name, alias } => {
                sql.push_str(&self.q(name));
                sql.push_str(" AS ");
                sql.push_str(&self.q(alias));
            }
            FromIr::Derived { query, alias } => {
                sql.push('(');
                self.write_query(sql, query, false);
                sql.push_str(") AS ");
                sql.push_str(&self.q(alias));
            }
            FromIr::Join {
                kind,
                left,
                right,
                on,
            } => {
                self.from(sql, left);
                sql.push_str(match kind {
                    JoinKind::Inner => " JOIN ",
                    JoinKind::Left => " LEFT JOIN ",
                    JoinKind::Right => " RIGHT JOIN ",
                    JoinKind::Full => " FULL JOIN ",
                    JoinKind::Cross => " CROSS JOIN ",
                });
                match right.as_ref() {
                    j @ FromIr::Join { .. } => {
                        sql.push('(');
                        self.from(sql, j);
                        sql.push(')');
                    }
                    other => self.from(sql, other),
                }
                match (kind, on) {
                    (JoinKind::Cross, _) => {}
                    (_, Some(c)) => {
                        sql.push_str(" ON ");
                        self.write(sql, c);
                    }
                    (_, None) => sql.push_str(" ON 1 = 1"),
                }
            }
        }
    }

    fn col(&self, out: &mut String, c: &ColRef) {
        let q = self.q_alias(&c.qualifier);
        match &c.target {
            Target::Published(t, col) => out.push_str(&self.d.column_ref(&q, t, col)),
            Target::Named(n) => {
                out.push_str(&q);
                out.push('.');
                out.push_str(&self.q(n));
            }
        }
    }

    /// The SQL of an expression.
    pub fn expr(&self, n: &Node) -> String {
        let mut out = String::with_capacity(64);
        self.write(&mut out, n);
        out
    }

    /// Append the SQL of an expression to `out`.
    fn write(&self, out: &mut String, n: &Node) {
        crate::parser::grow(|| self.write_inner(out, n))
    }

    fn write_inner(&self, out: &mut String, n: &Node) {
        let not = |neg: bool| if neg { "NOT " } else { "" };
        match n {
            Node::Col(c) => self.col(out, c),
            Node::Num { text, int } => out.push_str(&self.d.number_literal(text, *int)),
            Node::Str(s) => {
                out.push('\'');
                out.push_str(&s.replace('\'', "''"));
                out.push('\'');
            }
            Node::Null => out.push_str("NULL"),
            Node::Nested(x) => {
                out.push('(');
                self.write(out, x);
                out.push(')');
            }
            Node::Neg(x) => {
                out.push_str("(-");
                self.write(out, x);
                out.push(')');
            }
            Node::Not(x) => {
                out.push_str("(NOT ");
                self.write(out, x);
                out.push(')');
            }
            Node::Chain(first, rest) if rest.iter().all(|(op, _)| *op == BinOp::Concat) => {
                // Left-associative: (((a || b) || c) ...), without a string per step.
                for _ in 0..rest.len() {
                    out.push('(');
                }
                self.write(out, first);
                for (op, x) in rest {
                    out.push(' ');
                    out.push_str(op.symbol());
                    out.push(' ');
                    self.write(out, x);
                    out.push(')');
                }
            }
            Node::Chain(first, rest) => {
                let mut acc = self.expr(first);
                for (op, x) in rest {
                    let r = self.expr(x);
                    acc = match op {
                        BinOp::Div => self.d.divide(&acc, &r),
                        BinOp::Concat => format!("({acc} || {r})"),
                        other => self.d.arithmetic(other.symbol(), &acc, &r),
                    };
                }
                out.push_str(&acc);
            }
            Node::Compare(a, op, b) => {
                out.push('(');
                self.write(out, a);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                self.write(out, b);
                out.push(')');
            }
            Node::Logic(op, terms) => {
                let word = if *op == LogicOp::And { " AND " } else { " OR " };
                self.balanced(out, terms, word);
            }
            Node::Between(a, neg, lo, hi) => {
                out.push('(');
                self.write(out, a);
                out.push(' ');
                out.push_str(not(*neg));
                out.push_str("BETWEEN ");
                self.write(out, lo);
                out.push_str(" AND ");
                self.write(out, hi);
                out.push(')');
            }
            Node::Like(a, neg, insensitive, p) => {
                let (open, close) = if *insensitive {
                    ("lower(", ")")
                } else {
                    ("", "")
                };
                out.push('(');
                out.push_str(open);
                self.write(out, a);
                out.push_str(close);
                out.push(' ');
                out.push_str(not(*neg));
                out.push_str("LIKE ");
                out.push_str(open);
                self.write(out, p);
                out.push_str(close);
                out.push_str(self.d.like_escape());
                out.push(')');
            }
            Node::IsNull(a, neg) => {
                out.push('(');
                self.write(out, a);
                out.push_str(" IS ");
                out.push_str(not(*neg));
                out.push_str("NULL)");
            }
            Node::InList(a, neg, list) => {
                out.push('(');
                self.write(out, a);
                out.push(' ');
                out.push_str(not(*neg));
                out.push_str("IN (");
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write(out, x);
                }
                out.push_str("))");
            }
            other => out.push_str(&self.expr_other(other)),
        }
    }

    /// `terms` joined by an associative operator, grouped as a balanced tree of at most
    /// [`GROUP`] terms per parenthesis: SQL parsers nest a flat chain one level per term
    /// (SQLite refuses more than 1000 levels), a balanced one only logarithmically.
    fn balanced(&self, out: &mut String, terms: &[Node], word: &str) {
        out.push('(');
        if terms.len() <= GROUP {
            for (i, t) in terms.iter().enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                self.write(out, t);
            }
        } else {
            let size = terms.len().div_ceil(GROUP);
            for (i, chunk) in terms.chunks(size).enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                self.balanced(out, chunk, word);
            }
        }
        out.push(')');
    }

    /// The SQL of the rarer expressions (subqueries, set functions, CASE, geometry).
    fn expr_other(&self, n: &Node) -> String {
        match n {
            Node::InQuery(a, neg, q) => format!(
                "({} {}IN ({}))",
                self.expr(a),
                if *neg { "NOT " } else { "" },
                self.query(q, false)
            ),
            Node::Exists(q) => format!("(EXISTS ({}))", self.query(q, false)),
            Node::Subquery(q) => {
                let column = self.q(&sql_column(0));
                self.d.scalar_subquery(&self.query(q, false), &column)
            }
            Node::Aggregate {
                func,
                distinct,
                arg,
                cast,
            } => {
                let Some(arg) = arg else {
                    return format!("{func}(*)");
                };
                // ivo_string_agg: the dialect's spelling of its two arguments.
                if let Node::Func("STRING_AGG", args) = arg.as_ref() {
                    let args: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
                    return self.d.function("STRING_AGG", &args);
                }
                let mut a = self.expr(arg);
                if *func == "AVG" {
                    if let Some(t) = cast {
                        a = format!("CAST({a} AS {t})");
                    }
                }
                let call = format!("{func}({}{a})", if *distinct { "DISTINCT " } else { "" });
                match cast {
                    Some(t) if *func != "AVG" => format!("CAST({call} AS {t})"),
                    _ => call,
                }
            }
            Node::Coalesce(v) => {
                let parts: Vec<String> = v.iter().map(|x| self.expr(x)).collect();
                format!("COALESCE({})", parts.join(", "))
            }
            Node::Func(name, v) => {
                let args: Vec<String> = v.iter().map(|x| self.expr(x)).collect();
                self.d.function(name, &args)
            }
            Node::Case {
                operand,
                whens,
                else_,
            } => {
                let mut s = String::from("(CASE");
                if let Some(o) = operand {
                    s.push(' ');
                    s.push_str(&self.expr(o));
                }
                for (w, t) in whens {
                    s.push_str(&format!(" WHEN {} THEN {}", self.expr(w), self.expr(t)));
                }
                if let Some(e) = else_ {
                    s.push_str(&format!(" ELSE {}", self.expr(e)));
                }
                s.push_str(" END)");
                s
            }
            Node::Geo(p) => self.predicate(p),
            Node::Distance(v) => {
                let [a, b, c, d] = v.as_ref();
                self.d
                    .distance(&self.expr(a), &self.expr(b), &self.expr(c), &self.expr(d))
            }
            Node::GeoValue(shape) => self.geometry_value(shape),
            Node::GeoFunc(f, shape) => self.geo_function(*f, shape),
            Node::Raw(sql) => sql.clone(),
            Node::Cast(x, target) => self.d.cast(&self.expr(x), target),
            simple => self.expr(simple),
        }
    }

    /// A POINT, CIRCLE, POLYGON or BOX as a value: its numbers through the dialect's
    /// [`SqlDialect::geometry_value`] (a BOX as the polygon of its corners, counter-clockwise
    /// from the south-west, latitudes clamped to [-90, 90]).
    fn geometry_value(&self, shape: &Shape) -> String {
        let numbers: Vec<String> = match shape {
            Shape::Point(a, b) => vec![self.expr(a), self.expr(b)],
            Shape::Circle(a, b, r) => vec![self.expr(a), self.expr(b), self.expr(r)],
            Shape::Polygon(v) => v
                .iter()
                .flat_map(|(a, b)| [self.expr(a), self.expr(b)])
                .collect(),
            // `POLYGON ICRS ra dec ...`, written by the checker: the numbers after the frame.
            Shape::PolygonLiteral(stcs) => stcs
                .split_ascii_whitespace()
                .skip(2)
                .map(|w| self.d.number_literal(w, false))
                .collect(),
            Shape::Box(v) => {
                let [ra, dec, w, h] = v.as_ref().each_ref().map(|n| self.expr(n));
                let west = format!("(({ra}) - ({w}) / 2.0)");
                let east = format!("(({ra}) + ({w}) / 2.0)");
                let south = format!(
                    "(CASE WHEN ({dec}) - ({h}) / 2.0 < -90 THEN -90.0 ELSE ({dec}) - ({h}) / 2.0 END)"
                );
                let north = format!(
                    "(CASE WHEN ({dec}) + ({h}) / 2.0 > 90 THEN 90.0 ELSE ({dec}) + ({h}) / 2.0 END)"
                );
                vec![
                    west.clone(),
                    south.clone(),
                    east.clone(),
                    south,
                    east,
                    north.clone(),
                    west,
                    north,
                ]
            }
            Shape::Region(_) => return "NULL".into(),
        };
        self.d
            .geometry_value(shape.dali_xtype().unwrap_or("polygon"), &numbers)
    }

    /// A shape as the dialect's geometry operand, and the condition under which it stands
    /// for the whole sky (an ObsCore all-sky row on a backend whose region type cannot hold
    /// the whole sky).
    fn geo_sql(&self, s: &Shape) -> (GeoSql, Option<String>) {
        match s {
            Shape::Point(ra, dec) => (
                GeoSql::Point {
                    ra: self.expr(ra),
                    dec: self.expr(dec),
                },
                None,
            ),
            Shape::Circle(a, b, r) => (
                GeoSql::Circle {
                    ra: self.expr(a),
                    dec: self.expr(b),
                    r: self.expr(r),
                    radius: crate::rewrite::literal(r),
                },
                None,
            ),
            Shape::Box(v) => {
                let [ra, dec, width, height] = v.as_ref().each_ref().map(|n| self.expr(n));
                (
                    GeoSql::Box {
                        ra,
                        dec,
                        width,
                        height,
                    },
                    None,
                )
            }
            Shape::Region(c) => match &c.target {
                Target::Published(t, col) => {
                    let q = self.q_alias(&c.qualifier);
                    (
                        GeoSql::Region {
                            region: self.d.region_ref(&q, t, col),
                            stcs: self.d.column_ref(&q, t, col),
                        },
                        self.d.region_all_sky(&q, t, col),
                    )
                }
                Target::Named(_) => {
                    let mut s = String::new();
                    self.col(&mut s, c);
                    (
                        GeoSql::Region {
                            region: s.clone(),
                            stcs: s,
                        },
                        None,
                    )
                }
            },
            Shape::PolygonLiteral(stcs) => (
                GeoSql::Region {
                    region: self.d.polygon_literal(stcs),
                    stcs: format!("'{}'", stcs.replace('\'', "''")),
                },
                None,
            ),
            Shape::Polygon(v) => {
                let pairs: Vec<(String, String)> = v
                    .iter()
                    .map(|(a, b)| (self.expr(a), self.expr(b)))
                    .collect();
                (
                    GeoSql::Region {
                        region: self.d.polygon_region(&pairs),
                        stcs: crate::dialect::polygon_text(&pairs),
                    },
                    None,
                )
            }
        }
    }

    fn predicate(&self, p: &GeoPred) -> String {
        let (contains, (a, b)) = (matches!(p, GeoPred::Contains(..)), p.shapes());
        let ((ga, sky_a), (gb, sky_b)) = (self.geo_sql(a), self.geo_sql(b));
        let sql = self.d.geo_predicate(contains, &ga, &gb);
        // An all-sky region meets every shape and holds every shape; inside another shape
        // it is taken as not contained (no shape but the whole sky could hold it).
        let mut cases = Vec::new();
        if contains {
            cases.extend(sky_b.map(|c| format!("WHEN {c} THEN 1")));
            cases.extend(sky_a.map(|c| format!("WHEN {c} THEN 0")));
        } else {
            cases.extend(
                sky_a
                    .into_iter()
                    .chain(sky_b)
                    .map(|c| format!("WHEN {c} THEN 1")),
            );
        }
        if cases.is_empty() {
            sql
        } else {
            format!("(CASE {} ELSE {sql} END)", cases.join(" "))
        }
    }

    /// AREA or a CENTROID coordinate of a shape.
    fn geo_function(&self, f: GeoFn, s: &Shape) -> String {
        let (g, sky) = self.geo_sql(s);
        let sql = self.d.geo_function(f, &g);
        match sky {
            None => sql,
            Some(c) => {
                let whole = match f {
                    GeoFn::Area => format!("{:?}", vo_common::geometry::Geometry::AllSky.area()),
                    GeoFn::CentroidRa | GeoFn::CentroidDec => "NULL".into(),
                };
                format!("(CASE WHEN {c} THEN {whole} ELSE {sql} END)")
            }
        }
    }
}

/// The SQL name of output column `i` (from 0) of every SELECT: generated, so that no user
/// name can collide with another (PostgreSQL cuts names to 63 bytes) or with the renderer's.
pub fn sql_column(i: usize) -> String {
    format!("c{}", i + 1)
}

/// How many terms one parenthesis of a long AND/OR chain holds.
const GROUP: usize = 64;
