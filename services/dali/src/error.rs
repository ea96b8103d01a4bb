//! The one path from a [`VoError`] to an HTTP response. Services never choose statuses
//! themselves: they build a `VoError` of the right kind and answer with [`error_response`]
//! (TAP, DataLink, VOSI: the DALI error VOTable) or [`text_error_response`] (SODA).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use vo_common::{ErrorKind, VoError};

/// The HTTP status of an error kind: 400 for usage and query errors, 404 for what does not
/// exist, 403 for another user's resource, 413 for a body too large, 503 when a backing service cannot be reached, 500 for
/// vogate's own faults.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Usage | ErrorKind::Query => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The DALI 1.1 §4.2 error document: a VOTable 1.4 whose results RESOURCE holds
/// `<INFO name="QUERY_STATUS" value="ERROR">` with the message (escaped) as its content.
pub fn error_votable(e: &VoError) -> String {
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" ",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
            "<RESOURCE type=\"results\">\n",
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n",
            "</RESOURCE>\n</VOTABLE>\n"
        ),
        vo_common::votable::xml_escape(&e.message)
    )
}

/// The answer to a failed request: the status of the error's kind and the DALI error
/// VOTable (`application/x-votable+xml`).
pub fn error_response(e: &VoError) -> HttpResponse {
    HttpResponse::build(status(e.kind))
        .content_type("application/x-votable+xml")
        .body(error_votable(e))
}

/// The SODA 1.0 §5.2 label of an error: `UsageError` for what the request got wrong,
/// `ServiceUnavailable`, or `Error` for vogate's own faults.
pub fn soda_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Usage
        | ErrorKind::Query
        | ErrorKind::NotFound
        | ErrorKind::TooLarge
        | ErrorKind::MethodNotAllowed
        | ErrorKind::UnsupportedMediaType => "UsageError",
        ErrorKind::Forbidden => "AuthorizationError",
        ErrorKind::Unavailable => "ServiceUnavailable",
        ErrorKind::Internal => "Error",
    }
}

/// The answer to a failed request in plain text, as SODA 1.0 §5.2 asks: the status of the
/// error's kind and a `text/plain` body `<label>: <message>` (the label left out when the
/// message already starts with one, e.g. `MultiValuedParamNotSupported: ...`).
pub fn text_error_response(e: &VoError) -> HttpResponse {
    // Only SODA's and DALI's own labels count: "CIRCLE: ..." is a message about CIRCLE.
    const LABELS: [&str; 12] = [
        "Error",
        "UsageError",
        "TransientError",
        "FatalError",
        "MultiValuedParamNotSupported",
        "AuthorizationError",
        "ServiceUnavailable",
        "DefaultFault",
        "NotFoundFault",
        "UsageFault",
        "TransientFault",
        "FatalFault",
    ];
    let labelled = e
        .message
        .split_once(':')
        .is_some_and(|(head, _)| LABELS.contains(&head));
    let body = if labelled {
        format!("{}\n", e.message)
    } else {
        format!("{}: {}\n", soda_label(e.kind), e.message)
    };
    HttpResponse::build(status(e.kind))
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(r: HttpResponse) -> String {
        String::from_utf8(r.into_body().try_into_bytes().expect("bytes").to_vec()).expect("utf8")
    }

    #[test]
    fn statuses_follow_kinds() {
        let s = |e: VoError| status(e.kind).as_u16();
        assert_eq!(s(VoError::usage("x")), 400);
        assert_eq!(s(VoError::query("x")), 400);
        assert_eq!(s(VoError::not_found("x")), 404);
        assert_eq!(s(VoError::new(ErrorKind::Forbidden, "x")), 403);
        assert_eq!(s(VoError::new(ErrorKind::TooLarge, "x")), 413);
        assert_eq!(s(VoError::new(ErrorKind::Unavailable, "x")), 503);
        assert_eq!(s(VoError::internal("x")), 500);
    }

    #[test]
    fn the_dali_document_escapes_the_message() {
        let r = error_response(&VoError::query("column \"a<b\" & more"));
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(
            r.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/x-votable+xml"[..])
        );
        let doc = body(r);
        assert!(doc.contains(
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">column &quot;a&lt;b&quot; &amp; more</INFO>"
        ));
        assert!(doc.contains("<RESOURCE type=\"results\">"));
    }

    #[test]
    fn soda_errors_are_labelled_text() {
        let r = text_error_response(&VoError::usage("CIRCLE needs 3 values, got 2"));
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(
            r.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"text/plain; charset=utf-8"[..])
        );
        assert_eq!(body(r), "UsageError: CIRCLE needs 3 values, got 2\n");
        let r = text_error_response(&VoError::usage(
            "MultiValuedParamNotSupported: sync takes one CIRCLE",
        ));
        assert_eq!(
            body(r),
            "MultiValuedParamNotSupported: sync takes one CIRCLE\n"
        );
        let r = text_error_response(&VoError::new(
            ErrorKind::Unavailable,
            "the database is down",
        ));
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(body(r), "ServiceUnavailable: the database is down\n");
        // A message with a colon later on is labelled all the same.
        let r = text_error_response(&VoError::not_found("no dataset has the ID ivo://x/y?z"));
        assert_eq!(body(r), "UsageError: no dataset has the ID ivo://x/y?z\n");
        // A message that names its parameter first is not a label.
        let r = text_error_response(&VoError::usage(
            "CIRCLE: the radius 0 must be larger than 0",
        ));
        assert_eq!(
            body(r),
            "UsageError: CIRCLE: the radius 0 must be larger than 0\n"
        );
    }
}
