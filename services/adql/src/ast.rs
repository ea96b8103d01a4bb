//! The syntax tree of one ADQL 2.1 query, as the parser reads it: only what the ADQL grammar
//! has can be represented, so nothing else can reach the checker or the renderer. Every node
//! keeps its [`Span`] for diagnostics.
//!
//! Chains of one operator level (`a OR b OR c`, `a + b - c`) are n-ary nodes, so a long chain
//! is a flat list rather than a deep tree.

use crate::diag::Span;

/// An identifier: a regular one (case-insensitive, ADQL 2.1 §2.1.3) or a delimited one
/// (`"..."`, exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name, without quotes (`""` already turned into `"`).
    pub name: String,
    /// Whether it was written as a delimited identifier.
    pub quoted: bool,
    /// Where.
    pub span: Span,
}

impl std::fmt::Display for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.quoted {
            write!(f, "\"{}\"", self.name.replace('"', "\"\""))
        } else {
            f.write_str(&self.name)
        }
    }
}

/// A dotted name: `[[catalog.]schema.]table` or `[qualifier.]column`.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The parts, outermost first.
    pub parts: Vec<Ident>,
}

impl Name {
    /// The last part (the table or column name itself).
    pub fn last(&self) -> &Ident {
        &self.parts[self.parts.len() - 1]
    }

    /// Everything before the last part.
    pub fn qualifier(&self) -> &[Ident] {
        &self.parts[..self.parts.len() - 1]
    }

    /// Where the whole name is.
    pub fn span(&self) -> Span {
        self.parts[0].span.to(self.last().span)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// A query expression with its optional WITH clause, ORDER BY and OFFSET (ADQL 2.1
/// `<query_specification>` / `<select_expression>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Common table expressions (only on the outermost query).
    pub with: Vec<Cte>,
    /// The SELECT or set operation.
    pub body: SetExpr,
    /// ORDER BY terms.
    pub order_by: Vec<OrderTerm>,
    /// OFFSET n.
    pub offset: Option<(u64, Span)>,
    /// Where the query starts (its first keyword or parenthesis) and ends.
    pub span: Span,
}

/// `name AS (query)` in a WITH clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    /// The name the query is known by.
    pub name: Ident,
    /// The query.
    pub query: Query,
}

/// The set operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

impl SetOp {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SetOp::Union => "UNION",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        }
    }
}

/// The body of a query: one SELECT, a parenthesised query, or a set operation.
#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr {
    /// One SELECT.
    Select(Box<Select>),
    /// A parenthesised query (with its own ORDER BY and OFFSET).
    Query(Box<Query>),
    /// `left op [ALL] right`.
    SetOp {
        /// The operator.
        op: SetOp,
        /// Whether ALL was given (duplicates kept).
        all: bool,
        /// The left operand.
        left: Box<SetExpr>,
        /// The right operand.
        right: Box<SetExpr>,
        /// The operator keyword's place.
        span: Span,
    },
}

/// One SELECT.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// SELECT DISTINCT.
    pub distinct: bool,
    /// TOP n.
    pub top: Option<(u64, Span)>,
    /// The select list.
    pub items: Vec<SelectItem>,
    /// FROM: the comma-separated table references.
    pub from: Vec<TableRef>,
    /// WHERE.
    pub where_: Option<Expr>,
    /// GROUP BY.
    pub group_by: Vec<Expr>,
    /// HAVING.
    pub having: Option<Expr>,
    /// The SELECT keyword.
    pub span: Span,
}

/// One entry of a select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard(Span),
    /// `qualifier.*`
    QualifiedWildcard(Name),
    /// An expression with an optional `AS name`.
    Expr {
        /// The value.
        expr: Expr,
        /// Its output name.
        alias: Option<Ident>,
    },
}

/// The join types (ADQL 2.1 `<join_type>`; CROSS as SQL-92 has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`
    Inner,
    /// `LEFT [OUTER] JOIN`
    Left,
    /// `RIGHT [OUTER] JOIN`
    Right,
    /// `FULL [OUTER] JOIN`
    Full,
    /// `CROSS JOIN`
    Cross,
}

/// How a join matches rows.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinCond {
    /// No condition: every pair (NATURAL joins and CROSS JOIN; a bare `JOIN` is read so too,
    /// as DaCHS and MySQL read it).
    None,
    /// `ON condition`
    On(Expr),
    /// `USING (columns)`
    Using(Vec<Ident>),
}

/// A table reference in FROM.
#[derive(Debug, Clone, PartialEq)]
pub enum TableRef {
    /// A named table (published, a CTE or an upload), with an optional correlation name.
    Table {
        /// The table name.
        name: Name,
        /// `AS alias`.
        alias: Option<Ident>,
    },
    /// `(query) AS alias`.
    Derived {
        /// The subquery.
        query: Box<Query>,
        /// Its correlation name (required).
        alias: Ident,
    },
    /// `left [NATURAL] kind JOIN right [ON ... | USING (...)]`.
    Join {
        /// The join type.
        kind: JoinKind,
        /// NATURAL.
        natural: bool,
        /// The left table reference.
        left: Box<TableRef>,
        /// The right table reference.
        right: Box<TableRef>,
        /// The condition.
        cond: JoinCond,
        /// The JOIN keyword(s).
        span: Span,
    },
}

