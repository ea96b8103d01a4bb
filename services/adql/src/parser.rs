//! The ADQL 2.1 parser: recursive descent over the grammar of the IVOA Recommendation
//! (ADQL 2.1, 2023-12-15, the BNF of its Appendix A), producing the [`ast`](crate::ast).
//!
//! What the grammar refuses, the parser refuses, with the position and what was expected:
//! reserved words as bare names, geometry values in arithmetic or concatenation, a bare value
//! where a condition is needed (`WHERE CONTAINS(...)` without `= 1`), unknown functions,
//! wrong argument counts, WITH inside a subquery, a derived table without a name. Where the
//! grammar and common practice differ the choices are documented at the place (a trailing `;`
//! is allowed; `JOIN` without ON or USING is a cross join, as DaCHS and MySQL read it, but
//! `INNER JOIN` written out needs its condition; `IS [NOT] NULL` takes any value; CASE is
//! accepted as SQL-92 has it).
//!
//! Nesting (parentheses, subqueries, function arguments) is limited to [`MAX_DEPTH`] levels,
//! and chains of one operator are flat lists, so no input can exhaust the stack.

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::lexer::{tokenize, Tok, Token};

/// How deeply parentheses, subqueries and function calls may nest.
pub const MAX_DEPTH: usize = 100;

/// A user-defined function the service declares (TAPRegExt `<languageFeatures
/// type="ivo://ivoa.net/std/TAPRegExt#features-udf">`): its name and how many arguments it
/// takes.
#[derive(Debug, Clone, PartialEq)]
pub struct UdfSignature {
    /// The name, matched case-insensitively.
    pub name: String,
    /// The smallest number of arguments.
    pub min_args: usize,
    /// The largest number of arguments.
    pub max_args: usize,
}

/// ADQL 2.1 reserved words (§2.1.2: the SQL-92 reserved words and ADQL's own), which may be
/// names only as delimited identifiers.
#[rustfmt::skip]
pub const RESERVED: &[&str] = &[
    // ADQL's own.
    "ABS", "ACOS", "AREA", "ASIN", "ATAN", "ATAN2", "BIGINT", "BOX", "CEILING", "CENTROID",
    "CIRCLE", "CONTAINS", "COORD1", "COORD2", "COORDSYS", "COS", "COT", "DEGREES", "DISTANCE",
    "EXP", "FLOOR", "ILIKE", "INTERSECTS", "IN_UNIT", "LOG", "LOG10", "MOD", "OFFSET", "PI",
    "POINT", "POLYGON", "POWER", "RADIANS", "REGION", "RAND", "ROUND", "SIN", "SQRT", "TOP",
    "TAN", "TRUNCATE",
    // SQL-92.
    "ABSOLUTE", "ACTION", "ADD", "ALL", "ALLOCATE", "ALTER", "AND", "ANY", "ARE", "AS", "ASC",
    "ASSERTION", "AT", "AUTHORIZATION", "AVG", "BEGIN", "BETWEEN", "BIT", "BIT_LENGTH", "BOTH",
    "BY", "CASCADE", "CASCADED", "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHAR_LENGTH",
    "CHARACTER_LENGTH", "CHECK", "CLOSE", "COALESCE", "COLLATE", "COLLATION", "COLUMN",
    "COMMIT", "CONNECT", "CONNECTION", "CONSTRAINT", "CONSTRAINTS", "CONTINUE", "CONVERT",
    "CORRESPONDING", "COUNT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATE", "DAY", "DEALLOCATE", "DECIMAL",
    "DECLARE", "DEFAULT", "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DESCRIBE", "DESCRIPTOR",
    "DIAGNOSTICS", "DISCONNECT", "DISTINCT", "DOMAIN", "DOUBLE", "DROP", "ELSE", "END",
    "ESCAPE", "EXCEPT", "EXCEPTION", "EXEC", "EXECUTE", "EXISTS", "EXTERNAL", "EXTRACT",
    "FALSE", "FETCH", "FIRST", "FLOAT", "FOR", "FOREIGN", "FOUND", "FROM", "FULL", "GET",
    "GLOBAL", "GO", "GOTO", "GRANT", "GROUP", "HAVING", "HOUR", "IDENTITY", "IMMEDIATE", "IN",
    "INDICATOR", "INITIALLY", "INNER", "INPUT", "INSENSITIVE", "INSERT", "INT", "INTEGER",
    "INTERSECT", "INTERVAL", "INTO", "IS", "ISOLATION", "JOIN", "KEY", "LANGUAGE", "LAST",
    "LEADING", "LEFT", "LEVEL", "LIKE", "LOCAL", "LOWER", "MATCH", "MAX", "MIN", "MINUTE",
    "MODULE", "MONTH", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NEXT", "NO", "NOT", "NULL",
    "NULLIF", "NUMERIC", "OCTET_LENGTH", "OF", "ON", "ONLY", "OPEN", "OPTION", "OR", "ORDER",
    "OUTER", "OUTPUT", "OVERLAPS", "PAD", "PARTIAL", "POSITION", "PRECISION", "PREPARE",
    "PRESERVE", "PRIMARY", "PRIOR", "PRIVILEGES", "PROCEDURE", "PUBLIC", "READ", "REAL",
    "REFERENCES", "RELATIVE", "RESTRICT", "REVOKE", "RIGHT", "ROLLBACK", "ROWS", "SCHEMA",
    "SCROLL", "SECOND", "SECTION", "SELECT", "SESSION", "SESSION_USER", "SET", "SIZE",
    "SMALLINT", "SOME", "SPACE", "SQL", "SQLCODE", "SQLERROR", "SQLSTATE", "SUBSTRING", "SUM",
    "SYSTEM_USER", "TABLE", "TEMPORARY", "THEN", "TIME", "TIMESTAMP", "TIMEZONE_HOUR",
    "TIMEZONE_MINUTE", "TO", "TRAILING", "TRANSACTION", "TRANSLATE", "TRANSLATION", "TRIM",
    "TRUE", "UNION", "UNIQUE", "UNKNOWN", "UPDATE", "UPPER", "USAGE", "USER", "USING", "VALUE",
    "VALUES", "VARCHAR", "VARYING", "VIEW", "WHEN", "WHENEVER", "WHERE", "WITH", "WORK",
    "WRITE", "YEAR", "ZONE",
];

/// Whether `word` is an ADQL reserved word (case-insensitive).
pub fn is_reserved(word: &str) -> bool {
    let bytes = word.as_bytes();
    let (Some(&first), 2..=MAX_RESERVED_LEN) = (bytes.first(), bytes.len()) else {
        return false;
    };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    reserved_buckets()[bucket(bytes.len(), first)]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(word))
}

/// The longest reserved word (CURRENT_TIMESTAMP).
const MAX_RESERVED_LEN: usize = 17;

/// The bucket of a word of `len` bytes starting with the ASCII letter `first`.
fn bucket(len: usize, first: u8) -> usize {
    len * 26 + usize::from(first.to_ascii_uppercase() - b'A')
}

/// [`RESERVED`] by length and first letter, so that a lookup compares a word with the one or
/// two reserved words of its shape only.
fn reserved_buckets() -> &'static [Vec<&'static str>] {
    static BUCKETS: std::sync::OnceLock<Vec<Vec<&'static str>>> = std::sync::OnceLock::new();
    BUCKETS.get_or_init(|| {
        let mut b = vec![Vec::new(); (MAX_RESERVED_LEN + 1) * 26];
        for w in RESERVED {
            b[bucket(w.len(), w.as_bytes()[0])].push(*w);
        }
        b
    })
}

/// Keywords that start or separate clauses: where one of these appears instead of a name,
/// the query's structure is wrong, and no "quote it" hint is given.
#[rustfmt::skip]
const CLAUSE_WORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "BY", "OFFSET", "TOP", "DISTINCT",
    "ALL", "AS", "ON", "USING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "NATURAL",
    "CROSS", "UNION", "INTERSECT", "EXCEPT", "WITH", "AND", "OR", "NOT", "IS", "IN", "LIKE",
    "ILIKE", "BETWEEN", "ASC", "DESC", "WHEN", "THEN", "ELSE", "END", "NULL", "EXISTS", "CASE",
];

