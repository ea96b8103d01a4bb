//! The scalar functions of ADQL 2.1 §2.3 (math and trigonometry) and §2.5 (LOWER, UPPER):
//! argument kinds and result metadata. The dialects render them (`SqlDialect::function`)
//! with PostgreSQL's results, errors included, on every backend.

use std::borrow::Cow;

use vo_common::FieldMeta;

use super::expr::{computed, numeric_field};
use super::{Checker, Kind, Typed};
use crate::ast::Call;
use crate::ir::*;

/// The math and trigonometric functions this checker takes.
pub const MATH: &[&str] = &[
    "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS",
    "RAND", "ROUND", "SQRT", "TRUNCATE", "ACOS", "ASIN", "ATAN", "ATAN2", "COS", "COT", "SIN",
    "TAN",
];

/// RAND(seed)'s generator is MINSTD (Park & Miller 1988, CACM 31, 1192, with Park, Miller &
/// Stockmeyer's multiplier 48271): x ← 48271 x mod (2³¹ − 1), starting from (seed mod (2³¹ −
/// 2)) + 1, each value x / (2³¹ − 1) in (0, 1). The dialects render `RAND_SEEDED(seed mod
/// (2³¹ − 2), call)`, one sequence per call of the query, so the same query gives the same
/// values at every run.
pub const RAND_MODULUS: u64 = 2_147_483_646;

/// Whether `name` is one of the functions of [`Checker::scalar_function`].
pub(super) fn is_scalar_function(name: &str) -> bool {
    static_name(name).is_some()
}

/// `name` as the `&'static str` of [`MATH`], LOWER or UPPER.
fn static_name(name: &str) -> Option<&'static str> {
    MATH.iter()
        .chain(["LOWER", "UPPER", "SUBSTRING"].iter())
        .find(|n| n.eq_ignore_ascii_case(name))
        .copied()
}

