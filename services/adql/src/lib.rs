//! vo-adql: ADQL 2.1 (IVOA Recommendation 2023-12-15) queries parsed, checked against a
//! catalog and rendered as SQL for a backend. A pure library: no HTTP, no database.
//!
//! [`translate`] runs the stages in order:
//! 1. [`parser`] (with [`lexer`]): the text becomes an [`ast`] by the ADQL 2.1 grammar; a
//!    syntax error says `line:column`, what was expected and often how to fix it ([`diag`]).
//! 2. [`check`]: every table, alias and column is resolved against the [`Catalog`] (the
//!    service's TAP_SCHEMA) through a stack of scopes (FROM items, joins, derived tables,
//!    CTEs, outer queries for correlated subqueries); values are typed; the output columns'
//!    metadata is derived. The result is the checked query, [`ir`].
//! 3. [`rewrite`]: index prefilters for cone and footprint searches; the row limit of TOP and
//!    MAXREC.
//! 4. [`render`]: SQL through the backend's [`SqlDialect`].
//!
//! Nothing is passed through: every construct is either understood and rendered, or refused
//! with an error that names it and its place, so an unsupported query never gets a wrong
//! answer, and no backend function, table or statement can be reached.
//!
//! Supported now: `SELECT [ALL|DISTINCT] [TOP n]` with columns, `*`, `t.*`, literals,
//! arithmetic, `||`, COUNT/SUM/AVG/MIN/MAX (with DISTINCT), COALESCE, CASE, CAST to the numeric
//! and character types, scalar subqueries;
//! FROM with published tables, CTEs and derived tables, comma and INNER/LEFT/RIGHT/FULL/CROSS/
//! NATURAL joins with ON or USING; WHERE with comparisons, AND/OR/NOT, BETWEEN, LIKE/ILIKE,
//! IN (list or subquery), EXISTS, IS NULL; GROUP BY and HAVING; ORDER BY columns, output
//! names, positions or expressions; OFFSET; `UNION`/`INTERSECT`/`EXCEPT` `[ALL]`; WITH. Geometry (§4.2):
//! CONTAINS and INTERSECTS of POINT, CIRCLE, POLYGON and region columns, DISTANCE, in ICRS.
//! Unquoted identifiers match case-insensitively, double-quoted ones exactly (§2.1.3).
//!
//! Where SQL dialects differ, PostgreSQL's behaviour is the meaning, on every backend: the
//! checker refuses what PostgreSQL refuses (ungrouped columns, ambiguous names, ...), and the
//! [`SqlDialect`] hooks (`divide`, `arithmetic`, `order_nulls`, `cast`, `scalar_subquery`,
//! `like_escape`) make the backend compute what PostgreSQL computes.

pub mod ast;
pub mod catalog;
pub mod check;
pub mod diag;
pub mod dialect;
pub mod ir;
pub mod lexer;
pub mod parser;
pub mod render;
pub mod rewrite;
pub mod scope;
pub mod vounit;

pub use catalog::{
    unquoted, upload_sql_column, upload_sql_table, Catalog, ColumnInfo, TableInfo, UdfSignature,
    WithUploads, UPLOAD_SCHEMA,
};
pub use dialect::SqlDialect;
use vo_common::{FieldMeta, VoError};

/// A query that passed the checks: SQL without its outermost row limit, the output columns,
/// TOP and OFFSET.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    /// The SQL statement, without the LIMIT of TOP or MAXREC and without OFFSET: see
    /// [`Translated::sql_with_limit`].
    pub sql: String,
    /// One FIELD per output column, in order.
    pub fields: Vec<FieldMeta>,
    /// The TOP of the query, if it had one.
    pub top: Option<u64>,
    /// The OFFSET of the query, if it had one.
    pub offset: Option<u64>,
}

impl Translated {
    /// The SQL to run for a result of at most `maxrec` rows (TAP 1.1 §2.7.1), and whether the
    /// result can overflow: TOP within MAXREC is the limit itself; otherwise one row more than
    /// MAXREC is asked for, so that a result that fills MAXREC can be told from an overflow.
    pub fn sql_with_limit(&self, dialect: &dyn SqlDialect, maxrec: u64) -> (String, bool) {
        let (limit, can_overflow) = rewrite::row_limit(self.top, maxrec);
        let tail = match self.offset {
            Some(o) => dialect.limit_offset(Some(limit), o),
            None => dialect.limit(limit),
        };
        (format!("{}{tail}", self.sql), can_overflow)
    }
}

/// Parse, check and render one ADQL query. Errors are [`VoError`]s of kind Query whose message
/// says what was wrong and where ("ADQL syntax error: ..." or "ADQL error: ..."); all unknown
/// names of a query are reported together.
pub fn translate(
    adql: &str,
    catalog: &dyn Catalog,
    dialect: &dyn SqlDialect,
) -> Result<Translated, VoError> {
    let ast = parser::parse(adql, catalog.udfs()).map_err(|d| diag::to_vo_error(vec![d]))?;
    let mut checker = check::Checker::new(catalog, adql);
    let checked = checker.query(&ast);
    let mut query = match checked {
        Some(c) if checker.diags.is_empty() => c.query,
        _ => return Err(diag::to_vo_error(checker.diags)),
    };
    rewrite::add_prefilters(&mut query, dialect);
    let (top, offset) = match &query.body {
        ir::BodyIr::Select(s) => (s.top, query.offset),
        _ => (None, query.offset),
    };
    let sql = render::Renderer::new(dialect).query(&query, true);
    Ok(Translated {
        sql,
        fields: query.fields,
        top,
        offset,
    })
}

#[cfg(test)]
mod tests;