/// The syntactic class of an expression, as the grammar distinguishes them: where a value of
/// one class may stand is decided here, types are checked later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `<value_expression_primary>`: literal, column, set function, CAST, COALESCE, CASE,
    /// scalar subquery, parenthesised value.
    Primary,
    /// An arithmetic expression (`a + b`, `-x`).
    Num,
    /// A concatenation.
    Str,
    /// A numeric function (math, trig, CONTAINS, DISTANCE, AREA, COORD1 ...).
    NumFunc,
    /// A string function (LOWER, UPPER, COORDSYS).
    StrFunc,
    /// A geometry constructor (POINT, CIRCLE, BOX, POLYGON, REGION, CENTROID).
    GeoFunc,
    /// A user-defined function (any class).
    Udf,
    /// The NULL literal.
    Null,
    /// A condition (comparison, predicate, AND/OR/NOT).
    Cond,
}

fn class(e: &Expr) -> Class {
    match &e.kind {
        ExprKind::Column(_)
        | ExprKind::Number { .. }
        | ExprKind::Hex(_)
        | ExprKind::Str(_)
        | ExprKind::Subquery(_)
        | ExprKind::Cast(..)
        | ExprKind::Case { .. } => Class::Primary,
        ExprKind::Null => Class::Null,
        ExprKind::Nested(inner) => match class(inner) {
            Class::Cond => Class::Cond,
            _ => Class::Primary,
        },
        ExprKind::Unary(UnaryOp::Not, _) => Class::Cond,
        ExprKind::Unary(..) => Class::Num,
        ExprKind::Chain { rest, .. } => {
            if rest.first().is_some_and(|(op, _)| *op == BinOp::Concat) {
                Class::Str
            } else {
                Class::Num
            }
        }
        ExprKind::Compare(..)
        | ExprKind::Logic(..)
        | ExprKind::Between { .. }
        | ExprKind::Like { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::InList { .. }
        | ExprKind::InQuery { .. }
        | ExprKind::Exists(_) => Class::Cond,
        ExprKind::Call(c) => {
            if c.udf {
                Class::Udf
            } else {
                builtin(&c.name).map(|b| b.class).unwrap_or(Class::Primary)
            }
        }
    }
}

/// What the arguments of a built-in function are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Args {
    /// This many numeric values.
    Num(usize),
    /// One numeric value and optionally a signed integer literal (ROUND, TRUNCATE).
    NumOptInt,
    /// Optionally an unsigned integer literal (RAND).
    OptSeed,
    /// This many geometry values.
    Geo(usize),
    /// A coordinate value: a POINT, CENTROID, UDF or column (COORD1, COORD2).
    Coord,
    /// Two coordinate values or four numbers (DISTANCE).
    Distance,
    /// A character value (LOWER, UPPER).
    Text,
    /// A character value, a start and optionally a length (SUBSTRING, an extension).
    Substring,
    /// A numeric value and a string literal (IN_UNIT).
    InUnit,
    /// A string literal (REGION).
    StrLit,
    /// POINT: [frame,] two numbers.
    Point,
    /// CIRCLE: [frame,] centre (two numbers or a coordinate value), radius.
    Circle,
    /// BOX: [frame,] centre, width, height.
    Box,
    /// POLYGON: [frame,] three or more vertices (number pairs or coordinate values).
    Polygon,
    /// A set function: [DISTINCT|ALL] value, or `*` for COUNT.
    Aggregate,
    /// One or more values (COALESCE).
    Values,
}

struct Builtin {
    name: &'static str,
    args: Args,
    class: Class,
}

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    // Math (ADQL 2.1 §2.3.1).
    Builtin { name: "ABS", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "CEILING", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "DEGREES", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "EXP", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "FLOOR", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "LOG", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "LOG10", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "MOD", args: Args::Num(2), class: Class::NumFunc },
    Builtin { name: "PI", args: Args::Num(0), class: Class::NumFunc },
    Builtin { name: "POWER", args: Args::Num(2), class: Class::NumFunc },
    Builtin { name: "RADIANS", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "RAND", args: Args::OptSeed, class: Class::NumFunc },
    Builtin { name: "ROUND", args: Args::NumOptInt, class: Class::NumFunc },
    Builtin { name: "SQRT", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "TRUNCATE", args: Args::NumOptInt, class: Class::NumFunc },
    // Trigonometry (§2.3.2).
    Builtin { name: "ACOS", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "ASIN", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "ATAN", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "ATAN2", args: Args::Num(2), class: Class::NumFunc },
    Builtin { name: "COS", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "COT", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "SIN", args: Args::Num(1), class: Class::NumFunc },
    Builtin { name: "TAN", args: Args::Num(1), class: Class::NumFunc },
    // Units (§2.4).
    Builtin { name: "IN_UNIT", args: Args::InUnit, class: Class::NumFunc },
    // Strings (§2.5).
    Builtin { name: "LOWER", args: Args::Text, class: Class::StrFunc },
    Builtin { name: "UPPER", args: Args::Text, class: Class::StrFunc },
    // SUBSTRING(s, start[, length]): not in ADQL 2.1 (a reserved word there), as Rubin's and
    // CADC's TAP services take it.
    Builtin { name: "SUBSTRING", args: Args::Substring, class: Class::StrFunc },
    // Geometry (§4.2).
    Builtin { name: "AREA", args: Args::Geo(1), class: Class::NumFunc },
    Builtin { name: "BOX", args: Args::Box, class: Class::GeoFunc },
    Builtin { name: "CENTROID", args: Args::Geo(1), class: Class::GeoFunc },
    Builtin { name: "CIRCLE", args: Args::Circle, class: Class::GeoFunc },
    Builtin { name: "CONTAINS", args: Args::Geo(2), class: Class::NumFunc },
    Builtin { name: "COORD1", args: Args::Coord, class: Class::NumFunc },
    Builtin { name: "COORD2", args: Args::Coord, class: Class::NumFunc },
    Builtin { name: "COORDSYS", args: Args::Geo(1), class: Class::StrFunc },
    Builtin { name: "DISTANCE", args: Args::Distance, class: Class::NumFunc },
    Builtin { name: "INTERSECTS", args: Args::Geo(2), class: Class::NumFunc },
    Builtin { name: "POINT", args: Args::Point, class: Class::GeoFunc },
    Builtin { name: "POLYGON", args: Args::Polygon, class: Class::GeoFunc },
    Builtin { name: "REGION", args: Args::StrLit, class: Class::GeoFunc },
    // Set functions and COALESCE (value primaries).
    Builtin { name: "AVG", args: Args::Aggregate, class: Class::Primary },
    Builtin { name: "COUNT", args: Args::Aggregate, class: Class::Primary },
    Builtin { name: "MAX", args: Args::Aggregate, class: Class::Primary },
    Builtin { name: "MIN", args: Args::Aggregate, class: Class::Primary },
    Builtin { name: "SUM", args: Args::Aggregate, class: Class::Primary },
    Builtin { name: "COALESCE", args: Args::Values, class: Class::Primary },
];

fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name.eq_ignore_ascii_case(name))
}

/// "an argument of NAME", for the messages about a built-in function's arguments (made once,
/// not at every call parsed).
fn arg_what(b: &Builtin) -> &'static str {
    static WHAT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let what = WHAT.get_or_init(|| {
        BUILTINS
            .iter()
            .map(|b| format!("an argument of {}", b.name))
            .collect()
    });
    BUILTINS
        .iter()
        .position(|x| std::ptr::eq(x, b))
        .map_or("an argument", |i| what[i].as_str())
}

/// Parse one ADQL query. `udfs` are the user-defined functions the service declares; any
/// other function name that is not ADQL's is refused. Errors: the first syntax error, with
/// its position and what was expected there.
pub fn parse(adql: &str, udfs: &[UdfSignature]) -> Result<Query, Diagnostic> {
    let toks = tokenize(adql)?;
    let reserved = toks
        .iter()
        .map(|t| matches!(&t.tok, Tok::Word(w) if is_reserved(w)))
        .collect();
    let mut p = Parser {
        toks,
        reserved,
        i: 0,
        depth: 0,
        udfs,
    };
    if p.at_end() {
        return Err(Diagnostic::syntax(p.span(), "the query is empty"));
    }
    let q = p.top_query()?;
    if p.is_op(";") {
        p.i += 1;
        if !p.at_end() {
            return Err(Diagnostic::syntax(
                p.span(),
                "one query only: ';' may end the query but not join several statements",
            ));
        }
    }
    if !p.at_end() {
        if matches!(p.tok(), Tok::Number(_))
            && matches!(&p.toks[p.i - 1].tok, Tok::Word(w) if w.eq_ignore_ascii_case("LIMIT"))
        {
            return Err(Diagnostic::syntax(p.prev_span(), "LIMIT is not ADQL")
                .with_hint("use SELECT TOP n"));
        }
        return Err(p.unexpected("the end of the query"));
    }
    Ok(q)
}

