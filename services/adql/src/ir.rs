//! The checked query: every name resolved, every value typed. The checker builds it from the
//! syntax tree, the rewrite passes adjust it, and the renderer turns it into SQL through the
//! [`SqlDialect`](crate::SqlDialect). Column references carry the SQL alias of their table,
//! so rendering never has to resolve a name again.

use vo_common::FieldMeta;

use crate::ast::{BinOp, JoinKind, LogicOp, SetOp};
use crate::catalog::{ColumnInfo, TableInfo};

/// A query: optional CTEs, a body, ORDER BY and OFFSET, and its output columns.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryIr<'a> {
    /// `WITH name AS (query)`, by their SQL names.
    pub ctes: Vec<(String, QueryIr<'a>)>,
    /// One SELECT or a set operation.
    pub body: BodyIr<'a>,
    /// ORDER BY terms.
    pub order_by: Vec<OrderIr<'a>>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// The output columns, with names unique within the query.
    pub fields: Vec<FieldMeta>,
}

/// The body of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyIr<'a> {
    /// One SELECT.
    Select(Box<SelectIr<'a>>),
    /// A whole query used as the body (a set operation with the outer ORDER BY, or a
    /// parenthesised query).
    Query(Box<QueryIr<'a>>),
    /// `left op [ALL] right`; each operand is a whole query (its own TOP, ORDER BY, OFFSET).
    SetOp {
        /// The operator.
        op: SetOp,
        /// ALL.
        all: bool,
        /// The left operand.
        left: Box<QueryIr<'a>>,
        /// The right operand.
        right: Box<QueryIr<'a>>,
    },
}

/// One SELECT.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectIr<'a> {
    /// DISTINCT.
    pub distinct: bool,
    /// TOP n.
    pub top: Option<u64>,
    /// The output values, in order (their names are the query's fields).
    pub items: Vec<Node<'a>>,
    /// FROM, the comma-separated items.
    pub from: Vec<FromIr<'a>>,
    /// WHERE.
    pub where_: Option<Node<'a>>,
    /// GROUP BY.
    pub group_by: Vec<Node<'a>>,
    /// HAVING.
    pub having: Option<Node<'a>>,
}

/// One FROM item.
#[derive(Debug, Clone, PartialEq)]
pub enum FromIr<'a> {
    /// A published table.
    Table {
        /// The table.
        table: &'a TableInfo,
        /// Its SQL alias (unquoted: the renderer quotes it).
        alias: String,
    },
    /// A CTE, by its SQL name.
    Cte {
        /// The CTE's SQL name (unquoted: the renderer quotes it).
        name: String,
        /// Its SQL alias (unquoted: the renderer quotes it).
        alias: String,
    },
    /// A derived table.
    Derived {
        /// The subquery.
        query: Box<QueryIr<'a>>,
        /// Its SQL alias (unquoted: the renderer quotes it).
        alias: String,
    },
    /// A join; USING and NATURAL are already turned into ON equalities.
    Join {
        /// The join type.
        kind: JoinKind,
        /// The left item.
        left: Box<FromIr<'a>>,
        /// The right item.
        right: Box<FromIr<'a>>,
        /// The condition (`None`: every pair).
        on: Option<Node<'a>>,
    },
}

/// One ORDER BY term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderIr<'a> {
    /// An output column position (1-based) or an expression.
    pub key: OrderKey<'a>,
    /// DESC.
    pub desc: bool,
}

/// What an ORDER BY term sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderKey<'a> {
    /// The output column at this position (from 1).
    Position(usize),
    /// An expression over the input columns.
    Expr(Node<'a>),
}

/// What a column reference points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Target<'a> {
    /// A column of a published table.
    Published(&'a TableInfo, &'a ColumnInfo),
    /// A column of a derived table or CTE, by its SQL name (unquoted).
    Named(String),
}

/// A resolved column reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ColRef<'a> {
    /// The SQL alias of its table (unquoted: the renderer quotes it), shared by every
    /// reference to that table.
    pub qualifier: std::rc::Rc<str>,
    /// The column.
    pub target: Target<'a>,
}

