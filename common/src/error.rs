//! The vogate error type: a kind a client can act on and a message for the user. The one
//! mapping from kinds to HTTP statuses and error documents (DALI 1.1 §4.2, SODA 1.0 §5.2)
//! is vo-dali's `error` module; service crates never choose statuses themselves.

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
    /// The resource exists but belongs to another user. HTTP 403.
    Forbidden,
    /// The resource exists but does not answer this HTTP method. HTTP 405.
    MethodNotAllowed,
    /// The request body is larger than the service accepts. HTTP 413.
    TooLarge,
    /// The request body is of a media type the service does not read. HTTP 415.
    UnsupportedMediaType,
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
}

impl fmt::Display for VoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VoError {}
