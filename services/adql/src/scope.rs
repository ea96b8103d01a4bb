//! Name resolution: a stack of frames, one per query level (outer queries stay visible to
//! correlated subqueries). A frame holds the sources of one FROM clause (published tables,
//! CTEs, derived tables, with their aliases) and the columns USING and NATURAL joins merged.

use std::borrow::Cow;

use vo_common::FieldMeta;

use crate::ast::Ident;
use crate::catalog::{names_declared, names_published, TableInfo};
use crate::ir::{ColRef, Node, Target};

/// How a source column is named.
#[derive(Debug, Clone)]
pub enum ColName<'a> {
    /// As published in TAP_SCHEMA (`"size"` for a delimited name).
    Published(&'a str),
    /// As the query declared it (a subquery's output name).
    Declared(Ident),
}

impl ColName<'_> {
    /// Whether the reference `r` names this column.
    pub fn matches(&self, r: &Ident) -> bool {
        match self {
            ColName::Published(n) => names_published(r, n),
            ColName::Declared(d) => names_declared(d, r),
        }
    }
}

/// One column of a source.
#[derive(Debug, Clone)]
pub struct SourceColumn<'a> {
    /// Its name.
    pub name: ColName<'a>,
    /// Its metadata (borrowed from the catalog for a published column).
    pub field: Cow<'a, FieldMeta>,
    /// What a reference to it renders as.
    pub target: Target<'a>,
}

impl SourceColumn<'_> {
    /// How an outer query or a join names it.
    pub fn ident(&self) -> Ident {
        match &self.name {
            ColName::Published(n) => Ident {
                name: crate::catalog::unquoted(n).to_string(),
                quoted: crate::catalog::unquoted(n).len() != n.len(),
                span: Default::default(),
            },
            ColName::Declared(d) => d.clone(),
        }
    }
}

/// One FROM item as the query refers to it.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// Its correlation name, if it has one (it is then known by it only, SQL-92 §6.3).
    pub alias: Option<Ident>,
    /// The published table, for a table reference.
    pub table: Option<&'a TableInfo>,
    /// The CTE's name, for a CTE reference.
    pub cte: Option<Ident>,
    /// Its SQL alias (quoted).
    pub qualifier: std::rc::Rc<str>,
    /// Its columns, in order.
    pub columns: Vec<SourceColumn<'a>>,
}

impl Source<'_> {
    /// Whether the qualifier `q` (the parts before `.column` or `.*`) names this source.
    pub fn named_by(&self, q: &[Ident]) -> bool {
        if let Some(a) = &self.alias {
            return matches!(q, [one] if names_declared(a, one));
        }
        if let Some(c) = &self.cte {
            return matches!(q, [one] if names_declared(c, one));
        }
        let Some(t) = self.table else { return false };
        match q {
            [n] => names_published(n, &t.name),
            [s, n] => {
                t.schema.as_deref().is_some_and(|sn| names_published(s, sn))
                    && names_published(n, &t.name)
            }
            _ => false,
        }
    }

    /// How the query names this source, for messages.
    pub fn display(&self) -> String {
        match (&self.alias, self.table, &self.cte) {
            (Some(a), Some(t), _) => format!("{} (AS {a})", t.qualified_name()),
            (Some(a), None, _) => a.to_string(),
            (None, Some(t), _) => t.qualified_name(),
            (None, None, Some(c)) => c.to_string(),
            _ => "?".into(),
        }
    }
}

/// A column that a USING or NATURAL join merged: unqualified references name it, not the
/// two columns it was made of.
#[derive(Debug, Clone)]
pub struct Merged<'a> {
    /// Its name.
    pub name: Ident,
    /// Its metadata.
    pub field: FieldMeta,
    /// Its value (the left or right column, or COALESCE of both for a FULL join).
    pub node: Node<'a>,
    /// The (source index, column index) pairs it hides from unqualified lookup.
    pub hides: Vec<(usize, usize)>,
}

/// The sources of one FROM clause.
#[derive(Debug, Clone, Default)]
pub struct Frame<'a> {
    /// The sources, in FROM order.
    pub sources: Vec<Source<'a>>,
    /// Columns merged by USING and NATURAL joins.
    pub merged: Vec<Merged<'a>>,
    /// While a join's ON condition is checked: the first source and the first merged column
    /// of that join (ON sees the tables of its own join only).
    pub window: Option<(usize, usize)>,
}

/// What an unqualified name found in one frame.
pub enum Found<'a> {
    /// Exactly one column.
    One(Box<(Node<'a>, Cow<'a, FieldMeta>)>),
    /// Several: the tables that have it.
    Ambiguous(Vec<String>),
    /// None.
    Nothing,
}

impl<'a> Frame<'a> {
    /// The column an unqualified `name` refers to in this frame.
    pub fn find(&self, name: &Ident) -> Found<'a> {
        let (first_source, first_merged) = self.window.unwrap_or((0, 0));
        let merged: Vec<&Merged> = self.merged[first_merged..]
            .iter()
            .filter(|m| names_declared(&m.name, name))
            .collect();
        if let Some(m) = merged.last() {
            return Found::One(Box::new((m.node.clone(), Cow::Owned(m.field.clone()))));
        }
        let mut hits = Vec::new();
        for (si, s) in self.sources.iter().enumerate().skip(first_source) {
            for (ci, c) in s.columns.iter().enumerate() {
                let hidden = self.merged.iter().any(|m| m.hides.contains(&(si, ci)));
                if !hidden && c.name.matches(name) {
                    hits.push((s, c));
                }
            }
        }
        match hits.as_slice() {
            [] => Found::Nothing,
            [(s, c)] => Found::One(Box::new((column_node(s, c), c.field.clone()))),
            _ => Found::Ambiguous(hits.iter().map(|(s, _)| s.display()).collect()),
        }
    }
}

impl<'a> Frame<'a> {
    /// The sources a qualified name may name now (all, or those of the join whose ON is
    /// being checked).
    pub fn visible_sources(&self) -> &[Source<'a>] {
        &self.sources[self.window.map_or(0, |w| w.0)..]
    }
}

/// The reference to column `c` of source `s`.
pub fn column_node<'a>(s: &Source<'a>, c: &SourceColumn<'a>) -> Node<'a> {
    Node::Col(ColRef {
        qualifier: s.qualifier.clone(),
        target: c.target.clone(),
    })
}
