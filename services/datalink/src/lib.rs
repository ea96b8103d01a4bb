//! vo-datalink: DataLink 1.1 (IVOA REC 2023-12-15) `{links}` documents.
//!
//! [`links_document`] writes the `{links}` response (DataLink 1.1 §3.2): a VOTable whose
//! table has the standard columns of Table 1, in order, with their UCDs, one row per link or
//! per error, the `standardID` INFO, and the service descriptors after it (§4; SODA's, made
//! by [`descriptor`]). [`preview`] renders the `#preview` PNGs. [`service`] answers
//! `/datalink/links`, its VOSI endpoints, `/preview/{path}` and `/files/{path}` over
//! HTTP.

pub mod descriptor;
pub mod preview;
pub mod service;

pub use service::{configure, DatalinkState, MAX_IDS};

use vo_common::votable::{QueryStatus, TableWriter};
use vo_common::{FieldMeta, Format, Value};

/// The MIME type of a `{links}` response (DataLink 1.1 §3.3).
pub const CONTENT_TYPE: &str = "application/x-votable+xml;content=datalink";

/// The standardID of the links capability (DataLink 1.1 §2.1), also written as an INFO in
/// every `{links}` document.
pub const STANDARD_ID: &str = "ivo://ivoa.net/std/DataLink#links-1.1";

/// One row of a `{links}` table: a link, or an error for an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    /// The identifier the row is for, as given in the request.
    pub id: String,
    /// The link's URL (absent for an error row).
    pub access_url: Option<String>,
    /// The ID of the service descriptor RESOURCE to call (DataLink 1.1 §3.2.3), for a
    /// service link.
    pub service_def: Option<String>,
    /// The error, as `Fault: message` (DataLink 1.1 §3.4: NotFoundFault, UsageFault, ...).
    pub error_message: Option<String>,
    /// The vocabulary term, e.g. `#this` (DataLink 1.1 §3.2.6, the datalink/core vocabulary).
    pub semantics: String,
    /// Human-readable description.
    pub description: Option<String>,
    /// MIME type of what access_url returns.
    pub content_type: Option<String>,
    /// Size of what access_url returns, bytes.
    pub content_length: Option<i64>,
    /// The kind of content (DataLink 1.1 §3.2.9), e.g. `#image`.
    pub content_qualifier: Option<String>,
    /// The service's own name for the relation (DataLink 1.1 §3.2.10), e.g. `soda-sync`.
    pub local_semantics: Option<String>,
}

impl Link {
    /// The error row of `id`: `message` begins with its fault (`NotFoundFault: ...`), and
    /// the semantics is `#this`, the link that could not be made.
    pub fn fault(id: String, message: &str) -> Link {
        Link {
            id,
            error_message: Some(message.to_string()),
            semantics: "#this".into(),
            ..Default::default()
        }
    }
}

fn field(
    name: &str,
    datatype: &str,
    ucd: &str,
    unit: Option<&str>,
    description: &str,
) -> FieldMeta {
    FieldMeta {
        name: name.into(),
        datatype: datatype.into(),
        arraysize: (datatype == "char").then(|| "*".into()),
        unit: unit.map(Into::into),
        ucd: Some(ucd.into()),
        description: Some(description.into()),
        ..Default::default()
    }
}

