//! The user-defined functions of the IVOA UDF catalogue (Endorsed Note "Catalogue of ADQL
//! User Defined Functions", as GAVO DaCHS defines them) that vogate provides on every
//! backend, declared in /tap/capabilities (TAPRegExt `features-udf`) from [`UDFS`].

use std::borrow::Cow;

use vo_common::FieldMeta;

use super::expr::{computed, computed_text, numeric_field};
use super::{Checker, Kind, Typed};
use crate::ast::{Call, Expr};
use crate::diag::Span;
use crate::ir::*;
use crate::parser::UdfSignature;

/// A user-defined function: its name, its TAPRegExt signature and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udf {
    /// The name (lower case, as the catalogue writes it).
    pub name: &'static str,
    /// The signatures as TAPRegExt `<form>`s.
    pub forms: &'static [&'static str],
    /// What it computes, with units.
    pub description: &'static str,
    /// The fewest and most arguments.
    pub args: (usize, usize),
}

/// The user-defined functions vogate provides, on both backends with the same results.
pub const UDFS: &[Udf] = &[
    Udf {
        name: "ivo_healpix_index",
        forms: &[
            "ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE PRECISION, dec DOUBLE PRECISION) -> BIGINT",
            "ivo_healpix_index(hpxOrder INTEGER, p POINT) -> BIGINT",
        ],
        description: "The index of the NESTED HEALPix cell of order hpxOrder (0 to 29) that holds the position (ra, dec, degrees).",
        args: (2, 3),
    },
    Udf {
        name: "ivo_healpix_center",
        forms: &["ivo_healpix_center(hpxOrder INTEGER, hpxIndex BIGINT) -> POINT"],
        description: "The centre of the NESTED HEALPix cell hpxIndex of order hpxOrder (0 to 29), a POINT in degrees.",
        args: (2, 2),
    },
    Udf {
        name: "ivo_epoch_prop_pos",
        forms: &["ivo_epoch_prop_pos(ra DOUBLE PRECISION, dec DOUBLE PRECISION, parallax DOUBLE PRECISION, pmra DOUBLE PRECISION, pmdec DOUBLE PRECISION, radial_velocity DOUBLE PRECISION, ref_epoch DOUBLE PRECISION, out_epoch DOUBLE PRECISION) -> POINT"],
        description: "The position at out_epoch of a star at (ra, dec) (degrees) at ref_epoch (Julian years) with parallax (mas), proper motion pmra (with cos dec) and pmdec (mas/yr) and radial_velocity (km/s), by the rigorous propagation of ESA SP-1200 Vol. 1 §1.5.5 (straight motion in space); a NULL parallax or radial velocity counts as 0.",
        args: (8, 8),
    },
    Udf {
        name: "ivo_hasword",
        forms: &["ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER"],
        description: "1 if every word of needle is a word of haystack, 0 otherwise: words are runs of the letters a-z and the digits 0-9, compared case-insensitively, without stemming.",
        args: (2, 2),
    },
    Udf {
        name: "ivo_hashlist_has",
        forms: &["ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER"],
        description: "1 if item is one of the words of hashlist (words joined by '#'), compared case-insensitively, 0 otherwise.",
        args: (2, 2),
    },
    Udf {
        name: "ivo_nocasematch",
        forms: &["ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER"],
        description: "1 if value matches pattern (as LIKE: % any text, _ one character) case-insensitively, 0 otherwise.",
        args: (2, 2),
    },
    Udf {
        name: "ivo_string_agg",
        forms: &["ivo_string_agg(expression TEXT, delimiter TEXT) -> TEXT"],
        description: "An aggregate: the non-NULL values of expression in a group, joined by delimiter (in no particular order).",
        args: (2, 2),
    },
];

/// The signatures of [`UDFS`], for the parser.
pub fn udf_signatures() -> &'static [UdfSignature] {
    static SIGS: std::sync::OnceLock<Vec<UdfSignature>> = std::sync::OnceLock::new();
    SIGS.get_or_init(|| {
        UDFS.iter()
            .map(|u| UdfSignature {
                name: u.name.to_string(),
                min_args: u.args.0,
                max_args: u.args.1,
            })
            .collect()
    })
}

/// Whether `name` is one of [`UDFS`].
pub fn is_builtin_udf(name: &str) -> bool {
    UDFS.iter().any(|u| u.name.eq_ignore_ascii_case(name))
}