/// A CAST target type (ADQL 2.1 §2.10), with PostgreSQL's conversions as the meaning on
/// every backend: to an integer type a float is rounded half to even and a value out of
/// range is an error; to REAL a value is rounded to single precision; a string that is not a
/// number is an error; to CHAR(n) or VARCHAR(n) a string is cut to n characters (CHAR alone
/// is CHAR(1); CHAR's padding spaces are not kept, as PostgreSQL drops them wherever a CHAR
/// value is used as text); a number becomes the shortest text that reads
/// back as the same value (PostgreSQL's float8out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastTarget {
    /// SMALLINT (16 bits).
    Smallint,
    /// INTEGER (32 bits).
    Integer,
    /// BIGINT (64 bits).
    Bigint,
    /// REAL (single precision).
    Real,
    /// DOUBLE PRECISION.
    Double,
    /// CHAR(n), cut to n characters.
    Char(u32),
    /// VARCHAR(n), or VARCHAR without a limit.
    Varchar(Option<u32>),
    /// TIMESTAMP, from ISO 8601 text (`YYYY-MM-DD`, optionally `Thh:mm[:ss[.ffffff]]` with
    /// `T` or a space, optionally `Z`), as DALI's timestamp text `YYYY-MM-DDThh:mm:ss[.fff]`
    /// (trailing zero digits of the fraction dropped); other text is an error in
    /// PostgreSQL's words.
    Timestamp,
}

impl CastTarget {
    /// The SQL type name (PostgreSQL's spelling).
    pub fn sql(&self) -> String {
        match self {
            CastTarget::Smallint => "SMALLINT".into(),
            CastTarget::Integer => "INTEGER".into(),
            CastTarget::Bigint => "BIGINT".into(),
            CastTarget::Real => "REAL".into(),
            CastTarget::Double => "DOUBLE PRECISION".into(),
            CastTarget::Char(n) => format!("CHAR({n})"),
            CastTarget::Varchar(Some(n)) => format!("VARCHAR({n})"),
            CastTarget::Varchar(None) => "VARCHAR".into(),
            CastTarget::Timestamp => "TIMESTAMP".into(),
        }
    }
}

