//! vo-dali: the HTTP edge every vogate service shares (DALI 1.1, IVOA REC 2017-05-17).
//!
//! - [`params`]: request parameters from the query string and a form body (DALI 1.1 §3.1:
//!   names case-insensitive, values as given; GET and POST alike), strictly decoded.
//! - [`error`]: the one path from a [`VoError`] to an HTTP response: the status of its kind
//!   and a DALI error document (DALI 1.1 §4.2, a VOTable with `QUERY_STATUS=ERROR`), or the
//!   `text/plain` body that SODA 1.0 §5.2 asks for.
//! - [`examples`]: DALI examples documents (DALI 1.1 §2.3): XHTML with RDFa, and the
//!   capability that declares them.
//! - [`format`]: RESPONSEFORMAT (DALI 1.1 §3.1.5) into a [`Format`].
//! - [`vosi`]: the VOSI capabilities and availability documents of every service.
//! - [`cors`]: `Access-Control-Allow-Origin: *` on every response, and answers to CORS
//!   preflight requests, so that browser clients (Aladin Lite, the portal) can call every
//!   service.
//!
//! [`VoError`]: vo_common::VoError
//! [`Format`]: vo_common::Format

pub mod cors;
pub mod error;
pub mod examples;
pub mod format;
pub mod params;
pub mod vosi;

pub use cors::cors;
pub use error::{error_response, status, text_error_response};
pub use format::response_format;
pub use params::{decode_form, Params, Part, PartLimits, MAX_BODY};