struct Parser<'a, 's> {
    toks: Vec<Token<'s>>,
    /// Whether each token is a reserved word (computed once).
    reserved: Vec<bool>,
    i: usize,
    depth: usize,
    udfs: &'a [UdfSignature],
}

fn describe(t: &Tok<'_>) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Quoted(w) => format!("\"{}\"", w.replace('"', "\"\"")),
        Tok::Number(n) => format!("the number {n}"),
        Tok::Hex(h) => format!("the number 0x{h}"),
        Tok::Str(s) => {
            let short: String = s.chars().take(30).collect();
            format!("the string '{short}'")
        }
        Tok::Op(o) => format!("'{o}'"),
        Tok::End => "the end of the query".into(),
    }
}

type PResult<T> = Result<T, Diagnostic>;

/// Run `f` with at least [`RED_ZONE`] bytes of stack, on a new stack segment if the thread's
/// own is nearly used up (stacker, as rustc does): the recursive descent is safe on any
/// thread, however small its stack, up to [`MAX_DEPTH`] levels.
pub(crate) fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// The stack one level of the descent may use (debug builds use far more than release).
const RED_ZONE: usize = 256 * 1024;
/// The size of each new stack segment.
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

impl<'s> Parser<'_, 's> {
    fn tok(&self) -> &Tok<'s> {
        &self.toks[self.i].tok
    }

    fn tok_at(&self, k: usize) -> &Tok<'s> {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.i].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.i.saturating_sub(1)].span
    }

    fn at_end(&self) -> bool {
        matches!(self.tok(), Tok::End)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.tok(), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, k: usize, kw: &str) -> bool {
        matches!(self.tok_at(k), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.tok(), Tok::Op(o) if *o == op)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// "expected `what`, found ..." at the current token, with a hint where a reserved word
    /// stands for a name.
    fn unexpected(&self, what: &str) -> Diagnostic {
        let d = Diagnostic::syntax(
            self.span(),
            format!("expected {what}, found {}", describe(self.tok())),
        );
        match self.tok() {
            Tok::Word(w)
                if is_reserved(w) && !CLAUSE_WORDS.iter().any(|c| c.eq_ignore_ascii_case(w)) =>
            {
                d.with_hint(format!(
                    "'{}' is an ADQL reserved word; to use it as a name write it as \"{}\"",
                    w.to_ascii_uppercase(),
                    w.to_ascii_lowercase()
                ))
            }
            _ => d,
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        if self.is_kw(kw) {
            self.i += 1;
            Ok(self.prev_span())
        } else {
            Err(self.unexpected(kw))
        }
    }

    fn expect_op(&mut self, op: &str) -> PResult<Span> {
        if self.is_op(op) {
            self.i += 1;
            Ok(self.prev_span())
        } else {
            Err(self.unexpected(&format!("'{op}'")))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::syntax(
                self.span(),
                format!("the query nests parentheses, subqueries or function calls more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// An identifier: a regular identifier that is not reserved, or a delimited one.
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.tok().clone() {
            Tok::Word(w) if !self.reserved[self.i] => {
                self.i += 1;
                Ok(Ident {
                    name: w.to_string(),
                    quoted: false,
                    span: self.prev_span(),
                })
            }
            Tok::Quoted(w) => {
                self.i += 1;
                Ok(Ident {
                    name: w.into_owned(),
                    quoted: true,
                    span: self.prev_span(),
                })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn is_ident_start(&self) -> bool {
        match self.tok() {
            Tok::Word(_) => !self.reserved[self.i],
            Tok::Quoted(_) => true,
            _ => false,
        }
    }

    /// A dotted name of at most `max` parts.
    fn name(&mut self, what: &str, max: usize) -> PResult<Name> {
        let mut parts = vec![self.ident(what)?];
        while self.is_op(".") && !matches!(self.tok_at(1), Tok::Op("*")) {
            self.i += 1;
            parts.push(self.ident("a name after '.'")?);
        }
        if parts.len() > max {
            let span = parts[0].span.to(parts[parts.len() - 1].span);
            return Err(Diagnostic::syntax(
                span,
                format!("{what} has at most {max} parts separated by '.'"),
            ));
        }
        Ok(Name { parts })
    }

    fn unsigned_int(&mut self, what: &str) -> PResult<(u64, Span)> {
        match self.tok().clone() {
            Tok::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                self.i += 1;
                let span = self.prev_span();
                n.parse::<u64>()
                    .map(|v| (v, span))
                    .map_err(|_| Diagnostic::syntax(span, format!("{what} {n} is too large")))
            }
            _ => Err(self.unexpected(&format!("an unsigned integer after {what}"))),
        }
    }

    // ---- queries -------------------------------------------------------------------------

    /// `[WITH ...] select_expression`.
    fn top_query(&mut self) -> PResult<Query> {
        let start = self.span();
        let mut with = Vec::new();
        if self.eat_kw("WITH") {
            loop {
                let name = self.ident("the name of a common table expression")?;
                self.expect_kw("AS")?;
                self.expect_op("(")?;
                self.enter()?;
                let query = self.select_expression()?;
                self.leave();
                self.expect_op(")")?;
                with.push(Cte { name, query });
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        let mut q = self.select_expression()?;
        q.with = with;
        q.span = start.to(self.prev_span());
        Ok(q)
    }

    /// `set_expression [ORDER BY ...] [OFFSET n]` (no WITH: ADQL allows it only outermost).
    fn select_expression(&mut self) -> PResult<Query> {
        grow(|| self.select_expression_inner())
    }

    fn select_expression_inner(&mut self) -> PResult<Query> {
        let start = self.span();
        if self.is_kw("WITH") {
            return Err(Diagnostic::syntax(
                self.span(),
                "WITH may only start the whole query, not a subquery or a part of a set operation",
            ));
        }
        let body = self.set_union()?;
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let expr =
                    self.value("an ORDER BY term (a column, an output name or a position)")?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                order_by.push(OrderTerm { expr, desc });
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        let offset = if self.eat_kw("OFFSET") {
            Some(self.unsigned_int("OFFSET")?)
        } else {
            None
        };
        Ok(Query {
            with: Vec::new(),
            body,
            order_by,
            offset,
            span: start.to(self.prev_span()),
        })
    }

    fn set_union(&mut self) -> PResult<SetExpr> {
        let mut left = self.set_intersect()?;
        loop {
            let op = if self.is_kw("UNION") {
                SetOp::Union
            } else if self.is_kw("EXCEPT") {
                SetOp::Except
            } else {
                return Ok(left);
            };
            let span = self.span();
            self.i += 1;
            let all = self.eat_kw("ALL");
            let right = self.set_intersect()?;
            left = SetExpr::SetOp {
                op,
                all,
                left: Box::new(left),
                right: Box::new(right),
                span,
            };
        }
    }

    fn set_intersect(&mut self) -> PResult<SetExpr> {
        let mut left = self.set_primary()?;
        while self.is_kw("INTERSECT") {
            let span = self.span();
            self.i += 1;
            let all = self.eat_kw("ALL");
            let right = self.set_primary()?;
            left = SetExpr::SetOp {
                op: SetOp::Intersect,
                all,
                left: Box::new(left),
                right: Box::new(right),
                span,
            };
        }
        Ok(left)
    }

    fn set_primary(&mut self) -> PResult<SetExpr> {
        if self.is_op("(") {
            self.i += 1;
            self.enter()?;
            let q = self.select_expression()?;
            self.leave();
            self.expect_op(")")?;
            return Ok(SetExpr::Query(Box::new(q)));
        }
        if self.is_kw("SELECT") {
            return Ok(SetExpr::Select(Box::new(self.select()?)));
        }
        Err(self.unexpected("SELECT"))
    }

    fn select(&mut self) -> PResult<Select> {
        let span = self.expect_kw("SELECT")?;
        let distinct = if self.eat_kw("DISTINCT") {
            true
        } else {
            self.eat_kw("ALL");
            false
        };
        let top = if self.eat_kw("TOP") {
            Some(self.unsigned_int("TOP")?)
        } else {
            None
        };
        // '*' may stand beside other items, as in SELECT a, b, * (lyonetia's ESO queries do so).
        let mut items = Vec::new();
        loop {
            if self.is_op("*") {
                items.push(SelectItem::Wildcard(self.span()));
                self.i += 1;
            } else {
                items.push(self.select_item()?);
            }
            if !self.eat_op(",") {
                break;
            }
        }
        if !self.is_kw("FROM") {
            return Err(self.unexpected("',' or FROM"));
        }
        self.i += 1;
        let mut from = vec![self.table_ref()?];
        while self.eat_op(",") {
            from.push(self.table_ref()?);
        }
        let where_ = if self.eat_kw("WHERE") {
            Some(self.condition("a condition after WHERE")?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            loop {
                group_by.push(self.value("a GROUP BY term (a column or an expression)")?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        let having = if self.eat_kw("HAVING") {
            Some(self.condition("a condition after HAVING")?)
        } else {
            None
        };
        Ok(Select {
            distinct,
            top,
            items,
            from,
            where_,
            group_by,
            having,
            span,
        })
    }

    fn select_item(&mut self) -> PResult<SelectItem> {
        // qualifier.* : a name, '.', '*'.
        if self.is_ident_start() {
            let mut k = 1;
            while matches!(self.tok_at(k), Tok::Op("."))
                && matches!(self.tok_at(k + 1), Tok::Word(_) | Tok::Quoted(_))
            {
                k += 2;
            }
            if matches!(self.tok_at(k), Tok::Op(".")) && matches!(self.tok_at(k + 1), Tok::Op("*"))
            {
                let name = self.name("a table name", 3)?;
                self.expect_op(".")?;
                self.expect_op("*")?;
                return Ok(SelectItem::QualifiedWildcard(name));
            }
        }
        let expr = self.value("a column, an expression or '*'")?;
        let alias = if self.eat_kw("AS") {
            Some(self.ident("an output column name after AS")?)
        } else if self.is_ident_start() {
            Some(self.ident("an output column name")?)
        } else {
            None
        };
        Ok(SelectItem::Expr { expr, alias })
    }

    // ---- FROM ----------------------------------------------------------------------------

    fn table_ref(&mut self) -> PResult<TableRef> {
        let mut left = self.table_primary()?;
        loop {
            let span = self.span();
            let natural = self.eat_kw("NATURAL");
            let kind = if self.eat_kw("INNER") {
                Some(JoinKind::Inner)
            } else if self.eat_kw("LEFT") {
                self.eat_kw("OUTER");
                Some(JoinKind::Left)
            } else if self.eat_kw("RIGHT") {
                self.eat_kw("OUTER");
                Some(JoinKind::Right)
            } else if self.eat_kw("FULL") {
                self.eat_kw("OUTER");
                Some(JoinKind::Full)
            } else if !natural && self.eat_kw("CROSS") {
                Some(JoinKind::Cross)
            } else {
                None
            };
            if !self.is_kw("JOIN") {
                if natural || kind.is_some() {
                    return Err(self.unexpected("JOIN"));
                }
                return Ok(left);
            }
            self.i += 1;
            let explicit_inner = kind == Some(JoinKind::Inner);
            let kind = kind.unwrap_or(JoinKind::Inner);
            let right = self.table_primary()?;
            let cond = if self.is_kw("ON") || self.is_kw("USING") {
                if natural || kind == JoinKind::Cross {
                    return Err(Diagnostic::syntax(
                        self.span(),
                        format!(
                            "a {} join takes no ON or USING",
                            if natural { "NATURAL" } else { "CROSS" }
                        ),
                    ));
                }
                if self.eat_kw("ON") {
                    JoinCond::On(self.condition("a join condition after ON")?)
                } else {
                    self.i += 1;
                    self.expect_op("(")?;
                    let mut cols = vec![self.ident("a column name")?];
                    while self.eat_op(",") {
                        cols.push(self.ident("a column name")?);
                    }
                    self.expect_op(")")?;
                    JoinCond::Using(cols)
                }
            } else {
                if explicit_inner && !natural {
                    return Err(self.unexpected("ON or USING after INNER JOIN"));
                }
                JoinCond::None
            };
            left = TableRef::Join {
                kind,
                natural,
                left: Box::new(left),
                right: Box::new(right),
                cond,
                span: span.to(self.prev_span()),
            };
        }
    }

    fn table_primary(&mut self) -> PResult<TableRef> {
        if self.is_op("(") {
            let open = self.span();
            // A derived table starts with SELECT (possibly after more parentheses, as in
            // ((SELECT ...) UNION (SELECT ...))); anything else is a joined table.
            let mut k = 1;
            while matches!(self.tok_at(k), Tok::Op("(")) {
                k += 1;
            }
            let derived = self.is_kw_at(k, "SELECT") || self.is_kw_at(k, "WITH");
            self.i += 1;
            self.enter()?;
            if derived {
                let query = self.select_expression()?;
                self.leave();
                self.expect_op(")")?;
                self.eat_kw("AS");
                if !self.is_ident_start() {
                    return Err(self
                        .unexpected("a name for the subquery in FROM (as in (SELECT ...) AS q)"));
                }
                let alias = self.ident("a name for the subquery")?;
                let mut q = query;
                q.span = open.to(q.span);
                return Ok(TableRef::Derived {
                    query: Box::new(q),
                    alias,
                });
            }
            let inner = self.table_ref()?;
            self.leave();
            self.expect_op(")")?;
            if !matches!(inner, TableRef::Join { .. }) {
                return Err(Diagnostic::syntax(
                    open,
                    "parentheses in FROM hold a subquery or a join, not a single table",
                ));
            }
            return Ok(inner);
        }
        let name = self.name("a table name", 3)?;
        let alias = if self.eat_kw("AS") {
            Some(self.ident("a table alias after AS")?)
        } else if self.is_ident_start() {
            Some(self.ident("a table alias")?)
        } else {
            None
        };
        Ok(TableRef::Table { name, alias })
    }

    // ---- conditions ----------------------------------------------------------------------

    /// A search condition: the result must be a condition.
    fn condition(&mut self, what: &str) -> PResult<Expr> {
        let e = self.or_expr(what)?;
        if class(&e) != Class::Cond {
            return Err(
                Diagnostic::syntax(e.span, format!("expected {what}, found a value"))
                    .with_hint(cond_hint(&e)),
            );
        }
        Ok(e)
    }

    /// A value expression: the result must not be a condition.
    fn value(&mut self, what: &str) -> PResult<Expr> {
        if self.is_kw("NULL") {
            self.i += 1;
            return Ok(Expr {
                kind: ExprKind::Null,
                span: self.prev_span(),
            });
        }
        let e = self.or_expr(what)?;
        if class(&e) == Class::Cond {
            return Err(Diagnostic::syntax(
                e.span,
                format!("expected {what}, found a condition"),
            )
            .with_hint("a comparison or predicate gives no value in ADQL; CONTAINS and INTERSECTS give 1 or 0"));
        }
        Ok(e)
    }

    fn or_expr(&mut self, what: &str) -> PResult<Expr> {
        grow(|| self.or_expr_inner(what))
    }

    fn or_expr_inner(&mut self, what: &str) -> PResult<Expr> {
        let first = self.and_expr(what)?;
        if !self.is_kw("OR") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_kw("OR") {
            terms.push(self.and_expr("a condition after OR")?);
        }
        logic(LogicOp::Or, terms)
    }

    fn and_expr(&mut self, what: &str) -> PResult<Expr> {
        let first = self.not_expr(what)?;
        if !self.is_kw("AND") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_kw("AND") {
            terms.push(self.not_expr("a condition after AND")?);
        }
        logic(LogicOp::And, terms)
    }

    fn not_expr(&mut self, what: &str) -> PResult<Expr> {
        if self.is_kw("NOT") {
            let span = self.span();
            self.i += 1;
            self.enter()?;
            let inner = grow(|| self.not_expr("a condition after NOT"))?;
            self.leave();
            if class(&inner) != Class::Cond {
                return Err(Diagnostic::syntax(
                    inner.span,
                    "expected a condition after NOT, found a value",
                )
                .with_hint(cond_hint(&inner)));
            }
            return Ok(Expr {
                span: span.to(inner.span),
                kind: ExprKind::Unary(UnaryOp::Not, Box::new(inner)),
            });
        }
        self.predicate(what)
    }

    /// A predicate, or a bare value (which the callers accept only where a value may stand).
    fn predicate(&mut self, what: &str) -> PResult<Expr> {
        if self.is_kw("EXISTS") {
            let span = self.span();
            self.i += 1;
            if !(self.is_op("(") && self.is_kw_at(1, "SELECT")) {
                return Err(self.unexpected("a subquery in parentheses after EXISTS"));
            }
            let q = self.paren_query()?;
            return Ok(Expr {
                span: span.to(self.prev_span()),
                kind: ExprKind::Exists(Box::new(q)),
            });
        }
        let left = if self.is_kw("NULL") {
            self.i += 1;
            Expr {
                kind: ExprKind::Null,
                span: self.prev_span(),
            }
        } else {
            self.concat(what)?
        };
        let comp = match self.tok() {
            Tok::Op("=") => Some(BinOp::Eq),
            Tok::Op("<>") => Some(BinOp::NotEq),
            Tok::Op("<") => Some(BinOp::Lt),
            Tok::Op("<=") => Some(BinOp::LtEq),
            Tok::Op(">") => Some(BinOp::Gt),
            Tok::Op(">=") => Some(BinOp::GtEq),
            _ => None,
        };
        if let Some(op) = comp {
            self.i += 1;
            self.operand_not_cond(&left, op.symbol())?;
            let right = if self.is_kw("NULL") {
                self.i += 1;
                Expr {
                    kind: ExprKind::Null,
                    span: self.prev_span(),
                }
            } else {
                self.concat("a value after the comparison")?
            };
            self.operand_not_cond(&right, op.symbol())?;
            return Ok(Expr {
                span: left.span.to(right.span),
                kind: ExprKind::Compare(Box::new(left), op, Box::new(right)),
            });
        }
        if self.is_kw("IS") {
            self.i += 1;
            let negated = self.eat_kw("NOT");
            if !self.is_kw("NULL") {
                return Err(self.unexpected(if negated {
                    "NULL after IS NOT"
                } else {
                    "NULL or NOT NULL after IS"
                }));
            }
            self.i += 1;
            self.operand_not_cond(&left, "IS NULL")?;
            return Ok(Expr {
                span: left.span.to(self.prev_span()),
                kind: ExprKind::IsNull {
                    expr: Box::new(left),
                    negated,
                },
            });
        }
        let negated = self.is_kw("NOT")
            && (self.is_kw_at(1, "BETWEEN")
                || self.is_kw_at(1, "IN")
                || self.is_kw_at(1, "LIKE")
                || self.is_kw_at(1, "ILIKE"));
        if negated {
            self.i += 1;
        }
        if self.eat_kw("BETWEEN") {
            self.operand_not_cond(&left, "BETWEEN")?;
            let low = self.concat("a lower bound after BETWEEN")?;
            self.operand_not_cond(&low, "BETWEEN")?;
            self.expect_kw("AND")?;
            let high = self.concat("an upper bound after AND")?;
            self.operand_not_cond(&high, "BETWEEN")?;
            return Ok(Expr {
                span: left.span.to(high.span),
                kind: ExprKind::Between {
                    expr: Box::new(left),
                    negated,
                    low: Box::new(low),
                    high: Box::new(high),
                },
            });
        }
        if self.eat_kw("IN") {
            self.operand_not_cond(&left, "IN")?;
            if !self.is_op("(") {
                return Err(self.unexpected("'(' after IN"));
            }
            if self.is_kw_at(1, "SELECT") {
                let q = self.paren_query()?;
                return Ok(Expr {
                    span: left.span.to(self.prev_span()),
                    kind: ExprKind::InQuery {
                        expr: Box::new(left),
                        negated,
                        query: Box::new(q),
                    },
                });
            }
            self.i += 1;
            self.enter()?;
            let mut list = vec![self.value("a value in the IN list")?];
            while self.eat_op(",") {
                list.push(self.value("a value in the IN list")?);
            }
            self.leave();
            self.expect_op(")")?;
            return Ok(Expr {
                span: left.span.to(self.prev_span()),
                kind: ExprKind::InList {
                    expr: Box::new(left),
                    negated,
                    list,
                },
            });
        }
        let like = self.is_kw("LIKE");
        if like || self.is_kw("ILIKE") {
            self.i += 1;
            self.text_operand(&left, "LIKE")?;
            let pattern = self.concat("a pattern after LIKE")?;
            self.text_operand(&pattern, "LIKE")?;
            return Ok(Expr {
                span: left.span.to(pattern.span),
                kind: ExprKind::Like {
                    expr: Box::new(left),
                    negated,
                    insensitive: !like,
                    pattern: Box::new(pattern),
                },
            });
        }
        if negated {
            return Err(self.unexpected("BETWEEN, IN, LIKE or ILIKE after NOT"));
        }
        Ok(left)
    }

    fn operand_not_cond(&self, e: &Expr, op: &str) -> PResult<()> {
        if class(e) == Class::Cond {
            return Err(
                Diagnostic::syntax(e.span, format!("'{op}' takes values, not conditions"))
                    .with_hint("combine conditions with AND, OR and NOT"),
            );
        }
        Ok(())
    }

    fn text_operand(&self, e: &Expr, op: &str) -> PResult<()> {
        match class(e) {
            Class::Primary | Class::Str | Class::StrFunc | Class::Udf => Ok(()),
            c => Err(Diagnostic::syntax(
                e.span,
                format!(
                    "{} cannot be an operand of {op}, which takes strings",
                    class_name(c)
                ),
            )),
        }
    }

    fn num_operand(&self, e: &Expr, op: &str) -> PResult<()> {
        match class(e) {
            Class::Primary | Class::Num | Class::NumFunc | Class::Udf => Ok(()),
            c => Err(Diagnostic::syntax(
                e.span,
                format!(
                    "{} cannot be an operand of '{op}', which takes numbers",
                    class_name(c)
                ),
            )),
        }
    }

    // ---- values --------------------------------------------------------------------------

    /// `a || b || ...` (or a numeric expression).
    fn concat(&mut self, what: &str) -> PResult<Expr> {
        let first = self.bitwise(what)?;
        if !self.is_op("||") {
            return Ok(first);
        }
        self.text_operand(&first, "||")?;
        let mut rest = Vec::new();
        while self.eat_op("||") {
            let e = self.bitwise("a value after '||'")?;
            self.text_operand(&e, "||")?;
            rest.push((BinOp::Concat, e));
        }
        Ok(chain(first, rest))
    }

    /// `a & b`, `a | b`, `a ^ b` (ADQL 2.1 §2.3.3), left-associative, binding less tightly
    /// than `+` and `-` (as in PostgreSQL).
    fn bitwise(&mut self, what: &str) -> PResult<Expr> {
        let first = self.additive(what)?;
        let op_here = |p: &Self| {
            [BinOp::BitAnd, BinOp::BitOr, BinOp::BitXor]
                .into_iter()
                .find(|o| p.is_op(o.symbol()))
        };
        let Some(op0) = op_here(self) else {
            return Ok(first);
        };
        self.num_operand(&first, op0.symbol())?;
        let mut rest = Vec::new();
        while let Some(op) = op_here(self) {
            self.i += 1;
            let e = self.additive("a value after the operator")?;
            self.num_operand(&e, op.symbol())?;
            rest.push((op, e));
        }
        Ok(chain(first, rest))
    }

    fn additive(&mut self, what: &str) -> PResult<Expr> {
        self.arithmetic(what, [BinOp::Add, BinOp::Sub], Self::term)
    }

    fn term(&mut self, what: &str) -> PResult<Expr> {
        self.arithmetic(what, [BinOp::Mul, BinOp::Div], Self::factor)
    }

    /// One left-associative level of arithmetic: `next (op next)*` with `ops`.
    fn arithmetic(
        &mut self,
        what: &str,
        ops: [BinOp; 2],
        next: fn(&mut Self, &str) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let first = next(self, what)?;
        let op_here = |p: &Self| ops.into_iter().find(|o| p.is_op(o.symbol()));
        let Some(op) = op_here(self) else {
            return Ok(first);
        };
        self.num_operand(&first, op.symbol())?;
        let mut rest = Vec::new();
        while let Some(op) = op_here(self) {
            self.i += 1;
            let e = next(self, "a value after the operator")?;
            self.num_operand(&e, op.symbol())?;
            rest.push((op, e));
        }
        Ok(chain(first, rest))
    }

    fn factor(&mut self, what: &str) -> PResult<Expr> {
        let op = if self.is_op("-") {
            Some(UnaryOp::Neg)
        } else if self.is_op("+") {
            Some(UnaryOp::Plus)
        } else if self.is_op("~") {
            Some(UnaryOp::BitNot)
        } else {
            None
        };
        let Some(op) = op else {
            return self.primary(what);
        };
        let span = self.span();
        self.i += 1;
        self.enter()?;
        let inner = grow(|| self.factor("a value after the sign"))?;
        self.leave();
        let symbol = match op {
            UnaryOp::Neg => "-",
            UnaryOp::BitNot => "~",
            _ => "+",
        };
        self.num_operand(&inner, symbol)?;
        Ok(Expr {
            span: span.to(inner.span),
            kind: ExprKind::Unary(op, Box::new(inner)),
        })
    }

    fn paren_query(&mut self) -> PResult<Query> {
        let open = self.expect_op("(")?;
        self.enter()?;
        let mut q = self.select_expression()?;
        self.leave();
        let close = self.expect_op(")")?;
        q.span = open.to(close);
        Ok(q)
    }

    fn primary(&mut self, what: &str) -> PResult<Expr> {
        let span = self.span();
        let tok = self.tok().clone();
        let lit = |kind| Ok(Expr { kind, span });
        match tok {
            Tok::Number(text) => {
                self.i += 1;
                let int = text.bytes().all(|b| b.is_ascii_digit());
                lit(ExprKind::Number {
                    text: text.into_owned(),
                    int,
                })
            }
            Tok::Hex(h) => {
                self.i += 1;
                lit(ExprKind::Hex(h.to_string()))
            }
            Tok::Str(s) => {
                self.i += 1;
                lit(ExprKind::Str(s.into_owned()))
            }
            Tok::Op("(") => {
                if self.is_kw_at(1, "SELECT") {
                    let q = self.paren_query()?;
                    return Ok(Expr {
                        span: q.span,
                        kind: ExprKind::Subquery(Box::new(q)),
                    });
                }
                self.i += 1;
                self.enter()?;
                let inner = if self.is_kw("NULL") && matches!(self.tok_at(1), Tok::Op(")")) {
                    self.i += 1;
                    Expr {
                        kind: ExprKind::Null,
                        span: self.prev_span(),
                    }
                } else {
                    self.or_expr("a value or a condition")?
                };
                self.leave();
                let close = self.expect_op(")")?;
                Ok(Expr {
                    span: span.to(close),
                    kind: ExprKind::Nested(Box::new(inner)),
                })
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("CASE") => self.case(),
            Tok::Word(w) if matches!(self.tok_at(1), Tok::Op("(")) => self.call_or_special(w),
            Tok::Word(_) | Tok::Quoted(_) if self.is_ident_start() => {
                let name = self.name("a column name", 4)?;
                let span = name.span();
                Ok(Expr {
                    kind: ExprKind::Column(name),
                    span,
                })
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => {
                Err(Diagnostic::syntax(span, "NULL cannot be an operand here"))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn case(&mut self) -> PResult<Expr> {
        let span = self.expect_kw("CASE")?;
        self.enter()?;
        let operand = if self.is_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.value("a value after CASE")?))
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let w = if operand.is_some() {
                self.value("a value after WHEN")?
            } else {
                self.condition("a condition after WHEN")?
            };
            self.expect_kw("THEN")?;
            let t = self.value("a value after THEN")?;
            whens.push((w, t));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let else_ = if self.eat_kw("ELSE") {
            Some(Box::new(self.value("a value after ELSE")?))
        } else {
            None
        };
        let end = self.expect_kw("END")?;
        self.leave();
        Ok(Expr {
            span: span.to(end),
            kind: ExprKind::Case {
                operand,
                whens,
                else_,
            },
        })
    }

    /// A function call, CAST or COALESCE: the current token is the name, the next '('.
    fn call_or_special(&mut self, word: &str) -> PResult<Expr> {
        let name_span = self.span();
        if word.eq_ignore_ascii_case("CAST") {
            self.i += 2;
            self.enter()?;
            let e = self.value("a value to CAST")?;
            self.expect_kw("AS")?;
            let target = self.cast_type()?;
            self.leave();
            let close = self.expect_op(")")?;
            return Ok(Expr {
                span: name_span.to(close),
                kind: ExprKind::Cast(Box::new(e), target),
            });
        }
        let Some(b) = builtin(word) else {
            return self.udf_call(word);
        };
        self.i += 2;
        self.enter()?;
        let mut call = Call {
            name: b.name.to_string(),
            udf: false,
            frame: None,
            args: Vec::new(),
            distinct: false,
            star: false,
            name_span,
        };
        if b.args == Args::Aggregate {
            if b.name == "COUNT" && self.is_op("*") {
                self.i += 1;
                call.star = true;
            } else {
                if self.eat_kw("DISTINCT") {
                    call.distinct = true;
                } else {
                    self.eat_kw("ALL");
                }
                call.args.push(self.value("a value in the set function")?);
            }
        } else if !self.is_op(")") {
            loop {
                call.args.push(self.value(arg_what(b))?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.leave();
        let close = self.expect_op(")")?;
        let span = name_span.to(close);
        self.check_args(&mut call, b, span)?;
        Ok(Expr {
            span,
            kind: ExprKind::Call(call),
        })
    }

    fn udf_call(&mut self, word: &str) -> PResult<Expr> {
        let name_span = self.span();
        let declared = self
            .udfs
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(word))
            .cloned();
        // The ivo_ prefix is reserved for functions that IVOA documents define (ADQL 2.1
        // §2.4, TAPRegExt): such a call is a UDF call by its name alone, and whether this
        // service provides it is the checker's question.
        let ivo = word.len() > 4 && word[..4].eq_ignore_ascii_case("ivo_");
        let udf = declared.or_else(|| {
            ivo.then(|| UdfSignature {
                name: word.to_string(),
                min_args: 0,
                max_args: usize::MAX,
            })
        });
        let Some(udf) = udf else {
            let d = Diagnostic::syntax(
                name_span,
                format!("'{word}' is neither an ADQL function nor a function of this service"),
            );
            return Err(if is_reserved(word) {
                d.with_hint(format!(
                    "'{}' is an SQL reserved word, not an ADQL function",
                    word.to_ascii_uppercase()
                ))
            } else {
                d.with_hint("/tap/capabilities lists the functions this service declares")
            });
        };
        self.i += 2;
        self.enter()?;
        let mut args = Vec::new();
        if !self.is_op(")") {
            loop {
                args.push(self.value("a function argument")?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.leave();
        let close = self.expect_op(")")?;
        let span = name_span.to(close);
        if args.len() < udf.min_args || args.len() > udf.max_args {
            return Err(Diagnostic::syntax(
                span,
                format!(
                    "{} takes {} arguments, not {}",
                    udf.name,
                    if udf.min_args == udf.max_args {
                        udf.min_args.to_string()
                    } else {
                        format!("{} to {}", udf.min_args, udf.max_args)
                    },
                    args.len()
                ),
            ));
        }
        Ok(Expr {
            span,
            kind: ExprKind::Call(Call {
                name: udf.name.clone(),
                udf: true,
                frame: None,
                args,
                distinct: false,
                star: false,
                name_span,
            }),
        })
    }

    fn cast_type(&mut self) -> PResult<CastType> {
        const TYPES: &str = "a type (SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR, VARCHAR, TIMESTAMP, POINT, CIRCLE or POLYGON)";
        let not_a_type = |p: &Self| {
            Diagnostic::syntax(
                p.span(),
                format!("expected {TYPES}, found {}", describe(p.tok())),
            )
        };
        let Tok::Word(w) = self.tok().clone() else {
            return Err(not_a_type(self));
        };
        let w = w.to_ascii_uppercase();
        let len = |p: &mut Self| -> PResult<Option<u32>> {
            if p.eat_op("(") {
                let (n, span) = p.unsigned_int("the length")?;
                p.expect_op(")")?;
                if n == 0 || n > u32::MAX as u64 {
                    return Err(Diagnostic::syntax(span, "a length must be from 1 up"));
                }
                Ok(Some(n as u32))
            } else {
                Ok(None)
            }
        };
        let t = match w.as_str() {
            "SMALLINT" => CastType::Smallint,
            "INTEGER" => CastType::Integer,
            "BIGINT" => CastType::Bigint,
            "REAL" => CastType::Real,
            "DOUBLE" => {
                self.i += 1;
                self.expect_kw("PRECISION")?;
                return Ok(CastType::Double);
            }
            "CHAR" => {
                self.i += 1;
                return Ok(CastType::Char(len(self)?));
            }
            "VARCHAR" => {
                self.i += 1;
                return Ok(CastType::Varchar(len(self)?));
            }
            "TIMESTAMP" => CastType::Timestamp,
            "POINT" => CastType::Point,
            "CIRCLE" => CastType::Circle,
            "POLYGON" => CastType::Polygon,
            _ => return Err(not_a_type(self)),
        };
        self.i += 1;
        Ok(t)
    }

    /// Check and normalise the arguments of a built-in function: counts, literal-only
    /// arguments, the classes of argument the grammar allows, and the coordinate-system
    /// argument of the geometry constructors, moved to [`Call::frame`].
    fn check_args(&self, call: &mut Call, b: &Builtin, span: Span) -> PResult<()> {
        let n = call.args.len();
        let name = b.name;
        let count_err = |want: &str| {
            Diagnostic::syntax(span, format!("{name} takes {want}, not {n} arguments"))
        };
        let is_frame = |e: &Expr| matches!(e.kind, ExprKind::Str(_) | ExprKind::Null);
        let numeric = |e: &Expr| match class(e) {
            Class::Primary | Class::Num | Class::NumFunc | Class::Udf => Ok(()),
            c => Err(Diagnostic::syntax(
                e.span,
                format!(
                    "{} cannot be an argument of {name}, which takes numbers",
                    class_name(c)
                ),
            )),
        };
        let geometry = |e: &Expr| match class(e) {
            Class::Primary | Class::GeoFunc | Class::Udf => Ok(()),
            c => Err(Diagnostic::syntax(
                e.span,
                format!(
                    "{} cannot be an argument of {name}, which takes geometries",
                    class_name(c)
                ),
            )),
        };
        let coord = |e: &Expr| {
            let ok = match &e.kind {
                ExprKind::Column(_) => true,
                ExprKind::Call(c) => c.udf || c.name == "POINT" || c.name == "CENTROID",
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(Diagnostic::syntax(
                    e.span,
                    format!("{name} takes a point here: POINT(...), CENTROID(...) or a column"),
                ))
            }
        };
        let literal_int = |e: &Expr, signed: bool| {
            let inner = match &e.kind {
                ExprKind::Unary(UnaryOp::Neg | UnaryOp::Plus, x) if signed => x.as_ref(),
                _ => e,
            };
            if matches!(&inner.kind, ExprKind::Number { int: true, .. }) {
                Ok(())
            } else {
                Err(Diagnostic::syntax(
                    e.span,
                    format!(
                        "{name} takes {} integer literal here",
                        if signed { "a signed" } else { "an unsigned" }
                    ),
                ))
            }
        };
        // Geometry constructors: a leading string (or NULL) is the coordinate system.
        let takes_frame = matches!(
            b.args,
            Args::Point | Args::Circle | Args::Box | Args::Polygon
        );
        if takes_frame && n > 0 && is_frame(&call.args[0]) {
            let rest = n - 1;
            let frame_fits = match b.args {
                Args::Point => rest == 2,
                Args::Circle => rest == 2 || rest == 3,
                Args::Box => rest == 3 || rest == 4,
                _ => rest >= 3,
            };
            if frame_fits {
                call.frame = Some(Box::new(call.args.remove(0)));
            }
        }
        let args = &call.args;
        let n = args.len();
        match b.args {
            Args::Num(k) => {
                if n != k {
                    return Err(count_err(&plural(k, "number")));
                }
                args.iter().try_for_each(numeric)?;
            }
            Args::NumOptInt => {
                if !(1..=2).contains(&n) {
                    return Err(count_err("a number and optionally a number of digits"));
                }
                numeric(&args[0])?;
                if n == 2 {
                    literal_int(&args[1], true)?;
                }
            }
            Args::OptSeed => {
                if n > 1 {
                    return Err(count_err("at most one seed"));
                }
                if n == 1 {
                    literal_int(&args[0], false)?;
                }
            }
            Args::Geo(k) => {
                if n != k {
                    return Err(count_err(&plural(k, "geometry")));
                }
                args.iter().try_for_each(geometry)?;
            }
            Args::Coord => {
                if n != 1 {
                    return Err(count_err("one point"));
                }
                coord(&args[0])?;
            }
            Args::Distance => match n {
                2 => args.iter().try_for_each(coord)?,
                4 => args.iter().try_for_each(numeric)?,
                _ => return Err(count_err("two points or four numbers")),
            },
            Args::Text | Args::Substring => {
                if b.args == Args::Text && n != 1 {
                    return Err(count_err("one string"));
                }
                if b.args == Args::Substring {
                    if !(2..=3).contains(&n) {
                        return Err(count_err("a string, a start and optionally a length"));
                    }
                    args[1..].iter().try_for_each(numeric)?;
                }
                match class(&args[0]) {
                    Class::Primary | Class::Str | Class::StrFunc | Class::Udf => {}
                    c => {
                        return Err(Diagnostic::syntax(
                            args[0].span,
                            format!(
                                "{} cannot be an argument of {name}, which takes a string",
                                class_name(c)
                            ),
                        ))
                    }
                }
            }
            Args::InUnit => {
                if n != 2 {
                    return Err(count_err("a number and a unit string"));
                }
                numeric(&args[0])?;
                if !matches!(args[1].kind, ExprKind::Str(_)) {
                    return Err(Diagnostic::syntax(
                        args[1].span,
                        "IN_UNIT takes the unit as a string literal, e.g. 'rad'",
                    ));
                }
            }
            Args::StrLit => {
                if n != 1 || !matches!(args[0].kind, ExprKind::Str(_)) {
                    return Err(count_err("one STC-S string literal"));
                }
            }
            Args::Point => {
                if n != 2 {
                    return Err(count_err("[a coordinate system,] two numbers"));
                }
                args.iter().try_for_each(numeric)?;
            }
            Args::Circle | Args::Box => {
                let extra = if b.args == Args::Circle { 1 } else { 2 };
                if n == extra + 2 {
                    args.iter().try_for_each(numeric)?;
                } else if n == extra + 1 {
                    coord(&args[0])?;
                    args[1..].iter().try_for_each(numeric)?;
                } else {
                    return Err(count_err(if extra == 1 {
                        "[a coordinate system,] a centre (a point or two numbers) and a radius"
                    } else {
                        "[a coordinate system,] a centre (a point or two numbers), a width and a height"
                    }));
                }
            }
            Args::Polygon => {
                let all_points = args.iter().all(|a| coord(a).is_ok());
                let all_numbers = args.iter().all(|a| numeric(a).is_ok());
                if !((n >= 3 && all_points) || (n >= 6 && n.is_multiple_of(2) && all_numbers)) {
                    return Err(count_err(
                        "[a coordinate system,] three or more vertices, as pairs of numbers or as points",
                    ));
                }
            }
            Args::Aggregate => {}
            Args::Values => {
                if n == 0 {
                    return Err(count_err("one or more values"));
                }
            }
        }
        Ok(())
    }
}

fn plural(k: usize, what: &str) -> String {
    let many = match what {
        "geometry" => "geometries",
        "number" => "numbers",
        other => other,
    };
    match k {
        0 => "no arguments".into(),
        1 => format!("one {what}"),
        _ => format!("{k} {many}"),
    }
}

fn class_name(c: Class) -> &'static str {
    match c {
        Class::GeoFunc => "a geometry (POINT, CIRCLE, ...)",
        Class::Cond => "a condition",
        Class::Null => "NULL",
        Class::Str => "a concatenation",
        Class::StrFunc => "a string function",
        Class::Num => "an arithmetic expression",
        Class::NumFunc => "a numeric function",
        Class::Primary | Class::Udf => "this value",
    }
}

fn cond_hint(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Call(c) if c.name == "CONTAINS" || c.name == "INTERSECTS" => {
            format!(
                "{} gives 1 or 0: compare it, as in {}(...) = 1",
                c.name, c.name
            )
        }
        _ => "a condition compares values (=, <, BETWEEN, LIKE, IN, IS NULL ...)".into(),
    }
}

fn chain(first: Expr, rest: Vec<(BinOp, Expr)>) -> Expr {
    let span = first
        .span
        .to(rest.last().map(|(_, e)| e.span).unwrap_or(first.span));
    Expr {
        span,
        kind: ExprKind::Chain {
            first: Box::new(first),
            rest,
        },
    }
}

fn logic(op: LogicOp, terms: Vec<Expr>) -> PResult<Expr> {
    for t in &terms {
        if class(t) != Class::Cond {
            let word = if op == LogicOp::And { "AND" } else { "OR" };
            return Err(Diagnostic::syntax(
                t.span,
                format!("{word} combines conditions, but this is a value"),
            )
            .with_hint(cond_hint(t)));
        }
    }
    let span = terms[0].span.to(terms[terms.len() - 1].span);
    Ok(Expr {
        span,
        kind: ExprKind::Logic(op, terms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> Diagnostic {
        parse(q, &[]).expect_err("a syntax error")
    }

    fn at(d: &Diagnostic) -> (u32, u32) {
        let s = d.span.expect("a span").start;
        (s.line, s.column)
    }

    #[test]
    fn every_reserved_word_is_found_in_any_case_and_nothing_else() {
        for w in RESERVED {
            assert!(is_reserved(w), "{w}");
            assert!(is_reserved(&w.to_ascii_lowercase()), "{w}");
        }
        for w in [
            "",
            "a",
            "s_ra",
            "obs_id",
            "ra",
            "dec",
            "sizes",
            "selec",
            "_select",
            "1abs",
            "current_timestamps",
            "élan",
            "SELECT1",
            "t",
        ] {
            assert!(!is_reserved(w), "{w}");
        }
        assert_eq!(
            RESERVED.iter().map(|w| w.len()).max(),
            Some(MAX_RESERVED_LEN)
        );
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let d = err("SELECT a\nFROM t\nWHERE");
        assert_eq!(at(&d), (3, 6));
        assert!(
            d.message.contains("expected a condition after WHERE"),
            "{d}"
        );
        assert!(d.message.contains("the end of the query"), "{d}");
        let d = err("SELECT size FROM t");
        assert_eq!(at(&d), (1, 8));
        assert!(
            d.hint.as_deref().is_some_and(|h| h.contains("\"size\"")),
            "{d}"
        );
        assert!(err("SELECT a FROM t LIMIT 3")
            .hint
            .is_some_and(|h| h.contains("TOP")));
        assert!(err("SELECT a FROM t; DROP TABLE t")
            .message
            .contains("one query only"));
        assert!(parse("SELECT a FROM t;", &[]).is_ok());
    }

    #[test]
    fn structure_is_read_as_sql_reads_it() {
        let q = parse(
            "SELECT a FROM t UNION SELECT a FROM u INTERSECT SELECT a FROM v ORDER BY 1",
            &[],
        )
        .expect("parses");
        // INTERSECT binds tighter than UNION; ORDER BY belongs to the whole.
        let SetExpr::SetOp {
            op: SetOp::Union,
            right,
            ..
        } = &q.body
        else {
            panic!("{q:?}")
        };
        assert!(matches!(
            right.as_ref(),
            SetExpr::SetOp {
                op: SetOp::Intersect,
                ..
            }
        ));
        assert_eq!(q.order_by.len(), 1);
        let q = parse("SELECT a FROM t WHERE a = 1 OR b = 2 AND c = 3", &[]).expect("parses");
        let SetExpr::Select(s) = &q.body else {
            panic!()
        };
        let Some(Expr {
            kind: ExprKind::Logic(LogicOp::Or, terms),
            ..
        }) = &s.where_
        else {
            panic!("{s:?}")
        };
        assert!(matches!(terms[1].kind, ExprKind::Logic(LogicOp::And, _)));
    }

    #[test]
    fn geometry_frames_are_separated_from_coordinates() {
        let q = parse("SELECT POINT('ICRS', 1, 2), CIRCLE(POINT(1, 2), 3), POLYGON(NULL, 1, 2, 3, 4, 5, 6) FROM t", &[])
            .expect("parses");
        let SetExpr::Select(s) = &q.body else {
            panic!()
        };
        let calls: Vec<&Call> = s
            .items
            .iter()
            .map(|i| match i {
                SelectItem::Expr {
                    expr:
                        Expr {
                            kind: ExprKind::Call(c),
                            ..
                        },
                    ..
                } => c,
                _ => panic!(),
            })
            .collect();
        assert!(calls[0].frame.is_some() && calls[0].args.len() == 2);
        assert!(calls[1].frame.is_none() && calls[1].args.len() == 2);
        assert!(calls[2].frame.is_some() && calls[2].args.len() == 6);
    }

    #[test]
    fn long_chains_and_deep_nesting_cannot_exhaust_the_stack() {
        // Run where a request handler would: on a thread with a 2 MiB stack.
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let ors = vec!["a = 1"; 10_000].join(" OR ");
                let q = parse(&format!("SELECT a FROM t WHERE {ors}"), &[]).expect("parses");
                drop(q);
                let sum = vec!["a"; 10_000].join(" + ");
                assert!(parse(&format!("SELECT {sum} FROM t"), &[]).is_ok());
                let deep = format!(
                    "SELECT {}1{} FROM t",
                    "(".repeat(MAX_DEPTH),
                    ")".repeat(MAX_DEPTH)
                );
                assert!(parse(&deep, &[]).is_ok(), "{MAX_DEPTH} levels parse");
                for n in [MAX_DEPTH + 1, 100_000] {
                    let deep = format!("SELECT {}1{} FROM t", "(".repeat(n), ")".repeat(n));
                    assert!(err(&deep).message.contains("levels deep"));
                    let neg = format!("SELECT {}1 FROM t", "- ".repeat(n));
                    assert!(err(&neg).message.contains("levels deep"));
                    let nots = format!("SELECT a FROM t WHERE {} a = 1", "NOT ".repeat(n));
                    assert!(err(&nots).message.contains("levels deep"));
                }
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn functions_must_exist_with_their_argument_counts() {
        assert!(err("SELECT foo(a) FROM t")
            .message
            .contains("'foo' is neither"));
        let udfs = [UdfSignature {
            name: "gavo_x".into(),
            min_args: 1,
            max_args: 2,
        }];
        assert!(parse("SELECT gavo_x(a) FROM t", &udfs).is_ok());
        assert!(parse("SELECT GAVO_X(a, 1, 2) FROM t", &udfs)
            .expect_err("too many")
            .message
            .contains("takes 1 to 2 arguments, not 3"));
        // The ivo_ prefix is IVOA's: such a call is a UDF call by name (checked later).
        assert!(parse("SELECT ivo_hasword(a, 'x') FROM t", &[]).is_ok());
        assert!(err("SELECT ROUND(a, 1.5) FROM t")
            .message
            .contains("integer literal"));
        assert!(err("SELECT DISTANCE(1, 2, 3) FROM t")
            .message
            .contains("two points or four numbers"));
        assert!(err("SELECT LOWER(1 + 2) FROM t")
            .message
            .contains("cannot be an argument of LOWER"));
    }
}
