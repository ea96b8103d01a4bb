//! The vogate error type and its one mapping to HTTP statuses and DALI error documents.
//!
//! DALI 1.1 §4.2 ("Error Documents") requires a VOTable with a RESOURCE of type "results"
//! holding `<INFO name="QUERY_STATUS" value="ERROR">message</INFO>`; TAP 1.1 §2.9 uses the
//! same document for every error of a sync query. Service crates never choose statuses
//! themselves: they build a [`VoError`] and call [`VoError::http_status`] and
//! [`VoError::to_votable`].

use std::fmt;

/// What went wrong, in the terms a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A request parameter is missing or has a value the service does not accept
    /// (e.g. no QUERY, LANG=SQL, an unknown RESPONSEFORMAT). HTTP 400.
    Usage,
    /// The ADQL query is wrong: a syntax error, an unknown table or column, an unsupported
    /// construct. HTTP 400.
    Query,
    /// The requested resource does not exist. HTTP 404.
    NotFound,
    /// The request body is larger than the service accepts. HTTP 413.
    TooLarge,
    /// A backing service (the database) cannot be reached now. HTTP 503.
    Unavailable,
    /// A fault of the service itself. HTTP 500; the message never carries internals.
    Internal,
}

/// An error with its kind and a message meant for the user: it names what was wrong and,
/// where it applies, where (a parameter name, or `line:column` in the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoError {
    /// The kind, which decides the HTTP status.
    pub kind: ErrorKind,
    /// The message shown to the user.
    pub message: String,
}

impl VoError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        VoError {
            kind,
            message: message.into(),
        }
    }

    /// A request parameter error (HTTP 400).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// An ADQL query error (HTTP 400).
    pub fn query(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Query, message)
    }

    /// A resource that does not exist (HTTP 404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An internal fault (HTTP 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The HTTP status code for this error's kind.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            ErrorKind::Usage | ErrorKind::Query => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::TooLarge => 413,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The DALI 1.1 §4.2 error document: a VOTable 1.4 whose results RESOURCE holds
    /// `INFO name="QUERY_STATUS" value="ERROR"` with the message as its content.
    pub fn to_votable(&self) -> String {
        format!(
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" ",
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
                "<RESOURCE type=\"results\">\n",
                "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n",
                "</RESOURCE>\n</VOTABLE>\n"
            ),
            crate::votable::xml_escape(&self.message)
        )
    }
}

impl fmt::Display for VoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VoError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_kinds() {
        assert_eq!(VoError::usage("x").http_status(), 400);
        assert_eq!(VoError::query("x").http_status(), 400);
        assert_eq!(VoError::not_found("x").http_status(), 404);
        assert_eq!(VoError::new(ErrorKind::TooLarge, "x").http_status(), 413);
        assert_eq!(VoError::new(ErrorKind::Unavailable, "x").http_status(), 503);
        assert_eq!(VoError::internal("x").http_status(), 500);
    }

    #[test]
    fn error_document_escapes_message() {
        let doc = VoError::query("column \"a<b\" & more").to_votable();
        assert!(doc.contains(
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">column &quot;a&lt;b&quot; &amp; more</INFO>"
        ));
        assert!(doc.contains("<RESOURCE type=\"results\">"));
    }
}
