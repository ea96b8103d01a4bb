//! Rewrite passes over the checked query, before rendering: the spatial index prefilters,
//! and the row limit of TOP and MAXREC (TAP 1.1 §2.7.1: one row more than MAXREC is asked for,
//! so that an overflow can be told from a result that exactly fills MAXREC).

use crate::ast::{BinOp, LogicOp};
use crate::dialect::SqlDialect;
use crate::ir::*;

/// The row limit to ask the database for, and whether the result can overflow MAXREC: a TOP
/// within MAXREC cannot; otherwise one row more than MAXREC is fetched to know.
pub fn row_limit(top: Option<u64>, maxrec: u64) -> (u64, bool) {
    match top {
        Some(t) if t <= maxrec => (t, false),
        _ => (maxrec.saturating_add(1), true),
    }
}

/// Add the dialect's index prefilters to every WHERE of `q` (subqueries included): for each
/// term `CONTAINS(POINT(ra, dec), CIRCLE(literals)) = 1` on a table's indexed position, and
/// each footprint term on a region column with a literal shape (`CONTAINS(POINT, region) =
/// 1`, `INTERSECTS(region, CIRCLE|POLYGON) = 1`, either order), in the top-level AND chain,
/// where ANDing a condition that every matching row meets is sound.
pub fn add_prefilters(q: &mut QueryIr, d: &dyn SqlDialect) {
    for (_, c) in &mut q.ctes {
        add_prefilters(c, d);
    }
    match &mut q.body {
        BodyIr::Select(s) => prefilter_select(s, d),
        BodyIr::Query(inner) => add_prefilters(inner, d),
        BodyIr::SetOp { left, right, .. } => {
            add_prefilters(left, d);
            add_prefilters(right, d);
        }
    }
}

fn prefilter_select(s: &mut SelectIr, d: &dyn SqlDialect) {
    for f in &mut s.from {
        prefilter_from(f, d);
    }
    if let Some(w) = s.where_.take() {
        s.where_ = Some(with_prefilters(w, d));
    }
}

/// `cond` with the prefilters of the terms of its top-level AND chain ANDed to it: each is
/// implied by its term, so the condition keeps the same rows (in WHERE, and in a JOIN's ON
/// of any kind).
fn with_prefilters<'a>(cond: Node<'a>, d: &dyn SqlDialect) -> Node<'a> {
    let mut extra = Vec::new();
    let mut stack = vec![&cond];
    while let Some(e) = stack.pop() {
        match e {
            Node::Nested(x) => stack.push(x),
            Node::Logic(LogicOp::And, terms) => stack.extend(terms.iter()),
            Node::Compare(a, BinOp::Eq, b) => {
                let pred = match (literal(a), literal(b)) {
                    (_, Some(1.0)) => a,
                    (Some(1.0), _) => b,
                    _ => continue,
                };
                if let Node::Geo(p) = pred.as_ref() {
                    if let Some(sql) = prefilter(p, d) {
                        extra.push(Node::Raw(sql));
                    }
                    if let GeoPred::Contains(Shape::Point(ra, dec), Shape::Circle(ra0, dec0, r)) =
                        p.as_ref()
                    {
                        extra.extend(join_prefilters([ra, dec, ra0, dec0], r, d));
                    }
                }
            }
            // DISTANCE(p, q) < r, <= r, or r > / >= DISTANCE(p, q).
            Node::Compare(a, op, b) => {
                let (dist, r) = match (a.as_ref(), op, b.as_ref()) {
                    (Node::Distance(v), BinOp::Lt | BinOp::LtEq, r) => (v, r),
                    (r, BinOp::Gt | BinOp::GtEq, Node::Distance(v)) => (v, r),
                    _ => continue,
                };
                let [ra, dec, ra0, dec0] = dist.as_ref();
                extra.extend(join_prefilters([ra, dec, ra0, dec0], r, d));
            }
            _ => {}
        }
    }
    if extra.is_empty() {
        cond
    } else {
        let mut terms = vec![cond];
        terms.extend(extra);
        Node::Logic(LogicOp::And, terms)
    }
}

/// The prefilters of a pair condition `distance((ra, dec), (ra0, dec0)) <= r` between the
/// positions of two tables (a cross-match, `r` a constant): for each side whose columns are
/// its table's indexed position, the dialect's cone around the other side's position, so
/// the index serves whichever order the database joins in.
fn join_prefilters(cols: [&Node; 4], r: &Node, d: &dyn SqlDialect) -> Vec<Node<'static>> {
    let Some(r) = literal(r) else {
        return Vec::new();
    };
    let [ra, dec, ra0, dec0] = cols;
    let (Some((ta, ra_c, qa)), Some((tb, dec_c, qb))) = (published(ra), published(dec)) else {
        return Vec::new();
    };
    let (Some((tc, ra0_c, qc)), Some((td, dec0_c, qd))) = (published(ra0), published(dec0)) else {
        return Vec::new();
    };
    if ta != tb || qa != qb || tc != td || qc != qd || qa == qc || !(0.0..90.0).contains(&r) {
        return Vec::new();
    }
    let (qa, qc) = (d.quote_ident(qa), d.quote_ident(qc));
    let mut out = Vec::new();
    // An uploaded table is the small side of a match with a published one: only the
    // published table's index is offered, so the database loops over the upload (with both,
    // PostgreSQL's planner, which cannot tell how few rows a cone finds, would loop over the
    // catalog instead: 1,000,000 probes rather than 10,000).
    let (a_small, c_small) = (
        ta.is_upload() && !tc.is_upload(),
        tc.is_upload() && !ta.is_upload(),
    );
    if !a_small {
        if let Some(sql) = d.join_cone_prefilter(&qa, ta, ra_c, dec_c, &qc, tc, ra0_c, dec0_c, r) {
            out.push(Node::Raw(sql));
        }
    }
    if !c_small {
        if let Some(sql) = d.join_cone_prefilter(&qc, tc, ra0_c, dec0_c, &qa, ta, ra_c, dec_c, r) {
            out.push(Node::Raw(sql));
        }
    }
    out
}