impl TableRef {
    /// Where the reference starts.
    pub fn span(&self) -> Span {
        match self {
            TableRef::Table { name, alias } => {
                let s = name.span();
                alias.as_ref().map(|a| s.to(a.span)).unwrap_or(s)
            }
            TableRef::Derived { query, alias } => query.span.to(alias.span),
            TableRef::Join { left, .. } => left.span(),
        }
    }
}

/// One ORDER BY term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderTerm {
    /// A column, an output name, a position (an unsigned integer literal) or an expression.
    pub expr: Expr,
    /// DESC.
    pub desc: bool,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `NOT condition`
    Not,
    /// `~x`, bitwise NOT of an integer (ADQL 2.1 §2.3.3).
    BitNot,
}

/// Arithmetic, string and comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `||`
    Concat,
    /// `&`, bitwise AND of integers (ADQL 2.1 §2.3.3).
    BitAnd,
    /// `|`, bitwise OR of integers.
    BitOr,
    /// `^`, bitwise exclusive OR of integers.
    BitXor,
    /// `=`
    Eq,
    /// `<>` or `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl BinOp {
    /// The SQL symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Concat => "||",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
        }
    }

    /// Whether it compares (gives a condition).
    pub fn is_comparison(self) -> bool {
        !matches!(
            self,
            BinOp::Add
                | BinOp::Sub
                | BinOp::Mul
                | BinOp::Div
                | BinOp::Concat
                | BinOp::BitAnd
                | BinOp::BitOr
                | BinOp::BitXor
        )
    }
}

/// AND or OR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    /// AND
    And,
    /// OR
    Or,
}

/// A CAST target type (ADQL 2.1 §2.10 `<cast_target>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CastType {
    /// SMALLINT
    Smallint,
    /// INTEGER
    Integer,
    /// BIGINT
    Bigint,
    /// REAL
    Real,
    /// DOUBLE PRECISION
    Double,
    /// CHAR[(n)]
    Char(Option<u32>),
    /// VARCHAR[(n)]
    Varchar(Option<u32>),
    /// TIMESTAMP
    Timestamp,
    /// POINT
    Point,
    /// CIRCLE
    Circle,
    /// POLYGON
    Polygon,
}

/// A function call: an ADQL function (name upper-cased) or a user-defined function (name as
/// written).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name: upper case for ADQL's own functions, as written for UDFs.
    pub name: String,
    /// Whether this is a user-defined function.
    pub udf: bool,
    /// The coordinate-system argument of a geometry constructor (POINT, CIRCLE, BOX,
    /// POLYGON): a string literal or NULL, ADQL 2.0's first argument, deprecated in 2.1.
    pub frame: Option<Box<Expr>>,
    /// The arguments (after the coordinate system).
    pub args: Vec<Expr>,
    /// DISTINCT in a set function.
    pub distinct: bool,
    /// `COUNT(*)`.
    pub star: bool,
    /// The name's place.
    pub name_span: Span,
}

/// An expression with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A column reference.
    Column(Name),
    /// An unsigned numeric literal, as written; `int` when it has no point or exponent.
    Number {
        /// The text (exponent marker upper-cased).
        text: String,
        /// Whether it is an integer literal.
        int: bool,
    },
    /// A hexadecimal integer literal's digits.
    Hex(String),
    /// A string literal.
    Str(String),
    /// NULL.
    Null,
    /// A parenthesised expression or condition.
    Nested(Box<Expr>),
    /// A unary operator.
    Unary(UnaryOp, Box<Expr>),
    /// `first op1 e1 op2 e2 ...` of one precedence level (left-associative).
    Chain {
        /// The first operand.
        first: Box<Expr>,
        /// The operators and the operands after them.
        rest: Vec<(BinOp, Expr)>,
    },
    /// One comparison `left op right`.
    Compare(Box<Expr>, BinOp, Box<Expr>),
    /// `a AND b AND ...` or `a OR b OR ...`.
    Logic(LogicOp, Vec<Expr>),
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The value.
        expr: Box<Expr>,
        /// NOT BETWEEN.
        negated: bool,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
    },
    /// `expr [NOT] LIKE|ILIKE pattern`.
    Like {
        /// The value.
        expr: Box<Expr>,
        /// NOT LIKE.
        negated: bool,
        /// ILIKE.
        insensitive: bool,
        /// The pattern.
        pattern: Box<Expr>,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The value.
        expr: Box<Expr>,
        /// IS NOT NULL.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// The value.
        expr: Box<Expr>,
        /// NOT IN.
        negated: bool,
        /// The values.
        list: Vec<Expr>,
    },
    /// `expr [NOT] IN (subquery)`.
    InQuery {
        /// The value.
        expr: Box<Expr>,
        /// NOT IN.
        negated: bool,
        /// The subquery.
        query: Box<Query>,
    },
    /// `EXISTS (subquery)`.
    Exists(Box<Query>),
    /// A scalar subquery `(SELECT ...)`.
    Subquery(Box<Query>),
    /// A function call.
    Call(Call),
    /// `CAST(expr AS type)`.
    Cast(Box<Expr>, CastType),
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// WHEN/THEN pairs.
        whens: Vec<(Expr, Expr)>,
        /// ELSE.
        else_: Option<Box<Expr>>,
    },
}
