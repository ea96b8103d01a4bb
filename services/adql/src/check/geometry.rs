//! Checking function calls: set functions, COALESCE, and the geometry of ADQL 2.1 §4.2
//! (CONTAINS, INTERSECTS, DISTANCE on POINT, CIRCLE, POLYGON and region columns, in ICRS).

use std::borrow::Cow;

use vo_common::geometry::{Geometry, LonLatBox};
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
        if c.udf && super::udf::is_builtin_udf(&c.name) {
            return self.udf(c, span);
        }
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
            "IN_UNIT" => self.in_unit(c),
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
            "POINT" | "CIRCLE" | "POLYGON" | "BOX" | "REGION" | "CENTROID" => {
                let shape = self.constructor(c, span)?;
                let field = geometry_field(shape.dali_xtype()?);
                Some(Typed {
                    node: Node::GeoValue(Box::new(shape)),
                    field: Cow::Owned(field),
                    kind: Kind::Geometry,
                    aggregate: false,
                })
            }
            "AREA" => {
                let shape = self.shape(&c.args[0])?;
                let node = match literal_geometry(&shape) {
                    Some(g) => number(g.area()),
                    None => Node::GeoFunc(GeoFn::Area, Box::new(shape)),
                };
                let mut field = numeric_field("double");
                field.name = "area".into();
                field.unit = Some("deg**2".into());
                field.ucd = Some("phys.angArea".into());
                Some(Typed {
                    node,
                    field: Cow::Owned(field),
                    kind: Kind::Number,
                    aggregate: false,
                })
            }
            "COORD1" | "COORD2" => {
                let Shape::Point(ra, dec) = self.shape(&c.args[0])? else {
                    self.err(c.args[0].span, format!("{} takes a POINT", c.name));
                    return None;
                };
                let first = c.name == "COORD1";
                let mut field = numeric_field("double");
                field.name = c.name.to_ascii_lowercase();
                field.unit = Some("deg".into());
                field.ucd = Some(if first { "pos.eq.ra" } else { "pos.eq.dec" }.into());
                // A longitude is given in [0, 360), as pgSphere and vogate keep them.
                let node = if first {
                    Node::Func("RA_NORMALISED", vec![*ra])
                } else {
                    *dec
                };
                Some(Typed {
                    node,
                    field: Cow::Owned(field),
                    kind: Kind::Number,
                    aggregate: false,
                })
            }
            "COORDSYS" => {
                // Every geometry is ICRS (others are refused where they are written).
                self.shape(&c.args[0])?;
                let mut field = super::expr::computed_text();
                field.to_mut().name = "coordsys".into();
                Some(Typed {
                    node: Node::Str("ICRS".into()),
                    field,
                    kind: Kind::Text,
                    aggregate: false,
                })
            }
            name if super::functions::is_scalar_function(name) => self.scalar_function(c),
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
        let pred = if c.name == "CONTAINS" {
            GeoPred::Contains(a, b)
        } else {
            match (a, b) {
                // ADQL 2.1 §4.2.7: INTERSECTS with a POINT is CONTAINS of the point.
                (p @ Shape::Point(..), x) | (x, p @ Shape::Point(..)) => GeoPred::Contains(p, x),
                (a, b) => GeoPred::Intersects(a, b),
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
    pub(super) fn shape(&mut self, e: &Expr) -> Option<Shape<'a>> {
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
            ExprKind::Call(c) if c.udf => self.udf_point(c, e.span),
            ExprKind::Cast(inner, t @ (CastType::Point | CastType::Circle | CastType::Polygon)) => {
                self.cast_shape(inner, t)
            }
            ExprKind::Call(c) => self.constructor(c, e.span),
            _ => {
                self.err(
                    e.span,
                    "expected a geometry (POINT, CIRCLE, POLYGON, BOX, REGION, CENTROID or a region column)",
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
            "BOX" => {
                let mut nodes = Vec::new();
                let mut rest = &c.args[..];
                if c.args.len() == 3 {
                    let Shape::Point(a, b) = self.shape(&c.args[0])? else {
                        self.err(c.args[0].span, "BOX's centre must be a POINT");
                        return None;
                    };
                    nodes.extend([*a, *b]);
                    rest = &c.args[1..];
                }
                let what = if nodes.is_empty() { "BOX" } else { "BOX size" };
                nodes.extend(self.coordinates(c, rest, what)?);
                let [a, b, w, h] = <[Node; 4]>::try_from(nodes).ok()?;
                Some(Shape::Box(Box::new([a, b, w, h])))
            }
            "REGION" => {
                let ExprKind::Str(text) = &c.args[0].kind else {
                    self.err(c.args[0].span, "REGION takes an STC-S string literal");
                    return None;
                };
                match Geometry::from_stcs(text) {
                    Ok(g) => Some(shape_of(&g)),
                    Err(e) => {
                        self.err(c.args[0].span, format!("REGION: {e}"));
                        None
                    }
                }
            }
            "CENTROID" => {
                let shape = self.shape(&c.args[0])?;
                match shape {
                    p @ Shape::Point(..) => Some(p),
                    Shape::Circle(a, b, _) => Some(Shape::Point(a, b)),
                    other => match literal_geometry(&other) {
                        Some(g) => {
                            let Some(p) = g.centroid() else {
                                self.err(span, "CENTROID: this shape has no centroid (a ring symmetric about the equator)");
                                return None;
                            };
                            Some(Shape::Point(
                                Box::new(number(p.ra)),
                                Box::new(number(p.dec)),
                            ))
                        }
                        None => Some(Shape::Point(
                            Box::new(Node::GeoFunc(GeoFn::CentroidRa, Box::new(other.clone()))),
                            Box::new(Node::GeoFunc(GeoFn::CentroidDec, Box::new(other))),
                        )),
                    },
                }
            }
            other => {
                self.err(
                    span,
                    format!("{other} is not a geometry: use POINT, CIRCLE, POLYGON, BOX, REGION, CENTROID or a region column"),
                );
                None
            }
        }
    }

    /// CAST(x AS POINT | CIRCLE | POLYGON) as a value (ADQL 2.1 §2.10): `x` a geometry of
    /// that type, or a string literal holding one as DALI text (`"ra dec"`, `"ra dec r"`,
    /// `"ra1 dec1 ..."`) or as STC-S.
    pub(super) fn cast_geometry(&mut self, inner: &Expr, target: &CastType) -> Option<Typed<'a>> {
        let shape = self.cast_shape(inner, target)?;
        if let Shape::Region(_) = shape {
            // A region column's value is its own text (STC-S), not DALI numbers.
            self.err(
                inner.span,
                "CAST of a region column to POLYGON as a value is not supported: select the column itself (its STC-S text), or use it in CONTAINS, INTERSECTS, AREA or CENTROID",
            );
            return None;
        }
        let field = geometry_field(shape.dali_xtype().unwrap_or("polygon"));
        Some(Typed {
            node: Node::GeoValue(Box::new(shape)),
            field: Cow::Owned(field),
            kind: Kind::Geometry,
            aggregate: false,
        })
    }

    /// The shape of CAST(x AS POINT | CIRCLE | POLYGON) (see [`Self::cast_geometry`]).
    fn cast_shape(&mut self, inner: &Expr, target: &CastType) -> Option<Shape<'a>> {
        let want = match target {
            CastType::Point => "POINT",
            CastType::Circle => "CIRCLE",
            _ => "POLYGON",
        };
        let shape = match &inner.kind {
            ExprKind::Str(text) => {
                let nums: Option<Vec<f64>> =
                    text.split_whitespace().map(|w| w.parse().ok()).collect();
                let stcs = match nums {
                    Some(n) if !n.is_empty() => {
                        let words: Vec<String> = n.iter().map(|v| format!("{v:?}")).collect();
                        format!(
                            "{} ICRS {}",
                            if want == "POINT" { "POSITION" } else { want },
                            words.join(" ")
                        )
                    }
                    _ => text.clone(),
                };
                match Geometry::from_stcs(&stcs) {
                    Ok(g) => shape_of(&g),
                    Err(e) => {
                        self.err(inner.span, format!("CAST to {want}: {e}"));
                        return None;
                    }
                }
            }
            _ => self.shape(inner)?,
        };
        let fits = matches!(
            (&shape, want),
            (Shape::Point(..), "POINT")
                | (Shape::Circle(..), "CIRCLE")
                | (
                    Shape::Polygon(_) | Shape::PolygonLiteral(_) | Shape::Region(_),
                    "POLYGON"
                )
        );
        if !fits {
            self.err(
                inner.span,
                format!("CAST to {want} takes a {want}, not {}", describe(&shape)),
            );
            return None;
        }
        Some(shape)
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
                    "BOX" if i >= 2 => 3,
                    "BOX size" => 3,
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
                    2 => ("radius", (0.0..=180.0).contains(&v), "in [0, 180] degrees"),
                    _ => (
                        "size",
                        v >= 0.0 && v.is_finite(),
                        "a finite number of degrees, not negative",
                    ),
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
pub(super) fn geometry_field(xtype: &str) -> FieldMeta {
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
        Shape::Box(_) => "BOX",
        Shape::Region(_) => "a region column",
    }
}