/// A geometry value inside a predicate, AREA, CENTROID or a SELECT list (ADQL 2.1 §4.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape<'a> {
    /// POINT(ra, dec), degrees.
    Point(Box<Node<'a>>, Box<Node<'a>>),
    /// CIRCLE(ra, dec, radius), degrees.
    Circle(Box<Node<'a>>, Box<Node<'a>>, Box<Node<'a>>),
    /// A POLYGON whose vertices were all literals, as STC-S.
    PolygonLiteral(String),
    /// A POLYGON with computed vertices (ra, dec).
    Polygon(Vec<(Node<'a>, Node<'a>)>),
    /// BOX(ra, dec, width, height), degrees: pgSphere's sbox, longitudes `ra ± width/2` by
    /// latitudes `dec ± height/2` ([`vo_common::geometry::LonLatBox`]).
    Box(Box<[Node<'a>; 4]>),
    /// A published region column (xtype adql:REGION).
    Region(ColRef<'a>),
}

/// CONTAINS or INTERSECTS (ADQL 2.1 §4.2.3, §4.2.7) of two shapes, 1/0.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoPred<'a> {
    /// CONTAINS(a, b): every point of `a` lies in `b`. INTERSECTS of a POINT and a shape is
    /// this, with the point first (§4.2.7).
    Contains(Shape<'a>, Shape<'a>),
    /// INTERSECTS(a, b): the shapes share a point.
    Intersects(Shape<'a>, Shape<'a>),
}

impl<'a> GeoPred<'a> {
    /// The two shapes the predicate relates.
    pub fn shapes(&self) -> (&Shape<'a>, &Shape<'a>) {
        match self {
            GeoPred::Contains(a, b) | GeoPred::Intersects(a, b) => (a, b),
        }
    }
}

/// A numeric function of a shape (ADQL 2.1 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoFn {
    /// AREA, square degrees.
    Area,
    /// The right ascension of CENTROID, degrees in [0, 360).
    CentroidRa,
    /// The declination of CENTROID, degrees.
    CentroidDec,
}

/// A checked expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// A column.
    Col(ColRef<'a>),
    /// A numeric literal as written.
    Num {
        /// The text.
        text: String,
        /// An integer literal.
        int: bool,
    },
    /// A string literal (unescaped).
    Str(String),
    /// NULL.
    Null,
    /// `(x)`.
    Nested(Box<Node<'a>>),
    /// `-x`.
    Neg(Box<Node<'a>>),
    /// `NOT x`.
    Not(Box<Node<'a>>),
    /// Arithmetic or concatenation, left-associative.
    Chain(Box<Node<'a>>, Vec<(BinOp, Node<'a>)>),
    /// A comparison.
    Compare(Box<Node<'a>>, BinOp, Box<Node<'a>>),
    /// AND / OR of conditions.
    Logic(LogicOp, Vec<Node<'a>>),
    /// BETWEEN.
    Between(Box<Node<'a>>, bool, Box<Node<'a>>, Box<Node<'a>>),
    /// LIKE / ILIKE: value, negated, case-insensitive, pattern.
    Like(Box<Node<'a>>, bool, bool, Box<Node<'a>>),
    /// `IS [NOT] NULL`.
    IsNull(Box<Node<'a>>, bool),
    /// `[NOT] IN (list)`.
    InList(Box<Node<'a>>, bool, Vec<Node<'a>>),
    /// `[NOT] IN (subquery)`.
    InQuery(Box<Node<'a>>, bool, Box<QueryIr<'a>>),
    /// EXISTS (subquery).
    Exists(Box<QueryIr<'a>>),
    /// A scalar subquery.
    Subquery(Box<QueryIr<'a>>),
    /// A set function: COUNT(*) when `arg` is None.
    Aggregate {
        /// COUNT, SUM, AVG, MIN or MAX.
        func: &'static str,
        /// DISTINCT.
        distinct: bool,
        /// The argument.
        arg: Option<Box<Node<'a>>>,
        /// The SQL type the result is cast to (AVG of anything and SUM of integers, so both
        /// backends give a double or a bigint), if any.
        cast: Option<&'static str>,
    },
    /// COALESCE(values).
    Coalesce(Vec<Node<'a>>),
    /// CASE.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Node<'a>>>,
        /// WHEN/THEN pairs.
        whens: Vec<(Node<'a>, Node<'a>)>,
        /// ELSE.
        else_: Option<Box<Node<'a>>>,
    },
    /// `CAST(value AS type)`, with PostgreSQL's meaning (see [`CastTarget`]).
    Cast(Box<Node<'a>>, CastTarget),
    /// CONTAINS or INTERSECTS, 1/0.
    Geo(Box<GeoPred<'a>>),
    /// DISTANCE between two points, degrees.
    Distance(Box<[Node<'a>; 4]>),
    /// A POINT, CIRCLE, POLYGON or BOX as a value (in a SELECT list): its DALI text (DALI
    /// 1.1 §3.3.5–3.3.7, numbers in degrees separated by spaces), longitudes in [0, 360); a
    /// BOX is written as the polygon of its four corners.
    GeoValue(Box<Shape<'a>>),
    /// AREA or a coordinate of CENTROID of a shape.
    GeoFunc(GeoFn, Box<Shape<'a>>),
    /// A scalar function of ADQL 2.1 §2.3 (math, trigonometry) or §2.5 (LOWER, UPPER): its
    /// name as ADQL spells it (upper case) and its checked arguments; the dialect renders it
    /// ([`crate::SqlDialect::function`]) with PostgreSQL's results on every backend.
    Func(&'static str, Vec<Node<'a>>),
    /// SQL written by the dialect (an index prefilter).
    Raw(String),
}

impl<'a> Node<'a> {
    /// Call `f` on each direct sub-expression of this query level (not inside subqueries).
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Node<'a>)) {
        match self {
            Node::Col(_) | Node::Num { .. } | Node::Str(_) | Node::Null | Node::Raw(_) => {}
            Node::Exists(_) | Node::Subquery(_) => {}
            Node::Nested(x)
            | Node::Neg(x)
            | Node::Not(x)
            | Node::IsNull(x, _)
            | Node::Cast(x, _) => f(x),
            Node::InQuery(x, _, _) => f(x),
            Node::Chain(first, rest) => {
                f(first);
                rest.iter().for_each(|(_, n)| f(n));
            }
            Node::Compare(a, _, b) | Node::Like(a, _, _, b) => {
                f(a);
                f(b);
            }
            Node::Logic(_, v) | Node::Coalesce(v) | Node::Func(_, v) => v.iter().for_each(f),
            Node::Between(a, _, b, c) => {
                f(a);
                f(b);
                f(c);
            }
            Node::InList(a, _, v) => {
                f(a);
                v.iter().for_each(f);
            }
            Node::Aggregate { arg, .. } => {
                if let Some(a) = arg {
                    f(a)
                }
            }
            Node::Case {
                operand,
                whens,
                else_,
            } => {
                if let Some(o) = operand {
                    f(o);
                }
                for (w, t) in whens {
                    f(w);
                    f(t);
                }
                if let Some(e) = else_ {
                    f(e);
                }
            }
            Node::Geo(p) => {
                let (a, b) = p.shapes();
                a.for_each_node(f);
                b.for_each_node(f);
            }
            Node::Distance(v) => v.iter().for_each(f),
            Node::GeoValue(s) | Node::GeoFunc(_, s) => s.for_each_node(f),
        }
    }
}

impl<'a> Shape<'a> {
    /// The DALI xtype of the shape as a value: `point`, `circle` or `polygon` (`None` for a
    /// region column, which keeps its own).
    pub fn dali_xtype(&self) -> Option<&'static str> {
        match self {
            Shape::Point(..) => Some("point"),
            Shape::Circle(..) => Some("circle"),
            Shape::Polygon(_) | Shape::PolygonLiteral(_) | Shape::Box(_) => Some("polygon"),
            Shape::Region(_) => None,
        }
    }

    /// Call `f` on each expression of the shape.
    pub fn for_each_node(&self, f: &mut dyn FnMut(&Node<'a>)) {
        match self {
            Shape::Point(a, b) => {
                f(a);
                f(b);
            }
            Shape::Circle(a, b, c) => {
                f(a);
                f(b);
                f(c);
            }
            Shape::PolygonLiteral(_) => {}
            Shape::Box(v) => v.iter().for_each(f),
            Shape::Polygon(v) => v.iter().for_each(|(a, b)| {
                f(a);
                f(b);
            }),
            Shape::Region(c) => f(&Node::Col(c.clone())),
        }
    }
}

impl<'a> Node<'a> {
    /// Call `f` on every column reference in this expression, subqueries included.
    pub fn for_each_col(&self, f: &mut dyn FnMut(&ColRef<'a>)) {
        match self {
            Node::Col(c) => f(c),
            Node::Subquery(q) | Node::Exists(q) => q.for_each_col(f),
            Node::InQuery(x, _, q) => {
                x.for_each_col(f);
                q.for_each_col(f);
            }
            Node::Geo(p) => {
                let (a, b) = p.shapes();
                for s in [a, b] {
                    s.for_each_col(f);
                }
            }
            Node::GeoValue(s) | Node::GeoFunc(_, s) => s.for_each_col(f),
            other => other.for_each_child(&mut |n| n.for_each_col(f)),
        }
    }
}

impl<'a> Shape<'a> {
    /// Call `f` on every column reference in this shape.
    pub fn for_each_col(&self, f: &mut dyn FnMut(&ColRef<'a>)) {
        // A region column is given to `f` as a `Node::Col` by `for_each_node`.
        self.for_each_node(&mut |n| n.for_each_col(f));
    }
}

impl<'a> QueryIr<'a> {
    /// Call `f` on every column reference in this query, its CTEs and subqueries included.
    pub fn for_each_col(&self, f: &mut dyn FnMut(&ColRef<'a>)) {
        for (_, c) in &self.ctes {
            c.for_each_col(f);
        }
        match &self.body {
            BodyIr::Select(s) => {
                let mut nodes: Vec<&Node<'a>> = s.items.iter().collect();
                nodes.extend(s.where_.iter());
                nodes.extend(s.group_by.iter());
                nodes.extend(s.having.iter());
                for n in nodes {
                    n.for_each_col(f);
                }
                for item in &s.from {
                    item.for_each_col(f);
                }
            }
            BodyIr::Query(q) => q.for_each_col(f),
            BodyIr::SetOp { left, right, .. } => {
                left.for_each_col(f);
                right.for_each_col(f);
            }
        }
        for o in &self.order_by {
            if let OrderKey::Expr(n) = &o.key {
                n.for_each_col(f);
            }
        }
    }
}

impl<'a> FromIr<'a> {
    /// Call `f` on every column reference in this FROM item.
    pub fn for_each_col(&self, f: &mut dyn FnMut(&ColRef<'a>)) {
        match self {
            FromIr::Derived { query, .. } => query.for_each_col(f),
            FromIr::Join {
                left, right, on, ..
            } => {
                left.for_each_col(f);
                right.for_each_col(f);
                if let Some(n) = on {
                    n.for_each_col(f);
                }
            }
            _ => {}
        }
    }
}
