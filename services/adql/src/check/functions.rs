//! The scalar functions of ADQL 2.1 §2.3 (math and trigonometry) and §2.5 (LOWER, UPPER):
//! argument kinds and result metadata. The dialects render them (`SqlDialect::function`)
//! with PostgreSQL's results, errors included, on every backend.

use std::borrow::Cow;

use vo_common::FieldMeta;

use super::expr::{computed, numeric_field};
use super::{Checker, Kind, Typed};
use crate::ast::Call;
use crate::diag::Span;
use crate::ir::*;

/// The math and trigonometric functions this checker takes (RAND without a seed only).
pub const MATH: &[&str] = &[
    "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS",
    "RAND", "ROUND", "SQRT", "TRUNCATE", "ACOS", "ASIN", "ATAN", "ATAN2", "COS", "COT", "SIN",
    "TAN",
];

/// Whether `name` is one of the functions of [`Checker::scalar_function`].
pub(super) fn is_scalar_function(name: &str) -> bool {
    static_name(name).is_some()
}

/// `name` as the `&'static str` of [`MATH`], LOWER or UPPER.
fn static_name(name: &str) -> Option<&'static str> {
    MATH.iter()
        .chain(["LOWER", "UPPER"].iter())
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
    pub(super) fn scalar_function(&mut self, c: &Call, span: Span) -> Option<Typed<'a>> {
        let name = static_name(&c.name)?;
        if name == "RAND" && !c.args.is_empty() {
            self.err(
                span,
                "RAND with a seed is not supported yet: use RAND() (a new value for each row)",
            );
            return None;
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
}