/// A numeric literal node of `v` (shortest text that reads back as `v`).
fn number<'a>(v: f64) -> Node<'a> {
    Node::Num {
        text: format!("{v:?}"),
        int: false,
    }
}

/// The shape of a geometry read from STC-S (REGION), as literals.
fn shape_of<'a>(g: &Geometry) -> Shape<'a> {
    let n = |v: f64| Box::new(number(v));
    match g {
        Geometry::Point(p) => Shape::Point(n(p.ra), n(p.dec)),
        Geometry::Circle { centre, radius } => {
            Shape::Circle(n(centre.ra), n(centre.dec), n(*radius))
        }
        Geometry::Polygon(p) => {
            let pts: Vec<SkyPoint> = p
                .vertices()
                .iter()
                .map(|v| SkyPoint::from_vec(*v))
                .collect();
            Shape::PolygonLiteral(stcs_polygon(&pts))
        }
        Geometry::Box(b) => {
            // Centre and size again, so that it renders as any BOX.
            let centre_lat = (b.lat_min + b.lat_max) / 2.0;
            Shape::Box(Box::new([
                number(b.lon_min + b.width / 2.0),
                number(centre_lat),
                number(b.width),
                number(b.lat_max - b.lat_min),
            ]))
        }
        Geometry::AllSky => Shape::Circle(n(0.0), n(0.0), n(180.0)),
    }
}

/// The geometry of a shape whose every number is a literal, or `None`.
pub(crate) fn literal_geometry(s: &Shape) -> Option<Geometry> {
    let lit = crate::rewrite::literal;
    match s {
        Shape::Point(a, b) => {
            let (ra, dec) = (lit(a)?, lit(b)?);
            (ra.is_finite() && (-90.0..=90.0).contains(&dec))
                .then(|| Geometry::Point(SkyPoint::new(ra, dec)))
        }
        Shape::Circle(a, b, r) => Geometry::circle(lit(a)?, lit(b)?, lit(r)?).ok(),
        Shape::Box(v) => {
            let [a, b, w, h] = v.as_ref();
            LonLatBox::new(lit(a)?, lit(b)?, lit(w)?, lit(h)?)
                .ok()
                .map(Geometry::Box)
        }
        Shape::PolygonLiteral(stcs) => Geometry::from_stcs(stcs).ok(),
        Shape::Polygon(_) | Shape::Region(_) => None,
    }
}
