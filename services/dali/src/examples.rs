//! DALI examples documents (DALI 1.1 §2.3): an XHTML page whose examples are marked up with
//! RDFa in the vocabulary `http://www.ivoa.net/rdf/examples#`, so that clients (TOPCAT's
//! examples menu, taplint's EXA stage, pyvo) can read them and people can too.
//!
//! Each example is an element with `typeof="example"`, an `id` and `resource="#id"`, holding
//! its title (`property="name"`), a description, and either an ADQL query
//! (`property="query"`, TAP 1.1 §2.4) or the request's parameters as DALI generic parameters
//! (`property="generic-parameter" typeof="keyval"`, each with a `key` and a `value`), as for
//! SODA and DataLink. Services declare the document with the capability
//! [`EXAMPLES_STANDARD_ID`] and a `vr:WebBrowser` interface ([`capability`]).

use actix_web::HttpResponse;
use vo_common::votable::xml_escape;

/// The standardID of the examples capability (DALI 1.1 §2.3, TAPRegExt).
pub const EXAMPLES_STANDARD_ID: &str = "ivo://ivoa.net/std/DALI#examples";

/// One example of a service's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The fragment identifier: unique in the document, letters, digits, `-` and `_` only
    /// (others are replaced by `_` when written).
    pub id: String,
    /// A one-line title.
    pub name: String,
    /// What the example does and shows, as plain text (escaped when written).
    pub description: String,
    /// The ADQL query of a TAP example (TAP 1.1 §2.4), if it is one.
    pub query: Option<String>,
    /// The request parameters of a non-TAP example (key, value), in order; a key may repeat.
    pub params: Vec<(String, String)>,
}

impl Example {
    /// An example of a non-TAP service: the request's parameters `params` (key, value), in
    /// order, as DALI generic parameters.
    pub fn with_params<K: Into<String>, V: Into<String>>(
        id: &str,
        name: impl Into<String>,
        description: impl Into<String>,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Example {
        Example {
            id: id.to_string(),
            name: name.into(),
            description: description.into(),
            query: None,
            params: params
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// The XHTML examples document titled `title` (plain text) with `examples` in order.
/// `service_url`, when given, is written as a link for people reading the page.
pub fn document(title: &str, service_url: Option<&str>, examples: &[Example]) -> String {
    let mut out = String::with_capacity(1024 + 512 * examples.len());
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE html>\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta http-equiv=\"Content-Type\" content=\"application/xhtml+xml; charset=UTF-8\"/>\n<title>",
    );
    out.push_str(&xml_escape(title));
    out.push_str("</title>\n</head>\n<body vocab=\"http://www.ivoa.net/rdf/examples#\">\n<h1>");
    out.push_str(&xml_escape(title));
    out.push_str("</h1>\n");
    if let Some(url) = service_url {
        let url = xml_escape(url);
        out.push_str(&format!("<p>Service: <a href=\"{url}\">{url}</a></p>\n"));
    }
    for ex in examples {
        let id = fragment(&ex.id);
        out.push_str(&format!(
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n\
             <h2 property=\"name\">{}</h2>\n<p>{}</p>\n",
            xml_escape(&ex.name),
            xml_escape(&ex.description)
        ));
        if let Some(q) = &ex.query {
            out.push_str(&format!(
                "<pre class=\"dali-query\" property=\"query\">{}</pre>\n",
                xml_escape(q)
            ));
        }
        if !ex.params.is_empty() {
            out.push_str("<ul>\n");
            for (k, v) in &ex.params {
                out.push_str(&format!(
                    "<li><span property=\"generic-parameter\" typeof=\"keyval\">\
                     <span property=\"key\">{}</span> = <span property=\"value\">{}</span>\
                     </span></li>\n",
                    xml_escape(k),
                    xml_escape(v)
                ));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// `id` with every character other than ASCII letters, digits, `-` and `_` replaced by `_`,
/// and a leading `x` when it does not begin with a letter (XML IDs must).
fn fragment(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert(0, 'x');
    }
    s
}

/// The examples document as an HTTP response (`application/xhtml+xml`).
pub fn response(title: &str, service_url: Option<&str>, examples: &[Example]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/xhtml+xml; charset=utf-8")
        .body(document(title, service_url, examples))
}

/// The VOSI capability element that declares an examples document at `url` (DALI 1.1
/// §2.3): standardID [`EXAMPLES_STANDARD_ID`], a `vr:WebBrowser` interface. The enclosing
/// document must bind the prefixes `xsi` and `vr`
/// (`http://www.ivoa.net/xml/VOResource/v1.0`).
pub fn capability(url: &str) -> String {
    format!(
        "<capability standardID=\"{EXAMPLES_STANDARD_ID}\"><interface xsi:type=\"vr:WebBrowser\">\
         <accessURL use=\"full\">{}</accessURL></interface></capability>",
        xml_escape(url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_carry_rdfa_names_queries_and_parameters_escaped() {
        let doc = document(
            "SODA <examples>",
            Some("http://h/soda/sync?a=1&b=2"),
            &[
                Example {
                    id: "cone 1".into(),
                    name: "A cone & more".into(),
                    description: "x < y".into(),
                    query: Some("SELECT * FROM t WHERE a < 1".into()),
                    params: vec![],
                },
                Example {
                    id: "2nd".into(),
                    name: "Cut".into(),
                    description: "d".into(),
                    query: None,
                    params: vec![
                        ("ID".into(), "ivo://x/y?a&b".into()),
                        ("CIRCLE".into(), "10 20 0.1".into()),
                    ],
                },
            ],
        );
        assert!(
            doc.contains("<title>SODA &lt;examples&gt;</title>"),
            "{doc}"
        );
        assert!(doc.contains("<body vocab=\"http://www.ivoa.net/rdf/examples#\">"));
        assert!(doc.contains("href=\"http://h/soda/sync?a=1&amp;b=2\""));
        assert!(doc.contains(
            "<div typeof=\"example\" id=\"cone_1\" resource=\"#cone_1\">\n\
             <h2 property=\"name\">A cone &amp; more</h2>\n<p>x &lt; y</p>\n\
             <pre class=\"dali-query\" property=\"query\">SELECT * FROM t WHERE a &lt; 1</pre>"
        ));
        assert!(doc.contains("id=\"x2nd\" resource=\"#x2nd\""));
        assert!(doc.contains(
            "<span property=\"key\">ID</span> = <span property=\"value\">ivo://x/y?a&amp;b</span>"
        ));
        assert!(doc.contains(
            "<span property=\"key\">CIRCLE</span> = <span property=\"value\">10 20 0.1</span>"
        ));
        // Well-formed: every div and span closed.
        assert_eq!(doc.matches("<div").count(), doc.matches("</div>").count());
        assert_eq!(doc.matches("<span").count(), doc.matches("</span>").count());
    }

    #[test]
    fn the_capability_names_the_dali_examples_standard() {
        assert_eq!(
            capability("http://h/soda/examples?x&y"),
            "<capability standardID=\"ivo://ivoa.net/std/DALI#examples\">\
             <interface xsi:type=\"vr:WebBrowser\"><accessURL use=\"full\">\
             http://h/soda/examples?x&amp;y</accessURL></interface></capability>"
        );
    }
}