fn prefilter_from(f: &mut FromIr, d: &dyn SqlDialect) {
    match f {
        FromIr::Derived { query, .. } => add_prefilters(query, d),
        FromIr::Join {
            left, right, on, ..
        } => {
            prefilter_from(left, d);
            prefilter_from(right, d);
            if let Some(c) = on.take() {
                *on = Some(with_prefilters(c, d));
            }
        }
        _ => {}
    }
}

/// The value of a numeric literal node, possibly signed, or of constant arithmetic on such
/// literals (`5/3600.0`), as the database computes it: integer operands give an integer
/// (division truncated, as PostgreSQL's); `None` for anything else or a division by zero.
pub fn literal(n: &Node) -> Option<f64> {
    constant(n).map(|(v, _)| v)
}

/// [`literal`], and whether the value is an integer.
fn constant(n: &Node) -> Option<(f64, bool)> {
    match n {
        Node::Num { text, int } => text.parse().ok().map(|v| (v, *int)),
        Node::Neg(x) => constant(x).map(|(v, i)| (-v, i)),
        Node::Nested(x) => constant(x),
        // A float literal is written as a cast to double (so both backends compute alike).
        Node::Cast(x, CastTarget::Double) => constant(x).map(|(v, _)| (v, false)),
        Node::Chain(first, rest) => {
            let (mut v, mut int) = constant(first)?;
            for (op, x) in rest {
                let (w, wi) = constant(x)?;
                let both = int && wi;
                v = match op {
                    BinOp::Add => v + w,
                    BinOp::Sub => v - w,
                    BinOp::Mul => v * w,
                    BinOp::Div if w == 0.0 => return None,
                    BinOp::Div if both => (v / w).trunc(),
                    BinOp::Div => v / w,
                    _ => return None,
                };
                int = both;
            }
            v.is_finite().then_some((v, int))
        }
        _ => None,
    }
}

fn published<'a, 'n>(
    n: &'n Node<'a>,
) -> Option<(&'a crate::TableInfo, &'a crate::ColumnInfo, &'n str)> {
    match n {
        Node::Col(ColRef {
            qualifier,
            target: Target::Published(t, c),
        }) => Some((*t, *c, &**qualifier)),
        Node::Nested(x) => published(x),
        _ => None,
    }
}

/// A literal shape as (ra, dec, radius) of a circle holding it (degrees): a point has
/// radius 0, a polygon or box a cap around it.
fn literal_cap(s: &Shape) -> Option<(f64, f64, f64)> {
    let (c, r) = crate::check::literal_geometry(s)?.bounding_cap()?;
    // A little slack for the rounding of the cap's own computation.
    let r = if r > 0.0 { (r + 1e-9).min(180.0) } else { r };
    (c.ra.is_finite() && (-90.0..=90.0).contains(&c.dec) && (0.0..=180.0).contains(&r))
        .then_some((c.ra, c.dec, r))
}

fn prefilter(p: &GeoPred, d: &dyn SqlDialect) -> Option<String> {
    match p {
        // A position column in a literal shape: the cone around the shape.
        GeoPred::Contains(Shape::Point(ra, dec), shape) if !matches!(shape, Shape::Region(_)) => {
            let (ta, ra, qa) = published(ra)?;
            let (tb, dec, qb) = published(dec)?;
            if ta != tb || qa != qb {
                return None;
            }
            let (ra0, dec0, r) = literal_cap(shape)?;
            d.cone_prefilter(&d.quote_ident(qa), ta, ra, dec, ra0, dec0, r)
        }
        // A region column and a literal shape, either way round: whatever the relation, the
        // region meets the shape.
        GeoPred::Contains(Shape::Region(c), shape)
        | GeoPred::Contains(shape, Shape::Region(c))
        | GeoPred::Intersects(Shape::Region(c), shape)
        | GeoPred::Intersects(shape, Shape::Region(c)) => {
            let (ra0, dec0, r) = literal_cap(shape)?;
            region_prefilter(c, ra0, dec0, r, d)
        }
        _ => None,
    }
}

fn region_prefilter(c: &ColRef, ra0: f64, dec0: f64, r: f64, d: &dyn SqlDialect) -> Option<String> {
    let Target::Published(t, col) = &c.target else {
        return None;
    };
    d.region_prefilter(&d.quote_ident(&c.qualifier), t, col, ra0, dec0, r)
}
