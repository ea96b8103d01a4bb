//! VOSI 1.1 documents every service serves (VOSI 1.1 §3.3 and §3.5): its capabilities and
//! its availability.

use actix_web::HttpResponse;
use vo_common::votable::xml_escape;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A `capability` element of `standard_id` with one standard `vs:ParamHTTP` interface of
/// `version` at `access_url` (use="base").
pub fn capability(standard_id: &str, access_url: &str, version: &str) -> String {
    format!(
        "<capability standardID=\"{}\"><interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"{}\">\
         <accessURL use=\"base\">{}</accessURL></interface></capability>",
        xml_escape(standard_id),
        xml_escape(version),
        xml_escape(access_url)
    )
}

/// The VOSI capabilities document of `capabilities` (elements as [`capability`] or
/// [`crate::examples::capability`] write them), with the prefixes `xsi`, `vs` and `vr`
/// bound.
pub fn capabilities(capabilities: &[String]) -> HttpResponse {
    let body = format!(
        "{XML_DECL}<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\" \
         xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">{}</vosi:capabilities>\n",
        capabilities.concat()
    );
    HttpResponse::Ok().content_type("text/xml").body(body)
}

/// The VOSI availability document: available, with `note`.
pub fn availability(note: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml").body(format!(
        "{XML_DECL}<vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\
         <vosi:available>true</vosi:available><vosi:note>{}</vosi:note></vosi:availability>\n",
        xml_escape(note)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_has_its_standard_interface() {
        assert_eq!(
            capability("ivo://ivoa.net/std/SIA#query-2.0", "http://h/sia/query?a&b", "2.0"),
            "<capability standardID=\"ivo://ivoa.net/std/SIA#query-2.0\">\
             <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"2.0\">\
             <accessURL use=\"base\">http://h/sia/query?a&amp;b</accessURL></interface></capability>"
        );
    }
}