/// The standard columns of a `{links}` table (DataLink 1.1 §3.2, Table 1).
pub fn link_fields() -> Vec<FieldMeta> {
    vec![
        field("ID", "char", "meta.id;meta.main", None, "Input identifier"),
        field(
            "access_url",
            "char",
            "meta.ref.url",
            None,
            "Link to data or a service",
        ),
        field(
            "service_def",
            "char",
            "meta.ref",
            None,
            "Reference to a service descriptor resource",
        ),
        field(
            "error_message",
            "char",
            "meta.code.error",
            None,
            "Error if an access_url cannot be created",
        ),
        field(
            "semantics",
            "char",
            "meta.code",
            None,
            "Term from the DataLink vocabulary: what the link is",
        ),
        field(
            "description",
            "char",
            "meta.note",
            None,
            "Human-readable description of the link",
        ),
        field(
            "content_type",
            "char",
            "meta.code.mime",
            None,
            "MIME type of the linked content",
        ),
        field(
            "content_length",
            "long",
            "phys.size;meta.file",
            Some("byte"),
            "Size of the linked content",
        ),
        field(
            "content_qualifier",
            "char",
            "meta.code.class",
            None,
            "Kind of the linked content",
        ),
        field(
            "local_semantics",
            "char",
            "meta.code",
            None,
            "Service-specific relation of the link",
        ),
    ]
}

/// The `{links}` document of `links` in `format` (the VOTable of DataLink 1.1 §3.2, or the
/// same table as vogate's JSON), with the service descriptors `resources` (whole RESOURCE
/// elements; the VOTable only) and the query status `status` (OVERFLOW when IDs were left
/// out).
pub fn links_document(
    links: &[Link],
    format: Format,
    resources: Vec<String>,
    status: &QueryStatus,
) -> Vec<u8> {
    let opt = |s: &Option<String>| s.clone().map(Value::Text).unwrap_or(Value::Null);
    let infos = vec![("standardID".to_string(), STANDARD_ID.to_string())];
    let mut w = TableWriter::new(format, link_fields(), infos).with_resources(resources);
    let mut out = Vec::new();
    w.begin(&mut out);
    for l in links {
        w.row(
            &[
                Value::Text(l.id.clone()),
                opt(&l.access_url),
                opt(&l.service_def),
                opt(&l.error_message),
                Value::Text(l.semantics.clone()),
                opt(&l.description),
                opt(&l.content_type),
                l.content_length.map(Value::Int).unwrap_or(Value::Null),
                opt(&l.content_qualifier),
                opt(&l.local_semantics),
            ],
            &mut out,
        );
    }
    w.end(status, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_table_has_the_standard_columns_and_rows() {
        let doc = links_document(
            &[
                Link {
                    id: "ivo://x/y?a.fits".into(),
                    access_url: Some("http://h/files/a.fits".into()),
                    semantics: "#this".into(),
                    content_type: Some("application/fits".into()),
                    content_length: Some(2880),
                    ..Default::default()
                },
                Link::fault("ivo://x/y?nope".into(), "NotFoundFault: no such dataset"),
            ],
            Format::VotableTabledata,
            vec!["<RESOURCE ID=\"d\" type=\"meta\" utype=\"adhoc:service\"/>\n".into()],
            &QueryStatus::Overflow,
        );
        let doc = String::from_utf8(doc).expect("utf8");
        let names: Vec<&str> = doc
            .match_indices("<FIELD name=\"")
            .map(|(i, _)| &doc[i + 13..])
            .map(|s| &s[..s.find('"').unwrap_or(0)])
            .collect();
        assert_eq!(
            names,
            [
                "ID",
                "access_url",
                "service_def",
                "error_message",
                "semantics",
                "description",
                "content_type",
                "content_length",
                "content_qualifier",
                "local_semantics"
            ]
        );
        assert!(doc.contains("<TR><TD>ivo://x/y?a.fits</TD><TD>http://h/files/a.fits</TD><TD/><TD/><TD>#this</TD><TD/><TD>application/fits</TD><TD>2880</TD><TD/><TD/></TR>"));
        assert!(doc.contains("<TD>NotFoundFault: no such dataset</TD><TD>#this</TD>"));
        assert!(doc.contains(
            "<INFO name=\"standardID\" value=\"ivo://ivoa.net/std/DataLink#links-1.1\"/>"
        ));
        assert!(doc.contains(
            "<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n</RESOURCE>\n<RESOURCE ID=\"d\""
        ));
    }
}
