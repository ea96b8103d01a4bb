//! Diagnostics: every ADQL error carries the place it refers to (line and column, from 1,
//! counted in characters), what was wrong, and where it helps a hint. Several errors of one
//! query (all unknown names, say) are reported together in one message.

use std::fmt;

use vo_common::VoError;

/// A position in the query text: `line` and `column` count from 1, in characters; `offset` is
/// the byte offset into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column within the line, from 1, in characters.
    pub column: u32,
    /// Byte offset into the query text.
    pub offset: usize,
}

/// The part of the query text a token or a syntax node covers: from `start` up to (not
/// including) `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The first character.
    pub start: Pos,
    /// Just after the last character.
    pub end: Pos,
}

impl Span {
    /// The span from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Whether a diagnostic is about the syntax (the text is not ADQL) or about meaning (the
/// text is ADQL, but names, types or features do not fit this service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The parser refused the text (ADQL 2.1 §2 grammar).
    Syntax,
    /// The checker refused a well-formed query.
    Check,
}

/// One error in a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Syntax or meaning.
    pub stage: Stage,
    /// Where in the query; `None` for errors about the whole query.
    pub span: Option<Span>,
    /// What was wrong, as a sentence fragment without the position (e.g. "expected a
    /// column name, found 'FROM'").
    pub message: String,
    /// How to fix it, when there is an obvious way.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A syntax error at `span`.
    pub fn syntax(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            stage: Stage::Syntax,
            span: Some(span),
            message: message.into(),
            hint: None,
        }
    }

    /// A checking error at `span`.
    pub fn check(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            stage: Stage::Check,
            span: Some(span),
            message: message.into(),
            hint: None,
        }
    }

    /// A checking error about the whole query.
    pub fn whole(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            stage: Stage::Check,
            span: None,
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.span {
            Some(s) => write!(f, "{} at {}", self.message, s.start)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

/// How many errors one message lists.
pub const MAX_ERRORS: usize = 20;

/// The errors of one query as one [`VoError`] of kind Query: "ADQL syntax error: ..." or
/// "ADQL error: ...", the diagnostics in the order of their positions joined by "; ", at
/// most [`MAX_ERRORS`] of them.
pub fn to_vo_error(mut diags: Vec<Diagnostic>) -> VoError {
    if diags.is_empty() {
        return VoError::query("ADQL error: the query could not be translated");
    }
    diags.sort_by_key(|d| d.span.map(|s| s.start.offset).unwrap_or(usize::MAX));
    let syntax = diags.iter().any(|d| d.stage == Stage::Syntax);
    let more = diags.len().saturating_sub(MAX_ERRORS);
    diags.truncate(MAX_ERRORS);
    let parts: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    let mut msg = format!(
        "{}: {}",
        if syntax {
            "ADQL syntax error"
        } else {
            "ADQL error"
        },
        parts.join("; ")
    );
    if more > 0 {
        msg.push_str(&format!("; and {more} more errors"));
    }
    VoError::query(msg)
}