impl<'a> Checker<'a> {
    /// A math or trigonometric function (ADQL 2.1 §2.3), or LOWER / UPPER (§2.5).
    ///
    /// Results: ABS keeps its argument's type; MOD of two integers is an integer; every
    /// other math function is a double. ABS, CEILING, FLOOR, ROUND, TRUNCATE and MOD keep
    /// the unit of their (first) argument; DEGREES gives `deg`, RADIANS `rad`. LOWER and
    /// UPPER give text.
    pub(super) fn scalar_function(&mut self, c: &Call) -> Option<Typed<'a>> {
        let name = static_name(&c.name)?;
        if name == "RAND" && !c.args.is_empty() {
            // RAND(seed): a sequence of its own for this call, the same at every run (the
            // parser took the seed as an unsigned integer literal).
            let seed = match &c.args[0].kind {
                crate::ast::ExprKind::Number { text, .. } => text.parse::<u64>().ok(),
                _ => None,
            };
            let Some(seed) = seed else {
                self.err(
                    c.args[0].span,
                    "RAND's seed must be an unsigned integer literal",
                );
                return None;
            };
            self.rand_sites += 1;
            let int = |v: u64| Node::Num {
                text: v.to_string(),
                int: true,
            };
            let mut field = computed("double").into_owned();
            field.name = "rand".into();
            return Some(Typed {
                node: Node::Func(
                    "RAND_SEEDED",
                    vec![int(seed % RAND_MODULUS), int(self.rand_sites as u64)],
                ),
                field: Cow::Owned(field),
                kind: Kind::Number,
                aggregate: false,
            });
        }
        if name == "SUBSTRING" {
            return self.substring(c);
        }
        let mut args = Vec::with_capacity(c.args.len());
        let mut aggregate = false;
        for a in &c.args {
            let t = self.value(a)?;
            let text = matches!(name, "LOWER" | "UPPER");
            let fits = match t.kind {
                Kind::Null => true,
                Kind::Number => !text,
                Kind::Text => text,
                _ => false,
            };
            if !fits {
                self.err(
                    a.span,
                    format!(
                        "{name} takes {}, but this is {}",
                        if text { "text" } else { "numbers" },
                        t.kind.describe()
                    ),
                );
                return None;
            }
            aggregate |= t.aggregate;
            args.push(t);
        }
        let first = args.first().map(|t| t.field.clone());
        let is_int = |f: &Option<Cow<FieldMeta>>| {
            f.as_ref().is_some_and(|f| {
                matches!(
                    f.datatype.as_str(),
                    "short" | "int" | "long" | "unsignedByte"
                )
            })
        };
        let keep_unit = |datatype: &str| {
            let mut f = numeric_field(datatype);
            if let Some(first) = &first {
                f.unit = first.unit.clone();
            }
            Cow::Owned(f)
        };
        let (field, kind): (Cow<'static, FieldMeta>, Kind) = match name {
            "LOWER" | "UPPER" => (super::expr::computed_text(), Kind::Text),
            "ABS" => {
                let datatype = first
                    .as_ref()
                    .map_or("double".to_string(), |f| f.datatype.clone());
                (keep_unit(&datatype), Kind::Number)
            }
            "MOD" if is_int(&first) && is_int(&args.get(1).map(|t| t.field.clone())) => {
                let wide = super::expr::wider(
                    first.as_ref().map_or("long", |f| f.datatype.as_str()),
                    args.get(1).map_or("long", |t| t.field.datatype.as_str()),
                )
                .to_string();
                (keep_unit(&wide), Kind::Number)
            }
            "CEILING" | "FLOOR" | "ROUND" | "TRUNCATE" | "MOD" => {
                (keep_unit("double"), Kind::Number)
            }
            "DEGREES" | "RADIANS" => {
                let mut f = numeric_field("double");
                f.unit = Some(if name == "DEGREES" { "deg" } else { "rad" }.into());
                (Cow::Owned(f), Kind::Number)
            }
            _ => (computed("double"), Kind::Number),
        };
        let mut field = field;
        field.to_mut().name = name.to_ascii_lowercase();
        // MOD of non-integers is FMOD to the dialects: `a - TRUNCATE(a / b) * b` in double
        // precision (PostgreSQL has no mod of doubles).
        let name = if name == "MOD" && field.datatype == "double" {
            "FMOD"
        } else {
            name
        };
        Some(Typed {
            node: Node::Func(name, args.into_iter().map(|t| t.node).collect()),
            field,
            kind,
            aggregate,
        })
    }

    /// IN_UNIT(value, 'unit') (ADQL 2.1 §2.4): the value, whose unit is its column's (or
    /// what a function gives it), times the factor to `unit` ([`crate::vounit`]). Errors:
    /// a value without a unit, a unit that cannot be read, units of different dimensions.
    pub(super) fn in_unit(&mut self, c: &Call) -> Option<Typed<'a>> {
        let t = self.value(&c.args[0])?;
        if !matches!(t.kind, Kind::Number | Kind::Null) {
            self.err(
                c.args[0].span,
                format!("IN_UNIT takes a number, but this is {}", t.kind.describe()),
            );
            return None;
        }
        let crate::ast::ExprKind::Str(to) = &c.args[1].kind else {
            self.err(c.args[1].span, "IN_UNIT takes the unit as a string literal");
            return None;
        };
        let Some(from) = t.field.unit.clone().filter(|u| !u.trim().is_empty()) else {
            self.err(
                c.args[0].span,
                "IN_UNIT: this value has no unit to convert from",
            );
            return None;
        };
        let factor = match crate::vounit::conversion(&from, to) {
            Ok(f) => f,
            Err(e) => {
                self.err(c.args[1].span, format!("IN_UNIT: {e}"));
                return None;
            }
        };
        let mut field = numeric_field("double");
        field.name = "in_unit".into();
        field.unit = Some(to.trim().to_string());
        field.ucd = t.field.ucd.clone();
        let node = Node::Chain(
            Box::new(Node::Nested(Box::new(t.node))),
            vec![(
                crate::ast::BinOp::Mul,
                Node::Num {
                    text: format!("{factor:?}"),
                    int: false,
                },
            )],
        );
        Some(Typed {
            node,
            field: Cow::Owned(field),
            kind: Kind::Number,
            aggregate: t.aggregate,
        })
    }

    /// SUBSTRING(s, start[, length]), an extension (ADQL 2.1 reserves the word): the
    /// characters of `s` from `start` (1 is the first; positions before 1 count but hold
    /// nothing) for `length` characters (to the end without one), as PostgreSQL's `substr`;
    /// a negative length is an error.
    fn substring(&mut self, c: &Call) -> Option<Typed<'a>> {
        let mut args = Vec::new();
        let mut aggregate = false;
        for (i, a) in c.args.iter().enumerate() {
            let t = self.value(a)?;
            let int = matches!(
                t.field.datatype.as_str(),
                "short" | "int" | "long" | "unsignedByte"
            );
            let fits = match (i, t.kind) {
                (_, Kind::Null) => true,
                (0, k) => k == Kind::Text,
                (_, k) => k == Kind::Number && int,
            };
            if !fits {
                self.err(
                    a.span,
                    format!(
                        "SUBSTRING takes {} here, but this is {}",
                        if i == 0 { "a string" } else { "an integer" },
                        t.kind.describe()
                    ),
                );
                return None;
            }
            aggregate |= t.aggregate;
            args.push(t.node);
        }
        let mut field = super::expr::computed_text();
        field.to_mut().name = "substring".into();
        Some(Typed {
            node: Node::Func("SUBSTRING", args),
            field,
            kind: Kind::Text,
            aggregate,
        })
    }
}
