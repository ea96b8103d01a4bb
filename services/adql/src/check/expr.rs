//! Checking values and conditions: column resolution, literals, operators, predicates,
//! subqueries, set functions, COALESCE and CASE, with their types and output metadata.

use std::borrow::Cow;

use vo_common::FieldMeta;

use super::{Checker, Kind, Typed};
use crate::ast::*;
use crate::diag::Span;
use crate::ir::*;
use crate::scope::Found;

/// FIELD metadata of a computed value of this VOTable datatype.
pub fn numeric_field(datatype: &str) -> FieldMeta {
    FieldMeta {
        datatype: datatype.into(),
        ..Default::default()
    }
}

/// FIELD metadata of a computed string: `unicodeChar`, as it may hold any character of the
/// strings it was made from (VOTable 1.4 §2.1; astropy warns W55 of non-ASCII `char`).
pub fn text_field() -> FieldMeta {
    FieldMeta {
        datatype: "unicodeChar".into(),
        arraysize: Some("*".into()),
        ..Default::default()
    }
}

/// The FIELD metadata of a computed value of this VOTable datatype, shared (made once per
/// datatype, so that typing a value allocates nothing).
pub fn computed(datatype: &str) -> Cow<'static, FieldMeta> {
    static FIELDS: std::sync::OnceLock<Vec<FieldMeta>> = std::sync::OnceLock::new();
    let fields = FIELDS.get_or_init(|| {
        [
            "boolean",
            "unsignedByte",
            "short",
            "int",
            "long",
            "float",
            "double",
        ]
        .into_iter()
        .map(numeric_field)
        .collect()
    });
    match fields.iter().find(|f| f.datatype == datatype) {
        Some(f) => Cow::Borrowed(f),
        None => Cow::Owned(numeric_field(datatype)),
    }
}

/// The FIELD metadata of a computed string ([`text_field`]), shared.
pub fn computed_text() -> Cow<'static, FieldMeta> {
    static FIELD: std::sync::OnceLock<FieldMeta> = std::sync::OnceLock::new();
    Cow::Borrowed(FIELD.get_or_init(text_field))
}

fn is_int(datatype: &str) -> bool {
    matches!(datatype, "short" | "int" | "long" | "unsignedByte")
}

/// The datatype of arithmetic on two numeric datatypes: long for integers, double otherwise.
pub fn wider(a: &str, b: &str) -> &'static str {
    if is_int(a) && is_int(b) {
        "long"
    } else {
        "double"
    }
}

/// The output name of an unnamed select item that is not a column: a function's name in
/// lower case, else `col<n>` (n from 1).
pub fn default_name(e: &Expr, index: usize) -> String {
    match &e.kind {
        ExprKind::Call(c) => c.name.to_ascii_lowercase(),
        ExprKind::Nested(inner) => default_name(inner, index),
        _ => format!("col{}", index + 1),
    }
}