impl<'a> Checker<'a> {
    /// A call of one of [`UDFS`]; `None` (with an error) for bad arguments.
    pub(super) fn udf(&mut self, c: &Call, span: Span) -> Option<Typed<'a>> {
        let name = c.name.to_ascii_lowercase();
        match name.as_str() {
            "ivo_healpix_index" => {
                let order = self.int_arg(&c.args[0], &name)?;
                let (ra, dec) = match &c.args[1..] {
                    [p] => match self.shape(p)? {
                        Shape::Point(a, b) => (*a, *b),
                        _ => {
                            self.err(p.span, "ivo_healpix_index takes a POINT here");
                            return None;
                        }
                    },
                    [ra, dec] => (self.number_arg(ra, &name)?, self.number_arg(dec, &name)?),
                    _ => {
                        self.err(
                            span,
                            "ivo_healpix_index takes (order, ra, dec) or (order, POINT)",
                        );
                        return None;
                    }
                };
                let mut field = numeric_field("long");
                field.name = name.clone();
                field.ucd = Some("pos.healpix".into());
                Some(plain(
                    Node::Func("HEALPIX_INDEX", vec![order, ra, dec]),
                    field,
                ))
            }
            "ivo_healpix_center" | "ivo_epoch_prop_pos" => {
                let shape = self.udf_point(c, span)?;
                let field = super::geometry::geometry_field("point");
                Some(Typed {
                    node: Node::GeoValue(Box::new(shape)),
                    field: Cow::Owned(field),
                    kind: Kind::Geometry,
                    aggregate: false,
                })
            }
            "ivo_hasword" | "ivo_hashlist_has" | "ivo_nocasematch" => {
                let mut args = Vec::new();
                let mut aggregate = false;
                for a in &c.args {
                    let t = self.value(a)?;
                    if !matches!(t.kind, Kind::Text | Kind::Null) {
                        self.err(
                            a.span,
                            format!("{name} takes text, but this is {}", t.kind.describe()),
                        );
                        return None;
                    }
                    aggregate |= t.aggregate;
                    args.push(t.node);
                }
                let node = if name == "ivo_nocasematch" {
                    let [v, p] = <[Node; 2]>::try_from(args).ok()?;
                    Node::Func(
                        "BOOL_INT",
                        vec![Node::Like(Box::new(v), false, true, Box::new(p))],
                    )
                } else {
                    Node::Func(
                        if name == "ivo_hasword" {
                            "HASWORD"
                        } else {
                            "HASHLIST_HAS"
                        },
                        args,
                    )
                };
                let mut field = computed("int").into_owned();
                field.name = name.clone();
                let mut t = plain(node, field);
                t.aggregate = aggregate;
                Some(t)
            }
            "ivo_string_agg" => {
                if !self.aggregates_allowed || self.in_aggregate {
                    self.err(
                        span,
                        "ivo_string_agg is a set function: it belongs in the select list, HAVING or ORDER BY, not inside another",
                    );
                    return None;
                }
                self.in_aggregate = true;
                let args: Option<Vec<Typed>> = c.args.iter().map(|a| self.value(a)).collect();
                self.in_aggregate = false;
                let args = args?;
                for (a, e) in args.iter().zip(&c.args) {
                    if !matches!(a.kind, Kind::Text | Kind::Null) {
                        self.err(
                            e.span,
                            format!(
                                "ivo_string_agg takes text, but this is {}",
                                a.kind.describe()
                            ),
                        );
                        return None;
                    }
                }
                let mut field = computed_text().into_owned();
                field.name = name.clone();
                Some(Typed {
                    node: Node::Aggregate {
                        func: "STRING_AGG",
                        distinct: false,
                        arg: Some(Box::new(Node::Func(
                            "STRING_AGG",
                            args.into_iter().map(|t| t.node).collect(),
                        ))),
                        cast: None,
                    },
                    field: Cow::Owned(field),
                    kind: Kind::Text,
                    aggregate: true,
                })
            }
            _ => None,
        }
    }

    /// `ivo_healpix_center(order, index)` or `ivo_epoch_prop_pos(...)` as a point (ADQL
    /// geometry).
    pub(super) fn udf_point(&mut self, c: &Call, span: Span) -> Option<Shape<'a>> {
        if c.name.eq_ignore_ascii_case("ivo_epoch_prop_pos") {
            let mut args = Vec::new();
            for (i, a) in c.args.iter().enumerate() {
                let n = self.number_arg(a, "ivo_epoch_prop_pos")?;
                // A missing parallax or radial velocity counts as 0 (no motion along the
                // line of sight).
                args.push(if i == 2 || i == 5 {
                    Node::Coalesce(vec![
                        n,
                        Node::Num {
                            text: "0.0".into(),
                            int: false,
                        },
                    ])
                } else {
                    n
                });
            }
            return Some(Shape::Point(
                Box::new(Node::Func("EPOCH_PROP_RA", args.clone())),
                Box::new(Node::Func("EPOCH_PROP_DEC", args)),
            ));
        }
        if !c.name.eq_ignore_ascii_case("ivo_healpix_center") {
            self.err(span, format!("{} is not a POINT", c.name));
            return None;
        }
        let order = self.int_arg(&c.args[0], "ivo_healpix_center")?;
        let index = self.int_arg(&c.args[1], "ivo_healpix_center")?;
        Some(Shape::Point(
            Box::new(Node::Func(
                "HEALPIX_CENTER_RA",
                vec![order.clone(), index.clone()],
            )),
            Box::new(Node::Func("HEALPIX_CENTER_DEC", vec![order, index])),
        ))
    }

    fn number_arg(&mut self, e: &Expr, what: &str) -> Option<Node<'a>> {
        let t = self.value(e)?;
        if matches!(t.kind, Kind::Number | Kind::Null) {
            Some(t.node)
        } else {
            self.err(
                e.span,
                format!("{what} takes a number here, not {}", t.kind.describe()),
            );
            None
        }
    }

    /// An integer argument (a HEALPix order or index; the backends check their ranges).
    fn int_arg(&mut self, e: &Expr, what: &str) -> Option<Node<'a>> {
        let t = self.value(e)?;
        let int = matches!(
            t.field.datatype.as_str(),
            "short" | "int" | "long" | "unsignedByte"
        );
        if !(t.kind == Kind::Null || (t.kind == Kind::Number && int)) {
            self.err(
                e.span,
                format!("{what} takes an integer here, not {}", t.kind.describe()),
            );
            return None;
        }
        Some(t.node)
    }
}

fn plain<'a>(node: Node<'a>, field: FieldMeta) -> Typed<'a> {
    Typed {
        kind: Kind::of(&field),
        node,
        field: Cow::Owned(field),
        aggregate: false,
    }
}
