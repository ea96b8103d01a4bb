//! Checking function calls: set functions, COALESCE, and the geometry of ADQL 2.1 §4.2
//! (CONTAINS, INTERSECTS, DISTANCE on POINT, CIRCLE, POLYGON and region columns, in ICRS).

use std::borrow::Cow;

use vo_common::region::{edges_cross, Polygon};
use vo_common::sky::{stcs_polygon, SkyPoint};
use vo_common::FieldMeta;

use super::expr::numeric_field;
use super::{Checker, Kind, Typed};
use crate::ast::*;
use crate::diag::Span;
use crate::ir::*;

/// How many vertices a POLYGON may have when they are expressions rather than literals (the
/// SQL that assembles them grows with each).
pub const MAX_EXPR_VERTICES: usize = 100;

/// The value of a numeric literal, possibly signed or parenthesised, or None.
pub fn literal_number(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Number { text, .. } => text.parse().ok(),
        ExprKind::Unary(UnaryOp::Neg, x) => literal_number(x).map(|v| -v),
        ExprKind::Unary(UnaryOp::Plus, x) | ExprKind::Nested(x) => literal_number(x),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    /// A function call.
    pub(super) fn call(&mut self, c: &Call, span: Span) -> Option<Typed<'a>> {
        if c.udf {
            let declared = self
                .catalog
                .udfs()
                .iter()
                .any(|u| u.name.eq_ignore_ascii_case(&c.name));
            self.err(
                c.name_span,
                if declared {
                    format!("function {} is declared but cannot be run yet", c.name)
                } else {
                    format!(
                        "function {} is not provided by this service (see /tap/capabilities)",
                        c.name
                    )
                },
            );
            return None;
        }
        match c.name.as_str() {
            "COUNT" | "SUM" | "AVG" | "MIN" | "MAX" => self.aggregate(c, span),
            "COALESCE" => {
                let mut nodes = Vec::new();
                let mut first: Option<Typed> = None;
                let mut aggregate = false;
                let mut datatypes: Vec<String> = Vec::new();
                for a in &c.args {
                    let t = self.value(a)?;
                    if let Some(f) = &first {
                        if !f.kind.fits(t.kind) || t.kind == Kind::Bool {
                            self.err(
                                a.span,
                                format!(
                                    "COALESCE mixes {} and {}",
                                    f.kind.describe(),
                                    t.kind.describe()
                                ),
                            );
                            return None;
                        }
                    }
                    aggregate |= t.aggregate;
                    if t.kind == Kind::Number {
                        datatypes.push(t.field.datatype.clone());
                    }
                    if first.as_ref().is_none_or(|f| f.kind == Kind::Null) {
                        first = Some(t.clone());
                    }
                    nodes.push(t.node);
                }
                let f = first?;
                let mut field = f.field.clone();
                // The type of COALESCE is the widest of its arguments (a float wins over an
                // integer); the metadata of the first holds only when all agree.
                if f.kind == Kind::Number {
                    let widest = datatypes.iter().fold(f.field.datatype.clone(), |w, d| {
                        super::expr::wider(&w, d).to_string()
                    });
                    if widest != f.field.datatype
                        && datatypes.iter().any(|d| *d != f.field.datatype)
                    {
                        field = Cow::Owned(numeric_field(&widest));
                    }
                }
                field.to_mut().name = "coalesce".into();
                Some(Typed {
                    node: Node::Coalesce(nodes),
                    field,
                    kind: f.kind,
                    aggregate,
                })
            }
            "CONTAINS" | "INTERSECTS" => self.predicate(c),
            "DISTANCE" => {
                let nodes: Vec<Node> = match c.args.as_slice() {
                    [a, b] => {
                        let (p, q) = (self.shape(a), self.shape(b));
                        match (p?, q?) {
                            (Shape::Point(a, b), Shape::Point(c, d)) => vec![*a, *b, *c, *d],
                            (x, y) => {
                                self.err(
                                    span,
                                    format!(
                                        "DISTANCE takes two POINTs, not {} and {}",
                                        describe(&x),
                                        describe(&y)
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                    args => {
                        let mut v = Vec::new();
                        for a in args {
                            let t = self.value(a)?;
                            self.expect_number(&t, "DISTANCE", a.span)?;
                            v.push(t.node);
                        }
                        v
                    }
                };
                let [a, b, c2, d] = <[Node; 4]>::try_from(nodes).ok()?;
                let mut field = numeric_field("double");
                field.unit = Some("deg".into());
                field.ucd = Some("pos.angDistance".into());
                Some(Typed {
                    node: Node::Distance(Box::new([a, b, c2, d])),
                    field: Cow::Owned(field),
                    kind: Kind::Number,
                    aggregate: false,
                })
            }
            "POINT" | "CIRCLE" | "POLYGON" => {
                let shape = self.constructor(c, span)?;
                let field = geometry_field(shape.dali_xtype()?);
                Some(Typed {
                    node: Node::GeoValue(Box::new(shape)),
                    field: Cow::Owned(field),
                    kind: Kind::Geometry,
                    aggregate: false,
                })
            }
            "BOX" | "REGION" | "CENTROID" => {
                self.err(
                    span,
                    format!(
                        "{} is not supported yet: use POINT, CIRCLE or POLYGON",
                        c.name
                    ),
                );
                None
            }
            name if super::functions::is_scalar_function(name) => self.scalar_function(c, span),
            other => {
                self.err(span, format!("function {other} is not supported yet"));
                None
            }
        }
    }

    fn expect_number(&mut self, t: &Typed, what: &str, span: Span) -> Option<()> {
        if t.kind == Kind::Number || t.kind == Kind::Null {
            return Some(());
        }
        self.err(
            span,
            format!("{what} takes numbers, but this is {}", t.kind.describe()),
        );
        None
    }

    /// CONTAINS or INTERSECTS: 1 or 0.
    fn predicate(&mut self, c: &Call) -> Option<Typed<'a>> {
        let (a, b) = (self.shape(&c.args[0]), self.shape(&c.args[1]));
        let (a, b) = (a?, b?);
        let contains = c.name == "CONTAINS";
        use Shape::*;
        let pred = match (a, b) {
            // ADQL 2.1 §4.2.7: INTERSECTS with a POINT is CONTAINS of the point.
            (p @ Point(..), c @ Circle(..)) => GeoPred::PointInCircle(p, c),
            (c @ Circle(..), p @ Point(..)) if !contains => GeoPred::PointInCircle(p, c),
            (p @ Point(..), r @ (Polygon(_) | PolygonLiteral(_) | Region(_))) => {
                GeoPred::PointInRegion(p, r)
            }
            (r @ (Polygon(_) | PolygonLiteral(_) | Region(_)), p @ Point(..)) if !contains => {
                GeoPred::PointInRegion(p, r)
            }
            (r @ Region(_), c @ Circle(..)) | (c @ Circle(..), r @ Region(_)) if !contains => {
                GeoPred::RegionMeetsCircle(r, c)
            }
            (r @ Region(_), p @ (Polygon(_) | PolygonLiteral(_)))
            | (p @ (Polygon(_) | PolygonLiteral(_)), r @ Region(_))
                if !contains =>
            {
                GeoPred::RegionsMeet(r, p)
            }
            (r1 @ Region(_), r2 @ Region(_)) if !contains => GeoPred::RegionsMeet(r1, r2),
            (x, y) => {
                self.err(
                    c.name_span,
                    format!(
                        "{}({}, {}) is not supported: this service supports CONTAINS(POINT, CIRCLE|POLYGON|region) and INTERSECTS of a region with a POINT, CIRCLE, POLYGON or region",
                        c.name,
                        describe(&x),
                        describe(&y)
                    ),
                );
                return None;
            }
        };
        Some(Typed {
            node: Node::Geo(Box::new(pred)),
            field: super::expr::computed("int"),
            kind: Kind::Number,
            aggregate: false,
        })
    }

    /// A geometry value (ADQL 2.1 §4.2): POINT, CIRCLE, POLYGON, or a region column (xtype
    /// adql:REGION) of a published table.
    fn shape(&mut self, e: &Expr) -> Option<Shape<'a>> {
        match &e.kind {
            ExprKind::Column(name) => {
                let t = self.column(name)?;
                match t.node {
                    Node::Col(
                        c @ ColRef {
                            target: Target::Published(..),
                            ..
                        },
                    ) if t.field.xtype.as_deref() == Some("adql:REGION") => Some(Shape::Region(c)),
                    Node::Col(ColRef {
                        target: Target::Named(_),
                        ..
                    }) if t.field.xtype.as_deref() == Some("adql:REGION") => {
                        self.err(
                            e.span,
                            format!("the region column '{name}' of a subquery cannot be used in geometry yet; use the table's own column"),
                        );
                        None
                    }
                    _ => {
                        self.err(
                            e.span,
                            format!("column '{name}' is not a region (xtype adql:REGION)"),
                        );
                        None
                    }
                }
            }
            ExprKind::Call(c) => self.constructor(c, e.span),
            _ => {
                self.err(
                    e.span,
                    "expected a geometry (POINT, CIRCLE, POLYGON or a region column)",
                );
                None
            }
        }
    }

    fn constructor(&mut self, c: &Call, span: Span) -> Option<Shape<'a>> {
        if let Some(frame) = &c.frame {
            if let ExprKind::Str(cs) = &frame.kind {
                let norm = cs.trim().to_ascii_uppercase();
                if !(norm.is_empty() || norm.starts_with("ICRS") || norm == "J2000") {
                    self.err(
                        frame.span,
                        format!("coordinate system '{cs}' is not supported: positions are ICRS"),
                    );
                    return None;
                }
            }
        }
        match c.name.as_str() {
            "POINT" => {
                let v = self.coordinates(c, &c.args, "POINT")?;
                let [a, b] = <[Node; 2]>::try_from(v).ok()?;
                Some(Shape::Point(Box::new(a), Box::new(b)))
            }
            "CIRCLE" => {
                if c.args.len() == 2 {
                    let centre = self.shape(&c.args[0])?;
                    let Shape::Point(a, b) = centre else {
                        self.err(c.args[0].span, "CIRCLE's centre must be a POINT");
                        return None;
                    };
                    let r = self.coordinates(c, &c.args[1..], "CIRCLE radius")?;
                    let [r] = <[Node; 1]>::try_from(r).ok()?;
                    return Some(Shape::Circle(a, b, Box::new(r)));
                }
                let v = self.coordinates(c, &c.args, "CIRCLE")?;
                let [a, b, r] = <[Node; 3]>::try_from(v).ok()?;
                Some(Shape::Circle(Box::new(a), Box::new(b), Box::new(r)))
            }
            "POLYGON" => self.polygon(c, span),
            other => {
                self.err(
                    span,
                    format!("{other} is not supported yet: use POINT, CIRCLE, POLYGON or a region column"),
                );
                None
            }
        }
    }

    /// Numeric arguments of a geometry constructor, with literal coordinates range-checked:
    /// right ascensions finite, declinations in [-90, 90], radii in [0, 180] degrees.
    fn coordinates(&mut self, c: &Call, args: &[Expr], what: &str) -> Option<Vec<Node<'a>>> {
        let mut out = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let t = self.value(a)?;
            if t.kind != Kind::Number && t.kind != Kind::Null {
                self.err(a.span, format!("{} arguments must be numbers", c.name));
                return None;
            }
            if let Some(v) = literal_number(a) {
                let role = match what {
                    "CIRCLE" if i == 2 => 2,
                    "CIRCLE radius" => 2,
                    _ => i % 2,
                };
                let (name, ok, range) = match role {
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
                    self.err(a.span, format!("{} {name} {v} must be {range}", c.name));
                    return None;
                }
            }
            out.push(t.node);
        }
        Some(out)
    }

    fn polygon(&mut self, c: &Call, span: Span) -> Option<Shape<'a>> {
        // POLYGON(POINT, POINT, ...) or POLYGON(ra1, dec1, ra2, dec2, ...).
        let points = c
            .args
            .iter()
            .all(|a| matches!(&a.kind, ExprKind::Call(p) if p.name == "POINT"));
        let mut vertices = Vec::new();
        let mut literals: Vec<Option<f64>> = Vec::new();
        if points {
            for a in &c.args {
                let Some(Shape::Point(x, y)) = self.shape(a) else {
                    return None;
                };
                if let ExprKind::Call(p) = &a.kind {
                    literals.extend(p.args.iter().map(literal_number));
                }
                vertices.push((*x, *y));
            }
        } else {
            let v = self.coordinates(c, &c.args, "POLYGON")?;
            literals.extend(c.args.iter().map(literal_number));
            let mut it = v.into_iter();
            while let (Some(a), Some(b)) = (it.next(), it.next()) {
                vertices.push((a, b));
            }
        }
        if let Some(vals) = literals.iter().copied().collect::<Option<Vec<f64>>>() {
            let pts: Vec<SkyPoint> = vals.chunks(2).map(|v| SkyPoint::new(v[0], v[1])).collect();
            if let Err(e) = Polygon::new(&pts) {
                self.err(span, format!("POLYGON: {e}"));
                return None;
            }
            if edges_cross(&pts) {
                self.err(
                    span,
                    "POLYGON: its edges cross; give the vertices in order around the region",
                );
                return None;
            }
            // A literal polygon goes to the database as one STC-S string.
            return Some(Shape::PolygonLiteral(stcs_polygon(&pts)));
        }
        if vertices.len() > MAX_EXPR_VERTICES {
            self.err(
                span,
                format!(
                    "POLYGON has {} vertices given by expressions; the limit is {MAX_EXPR_VERTICES} (literal vertices have none)",
                    vertices.len()
                ),
            );
            return None;
        }
        Some(Shape::Polygon(vertices))
    }
}

/// The FIELD of a geometry value of DALI xtype `xtype` (DALI 1.1 §3.3.5–3.3.7): `double`,
/// arraysize 2 (point), 3 (circle) or `*` (polygon), unit `deg`.
fn geometry_field(xtype: &str) -> FieldMeta {
    FieldMeta {
        name: xtype.into(),
        datatype: "double".into(),
        arraysize: Some(
            match xtype {
                "point" => "2",
                "circle" => "3",
                _ => "*",
            }
            .into(),
        ),
        unit: Some("deg".into()),
        xtype: Some(xtype.into()),
        ..Default::default()
    }
}

fn describe(s: &Shape) -> &'static str {
    match s {
        Shape::Point(..) => "POINT",
        Shape::Circle(..) => "CIRCLE",
        Shape::Polygon(_) | Shape::PolygonLiteral(_) => "POLYGON",
        Shape::Region(_) => "a region column",
    }
}