impl<'a> Checker<'a> {
    /// A condition in `place` (WHERE, ON, HAVING, WHEN).
    pub(super) fn condition(&mut self, e: &Expr, place: &str) -> Option<Typed<'a>> {
        let t = self.value(e)?;
        if t.kind != Kind::Bool {
            self.err(
                e.span,
                format!("{place} needs a condition (a comparison, LIKE, IN, BETWEEN, IS NULL ...) but this is {}", t.kind.describe()),
            );
            return None;
        }
        Some(t)
    }

    /// Any expression, checked and typed.
    pub(super) fn value(&mut self, e: &Expr) -> Option<Typed<'a>> {
        crate::parser::grow(|| self.value_inner(e))
    }

    /// Require an integer (or NULL) operand of the bitwise operator `op`.
    fn expect_integer(&mut self, t: &Typed, op: &str, span: Span) -> Option<()> {
        if t.kind == Kind::Null || (t.kind == Kind::Number && is_int(&t.field.datatype)) {
            return Some(());
        }
        let what = if t.kind == Kind::Number {
            format!("a {}", t.field.datatype)
        } else {
            t.kind.describe().to_string()
        };
        self.err(
            span,
            format!("'{op}' takes integers (ADQL 2.1 bitwise operators), but this is {what}"),
        );
        None
    }

    /// `a & b | c ...`: left-associative bitwise operators of integers, as the dialect's
    /// BITAND, BITOR and BITXOR functions; the result is the widest operand's integer type.
    fn bitwise(
        &mut self,
        first: Typed<'a>,
        first_span: Span,
        parts: Vec<(BinOp, Typed<'a>, Span)>,
        op0: BinOp,
    ) -> Option<Typed<'a>> {
        self.expect_integer(&first, op0.symbol(), first_span)?;
        let mut datatype = first.field.datatype.clone();
        let mut aggregate = first.aggregate;
        let mut acc = first.node;
        for (op, t, sp) in parts {
            self.expect_integer(&t, op.symbol(), sp)?;
            datatype = wider(&datatype, &t.field.datatype).to_string();
            aggregate |= t.aggregate;
            let name = match op {
                BinOp::BitAnd => "BITAND",
                BinOp::BitOr => "BITOR",
                _ => "BITXOR",
            };
            acc = Node::Func(name, vec![acc, t.node]);
        }
        Some(Typed {
            node: acc,
            field: Cow::Owned(numeric_field(&datatype)),
            kind: Kind::Number,
            aggregate,
        })
    }

    fn expect(&mut self, t: &Typed, want: Kind, op: &str, span: Span) -> Option<()> {
        if t.kind == want || t.kind == Kind::Null {
            return Some(());
        }
        self.err(
            span,
            format!(
                "{op} needs {} but this is {}",
                want.describe(),
                t.kind.describe()
            ),
        );
        None
    }

    fn expect_same(&mut self, a: &Typed, b: &Typed, op: &str, span: Span) -> Option<()> {
        if a.kind.fits(b.kind) && a.kind != Kind::Bool && b.kind != Kind::Bool {
            return Some(());
        }
        self.err(
            span,
            format!(
                "{op} compares {} with {}",
                a.kind.describe(),
                b.kind.describe()
            ),
        );
        None
    }

    fn cond(node: Node<'a>, parts: &[&Typed]) -> Typed<'a> {
        Typed {
            node,
            field: computed("boolean"),
            kind: Kind::Bool,
            aggregate: parts.iter().any(|p| p.aggregate),
        }
    }

    /// A subquery of this query: checked with the current FROM visible (correlation).
    fn subquery(&mut self, q: &Query, columns: Option<usize>) -> Option<super::Checked<'a>> {
        let saved = (self.aggregates_allowed, self.in_aggregate);
        (self.aggregates_allowed, self.in_aggregate) = (false, false);
        let out = self.query(q);
        (self.aggregates_allowed, self.in_aggregate) = saved;
        let out = out?;
        if let Some(n) = columns {
            if out.query.fields.len() != n {
                self.err(
                    q.span,
                    format!(
                        "the subquery must select {n} column, not {}",
                        out.query.fields.len()
                    ),
                );
                return None;
            }
        }
        Some(out)
    }

    fn value_inner(&mut self, e: &Expr) -> Option<Typed<'a>> {
        let span = e.span;
        match &e.kind {
            ExprKind::Column(name) => self.column(name),
            ExprKind::Number { text, int } => {
                let v: f64 = text.parse().unwrap_or(f64::INFINITY);
                let mantissa = text.split(['e', 'E']).next().unwrap_or("");
                let underflow = v == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
                if !v.is_finite() || underflow {
                    self.err(span, format!("the number {text} is out of range"));
                    return None;
                }
                let int = *int && text.parse::<i64>().is_ok();
                Some(Typed {
                    node: Node::Num {
                        text: text.clone(),
                        int,
                    },
                    field: computed(if int { "long" } else { "double" }),
                    kind: Kind::Number,
                    aggregate: false,
                })
            }
            ExprKind::Hex(h) => match i64::from_str_radix(h, 16) {
                Ok(v) => Some(Typed {
                    node: Node::Num {
                        text: v.to_string(),
                        int: true,
                    },
                    field: computed("long"),
                    kind: Kind::Number,
                    aggregate: false,
                }),
                Err(_) => {
                    self.err(span, format!("0x{h} does not fit in a 64-bit integer"));
                    None
                }
            },
            ExprKind::Str(s) => {
                if s.contains('\0') {
                    self.err(span, "the string literal contains a NUL character");
                    return None;
                }
                Some(Typed {
                    node: Node::Str(s.clone()),
                    field: computed_text(),
                    kind: Kind::Text,
                    aggregate: false,
                })
            }
            ExprKind::Null => Some(Typed {
                node: Node::Null,
                field: computed("double"),
                kind: Kind::Null,
                aggregate: false,
            }),
            ExprKind::Nested(inner) => {
                let t = self.value(inner)?;
                Some(Typed {
                    node: Node::Nested(Box::new(t.node)),
                    ..t
                })
            }
            ExprKind::Unary(op, inner) => {
                let t = self.value(inner)?;
                match op {
                    UnaryOp::Not => {
                        self.expect(&t, Kind::Bool, "NOT", inner.span)?;
                        Some(Typed {
                            node: Node::Not(Box::new(t.node)),
                            ..t
                        })
                    }
                    UnaryOp::BitNot => {
                        self.expect_integer(&t, "~", inner.span)?;
                        let field = numeric_field(wider(&t.field.datatype, &t.field.datatype));
                        Some(Typed {
                            node: Node::Func("BITNOT", vec![t.node]),
                            field: Cow::Owned(field),
                            kind: Kind::Number,
                            aggregate: t.aggregate,
                        })
                    }
                    UnaryOp::Neg | UnaryOp::Plus => {
                        self.expect(&t, Kind::Number, "a sign", inner.span)?;
                        let mut field = numeric_field(wider(&t.field.datatype, &t.field.datatype));
                        if *op == UnaryOp::Plus {
                            return Some(t);
                        }
                        field.unit = t.field.unit.clone();
                        Some(Typed {
                            node: Node::Neg(Box::new(t.node)),
                            field: Cow::Owned(field),
                            kind: Kind::Number,
                            aggregate: t.aggregate,
                        })
                    }
                }
            }
            ExprKind::Chain { first, rest } => {
                if rest.len() + 1 > super::MAX_TERMS {
                    self.err(
                        span,
                        format!(
                            "the expression has {} terms; the limit is {} (use IN (...) for long lists)",
                            rest.len() + 1,
                            super::MAX_TERMS
                        ),
                    );
                    return None;
                }
                let first_t = self.value(first);
                let mut parts = Vec::with_capacity(rest.len());
                let mut ok = first_t.is_some();
                for (op, x) in rest {
                    match self.value(x) {
                        Some(t) => parts.push((*op, t, x.span)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let first_t = first_t?;
                if let Some((op, _)) = rest
                    .first()
                    .filter(|(op, _)| matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor))
                {
                    return self.bitwise(first_t, first.span, parts, *op);
                }
                let concat = rest.first().is_some_and(|(op, _)| *op == BinOp::Concat);
                let want = if concat { Kind::Text } else { Kind::Number };
                let sym = if concat { "||" } else { "arithmetic" };
                self.expect(&first_t, want, sym, first.span)?;
                let mut datatype = first_t.field.datatype.clone();
                let mut aggregate = first_t.aggregate;
                let mut nodes = Vec::with_capacity(parts.len());
                for (op, t, sp) in parts {
                    self.expect(&t, want, op.symbol(), sp)?;
                    if !concat {
                        datatype = wider(&datatype, &t.field.datatype).to_string();
                    }
                    aggregate |= t.aggregate;
                    // A division whose static type is a float divides as floats on every
                    // backend, even where both values happen to be whole numbers (a UNION, a
                    // CASE or a COALESCE of integers and floats; SQLite keeps them integers).
                    let node = if op == BinOp::Div && datatype == "double" {
                        Node::Cast(Box::new(t.node), CastTarget::Double)
                    } else {
                        t.node
                    };
                    nodes.push((op, node));
                }
                Some(Typed {
                    node: Node::Chain(Box::new(first_t.node), nodes),
                    field: Cow::Owned(if concat {
                        text_field()
                    } else {
                        numeric_field(&datatype)
                    }),
                    kind: want,
                    aggregate,
                })
            }
            ExprKind::Compare(a, op, b) => {
                let (ta, tb) = (self.value(a), self.value(b));
                let (ta, tb) = (ta?, tb?);
                self.expect_same(&ta, &tb, &format!("'{}'", op.symbol()), span)?;
                Some(Self::cond(
                    Node::Compare(Box::new(ta.node.clone()), *op, Box::new(tb.node.clone())),
                    &[&ta, &tb],
                ))
            }
            ExprKind::Logic(op, terms) => {
                let word = if *op == LogicOp::And { "AND" } else { "OR" };
                let mut nodes = Vec::with_capacity(terms.len());
                let mut aggregate = false;
                let mut ok = true;
                for t in terms {
                    match self.value(t) {
                        Some(x) if x.kind == Kind::Bool => {
                            aggregate |= x.aggregate;
                            nodes.push(x.node);
                        }
                        Some(x) => {
                            self.err(
                                t.span,
                                format!(
                                    "{word} needs conditions but this is {}",
                                    x.kind.describe()
                                ),
                            );
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                ok.then(|| Typed {
                    node: Node::Logic(*op, nodes),
                    field: computed("boolean"),
                    kind: Kind::Bool,
                    aggregate,
                })
            }
            ExprKind::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (a, b, c) = (self.value(expr), self.value(low), self.value(high));
                let (a, b, c) = (a?, b?, c?);
                self.expect_same(&a, &b, "BETWEEN", low.span)?;
                self.expect_same(&a, &c, "BETWEEN", high.span)?;
                Some(Self::cond(
                    Node::Between(
                        Box::new(a.node.clone()),
                        *negated,
                        Box::new(b.node.clone()),
                        Box::new(c.node.clone()),
                    ),
                    &[&a, &b, &c],
                ))
            }
            ExprKind::Like {
                expr,
                negated,
                insensitive,
                pattern,
            } => {
                let (a, p) = (self.value(expr), self.value(pattern));
                let (a, p) = (a?, p?);
                self.expect(&a, Kind::Text, "LIKE", expr.span)?;
                self.expect(&p, Kind::Text, "LIKE", pattern.span)?;
                Some(Self::cond(
                    Node::Like(
                        Box::new(a.node.clone()),
                        *negated,
                        *insensitive,
                        Box::new(p.node.clone()),
                    ),
                    &[&a, &p],
                ))
            }
            ExprKind::IsNull { expr, negated } => {
                let t = self.value(expr)?;
                if t.kind == Kind::Bool {
                    self.err(expr.span, "IS NULL takes a value, not a condition");
                    return None;
                }
                Some(Self::cond(
                    Node::IsNull(Box::new(t.node.clone()), *negated),
                    &[&t],
                ))
            }
            ExprKind::InList {
                expr,
                negated,
                list,
            } => {
                let a = self.value(expr)?;
                let mut nodes = Vec::with_capacity(list.len());
                for x in list {
                    let t = self.value(x)?;
                    self.expect_same(&a, &t, "IN", x.span)?;
                    nodes.push(t.node);
                }
                Some(Self::cond(
                    Node::InList(Box::new(a.node.clone()), *negated, nodes),
                    &[&a],
                ))
            }
            ExprKind::InQuery {
                expr,
                negated,
                query,
            } => {
                let a = self.value(expr)?;
                let q = self.subquery(query, Some(1))?;
                let k = super::Kind::of(&q.query.fields[0]);
                if !a.kind.fits(k) || a.kind == Kind::Bool {
                    self.err(
                        span,
                        format!("IN compares {} with {}", a.kind.describe(), k.describe()),
                    );
                    return None;
                }
                Some(Self::cond(
                    Node::InQuery(Box::new(a.node.clone()), *negated, Box::new(q.query)),
                    &[&a],
                ))
            }
            ExprKind::Exists(q) => {
                let q = self.subquery(q, None)?;
                Some(Self::cond(Node::Exists(Box::new(q.query)), &[]))
            }
            ExprKind::Subquery(q) => {
                let q = self.subquery(q, Some(1))?;
                let mut field = q.query.fields[0].clone();
                field.name = "col".into();
                let kind = Kind::of(&field);
                Some(Typed {
                    node: Node::Subquery(Box::new(q.query)),
                    field: Cow::Owned(field),
                    kind,
                    aggregate: false,
                })
            }
            ExprKind::Call(c) => self.call(c, span),
            ExprKind::Cast(inner, target) => self.cast(inner, target, span),
            ExprKind::Case {
                operand,
                whens,
                else_,
            } => self.case(operand.as_deref(), whens, else_.as_deref()),
        }
    }

    fn cast(&mut self, inner: &Expr, target: &CastType, _span: Span) -> Option<Typed<'a>> {
        if let CastType::Point | CastType::Circle | CastType::Polygon = target {
            return self.cast_geometry(inner, target);
        }
        let t = self.value(inner)?;
        if t.kind == Kind::Bool || t.kind == Kind::Geometry {
            self.err(
                inner.span,
                format!("CAST takes a number or a string, not {}", t.kind.describe()),
            );
            return None;
        }
        let (target, field) = match target {
            CastType::Smallint => (CastTarget::Smallint, numeric_field("short")),
            CastType::Integer => (CastTarget::Integer, numeric_field("int")),
            CastType::Bigint => (CastTarget::Bigint, numeric_field("long")),
            CastType::Real => (CastTarget::Real, numeric_field("float")),
            CastType::Double => (CastTarget::Double, numeric_field("double")),
            CastType::Char(n) => {
                let n = n.unwrap_or(1);
                let mut f = text_field();
                f.arraysize = Some(format!("{n}*"));
                (CastTarget::Char(n), f)
            }
            CastType::Varchar(n) => {
                let mut f = text_field();
                f.arraysize = Some(n.map_or("*".to_string(), |n| format!("{n}*")));
                (CastTarget::Varchar(*n), f)
            }
            _ => {
                // TIMESTAMP, from text (a timestamp column reads as its DALI text).
                if !matches!(t.kind, Kind::Text | Kind::Null) {
                    self.err(
                        inner.span,
                        format!(
                            "CAST to TIMESTAMP takes a string, not {}",
                            t.kind.describe()
                        ),
                    );
                    return None;
                }
                if t.field.xtype.as_deref() == Some("timestamp") {
                    let mut field = t.field.clone();
                    field.to_mut().name = "timestamp".into();
                    return Some(Typed { field, ..t });
                }
                let mut f = text_field();
                f.datatype = "char".into();
                f.arraysize = Some("*".into());
                f.xtype = Some("timestamp".into());
                (CastTarget::Timestamp, f)
            }
        };
        let mut field = field;
        field.unit = match target {
            CastTarget::Char(_) | CastTarget::Varchar(_) | CastTarget::Timestamp => None,
            _ => t.field.unit.clone(),
        };
        let kind = Kind::of(&field);
        Some(Typed {
            node: Node::Cast(Box::new(t.node), target),
            field: Cow::Owned(field),
            kind,
            aggregate: t.aggregate,
        })
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_: Option<&Expr>,
    ) -> Option<Typed<'a>> {
        let op = match operand {
            Some(o) => Some(self.value(o)?),
            None => None,
        };
        let mut aggregate = op.as_ref().is_some_and(|o| o.aggregate);
        let mut pairs = Vec::new();
        let mut result: Option<Typed> = None;
        for (w, t) in whens {
            let wt = match &op {
                Some(o) => {
                    let wt = self.value(w)?;
                    self.expect_same(o, &wt, "CASE ... WHEN", w.span)?;
                    wt
                }
                None => self.condition(w, "WHEN")?,
            };
            let tt = self.value(t)?;
            if tt.kind == Kind::Bool {
                self.err(t.span, "THEN takes a value, not a condition");
                return None;
            }
            if let Some(r) = &result {
                self.expect_same(r, &tt, "CASE", t.span)?;
            }
            aggregate |= wt.aggregate || tt.aggregate;
            if result.as_ref().is_none_or(|r| r.kind == Kind::Null) {
                result = Some(tt.clone());
            } else if let Some(r) = &mut result {
                if r.kind == Kind::Number {
                    r.field = computed(wider(&r.field.datatype, &tt.field.datatype));
                }
            }
            pairs.push((wt.node, tt.node));
        }
        let else_node = match else_ {
            Some(e) => {
                let t = self.value(e)?;
                if let Some(r) = &result {
                    self.expect_same(r, &t, "CASE ... ELSE", e.span)?;
                }
                if let Some(r) = &mut result {
                    if r.kind == Kind::Number && t.kind == Kind::Number {
                        r.field = computed(wider(&r.field.datatype, &t.field.datatype));
                    } else if r.kind == Kind::Null {
                        *r = t.clone();
                    }
                }
                aggregate |= t.aggregate;
                Some(Box::new(t.node))
            }
            None => None,
        };
        let r = result?;
        let mut field = r.field.clone();
        field.to_mut().name = "case".into();
        Some(Typed {
            node: Node::Case {
                operand: op.map(|o| Box::new(o.node)),
                whens: pairs,
                else_: else_node,
            },
            field,
            kind: r.kind,
            aggregate,
        })
    }

    /// A column reference, resolved through the frames from the innermost out.
    pub(super) fn column(&mut self, name: &Name) -> Option<Typed<'a>> {
        let id = name.last();
        let q = name.qualifier();
        if q.is_empty() {
            for frame in self.frames.iter().rev() {
                match frame.find(id) {
                    Found::One(found) => {
                        let (node, field) = *found;
                        let kind = Kind::of(&field);
                        return Some(Typed {
                            node,
                            field,
                            kind,
                            aggregate: false,
                        });
                    }
                    Found::Ambiguous(tables) => {
                        let msg = format!(
                            "column '{id}' is ambiguous: {} all have it; qualify it (table.column)",
                            tables.join(", ")
                        );
                        self.err(id.span, msg);
                        return None;
                    }
                    Found::Nothing => {}
                }
            }
            let tables: Vec<String> = self
                .frames
                .last()
                .map(|f| f.sources.iter().map(|s| s.display()).collect())
                .unwrap_or_default();
            let msg = match tables.as_slice() {
                [one] => format!("column '{id}' does not exist in table {one}"),
                _ => format!("column '{id}' does not exist in {}", tables.join(", ")),
            };
            self.err(id.span, msg);
            return None;
        }
        for frame in self.frames.iter().rev() {
            if let Some(src) = frame.visible_sources().iter().find(|s| s.named_by(q)) {
                let mut hits = src.columns.iter().filter(|c| c.name.matches(id));
                let first = hits.next();
                if first.is_some() && hits.next().is_some() {
                    let msg = format!(
                        "column '{id}' is ambiguous: {} has two columns of that name",
                        src.display()
                    );
                    self.err(id.span, msg);
                    return None;
                }
                return match first {
                    Some(c) => {
                        let kind = Kind::of(&c.field);
                        Some(Typed {
                            node: crate::scope::column_node(src, c),
                            field: c.field.clone(),
                            kind,
                            aggregate: false,
                        })
                    }
                    None => {
                        let msg =
                            format!("column '{id}' does not exist in table {}", src.display());
                        self.err(id.span, msg);
                        None
                    }
                };
            }
        }
        let qs: Vec<String> = q.iter().map(|i| i.to_string()).collect();
        self.err(
            q[0].span,
            format!(
                "'{}' in '{name}' does not name a table in FROM",
                qs.join(".")
            ),
        );
        None
    }

    /// A set function (COUNT, SUM, AVG, MIN, MAX).
    pub(super) fn aggregate(&mut self, c: &Call, span: Span) -> Option<Typed<'a>> {
        if !self.aggregates_allowed {
            self.err(
                span,
                format!("{} cannot be used here: set functions belong in the select list, HAVING or ORDER BY", c.name),
            );
            return None;
        }
        if self.in_aggregate {
            self.err(
                span,
                format!("{} cannot be nested inside another set function", c.name),
            );
            return None;
        }
        let func: &'static str = match c.name.as_str() {
            "COUNT" => "COUNT",
            "SUM" => "SUM",
            "AVG" => "AVG",
            "MIN" => "MIN",
            "MAX" => "MAX",
            _ => return None,
        };
        if c.star {
            return Some(Typed {
                node: Node::Aggregate {
                    func,
                    distinct: false,
                    arg: None,
                    cast: None,
                },
                field: computed("long"),
                kind: Kind::Number,
                aggregate: true,
            });
        }
        self.in_aggregate = true;
        let arg = self.value(&c.args[0]);
        self.in_aggregate = false;
        let arg = arg?;
        // A set function of outer-query columns only would belong to the outer query (SQL);
        // vogate refuses it rather than answer differently on each backend.
        let own: Vec<std::rc::Rc<str>> = self
            .frames
            .last()
            .map(|f| f.sources.iter().map(|s| s.qualifier.clone()).collect())
            .unwrap_or_default();
        let (mut inner, mut outer) = (false, false);
        arg.node.for_each_col(&mut |col| {
            if own.contains(&col.qualifier) {
                inner = true;
            } else {
                outer = true;
            }
        });
        if outer && !inner {
            self.err(
                span,
                format!("{func} of columns of an outer query only is not supported: compute it in that query"),
            );
            return None;
        }
        if arg.kind == Kind::Bool {
            self.err(
                c.args[0].span,
                format!("{func} takes a value, not a condition"),
            );
            return None;
        }
        if arg.kind == Kind::Geometry && func != "COUNT" {
            self.err(
                c.args[0].span,
                format!("{func} takes a number or a string, not a geometry"),
            );
            return None;
        }
        let (field, cast) = match func {
            "COUNT" => (numeric_field("long"), None),
            "SUM" | "AVG" => {
                self.expect(&arg, Kind::Number, func, c.args[0].span)?;
                let int = is_int(&arg.field.datatype);
                let mut f = numeric_field(if func == "SUM" && int {
                    "long"
                } else {
                    "double"
                });
                f.unit = arg.field.unit.clone();
                let cast = if func == "AVG" {
                    Some("DOUBLE PRECISION")
                } else if int {
                    Some("BIGINT")
                } else {
                    None
                };
                (f, cast)
            }
            _ => {
                let mut f = arg.field.clone().into_owned();
                f.name = func.to_ascii_lowercase();
                (f, None)
            }
        };
        Some(Typed {
            node: Node::Aggregate {
                func,
                distinct: c.distinct,
                arg: Some(Box::new(arg.node)),
                cast,
            },
            kind: Kind::of(&field),
            field: Cow::Owned(field),
            aggregate: true,
        })
    }
}
