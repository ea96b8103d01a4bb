//! VOSI 1.1 (IVOA REC 2017-05-24) for the TAP service: `/tap/availability`,
//! `/tap/capabilities` (with the TAPRegExt 1.0 `tr:TableAccess` capability) and `/tap/tables`
//! (VODataService 1.1 tableset, `detail=min|max`, and `/tap/tables/{table_name}`).
//!
//! The documents are made from TAP_SCHEMA (read once at start by [`Vosi::load`]), so what
//! `/tables` lists is exactly what ADQL can query.

use crate::schema::quote_ident;
use crate::Limits;
use rusqlite::Connection;
use vo_common::votable::xml_escape;
use vo_common::VoError;

#[derive(Debug, Clone, PartialEq)]
struct ColumnDoc {
    name: String,
    datatype: String,
    arraysize: Option<String>,
    xtype: Option<String>,
    description: Option<String>,
    utype: Option<String>,
    unit: Option<String>,
    ucd: Option<String>,
    indexed: bool,
    principal: bool,
    std: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct KeyDoc {
    target: String,
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct TableDoc {
    name: String,
    table_type: Option<String>,
    description: Option<String>,
    utype: Option<String>,
    columns: Vec<ColumnDoc>,
    keys: Vec<KeyDoc>,
}

#[derive(Debug, Clone, PartialEq)]
struct SchemaDoc {
    name: String,
    description: Option<String>,
    utype: Option<String>,
    tables: Vec<TableDoc>,
}

/// The VOSI documents of one TAP service.
#[derive(Debug, Clone, PartialEq)]
pub struct Vosi {
    schemas: Vec<SchemaDoc>,
    base_url: String,
    limits: Limits,
    service: ServiceLimits,
}

/// What the capabilities declare beside the output limits (TAPRegExt 1.0 §2): uploads,
/// and how long jobs may run and are kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceLimits {
    /// The upload limits; URL uploads are declared when hosts are allowed.
    pub uploads: crate::upload::UploadLimits,
    /// How long a job is kept when it asks for no DESTRUCTION, seconds (`retentionPeriod`
    /// default); `None`: not declared.
    pub retention: Option<u64>,
    /// EXECUTIONDURATION when a job gives none, and the largest accepted, seconds (0: no
    /// limit; `executionDuration`).
    pub execution: Option<(i64, i64)>,
}

fn db(e: rusqlite::Error) -> VoError {
    VoError::internal(format!("cannot read TAP_SCHEMA: {e}"))
}

fn tag(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push_str(&format!("<{name}>{}</{name}>", xml_escape(v)));
    }
}

/// The VOSI namespaces and the XML declaration.
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

impl Vosi {
    /// These documents with the service's upload and job limits declared in the
    /// capabilities.
    pub fn with_service(mut self, service: ServiceLimits) -> Vosi {
        self.service = service;
        self
    }

    /// The service's public base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Read TAP_SCHEMA (schemas, tables, columns, keys, key_columns) from `conn`.
    pub fn load(conn: &Connection, base_url: &str, limits: Limits) -> Result<Vosi, VoError> {
        let t = |name: &str| quote_ident(&format!("TAP_SCHEMA.{name}"));
        let mut schemas: Vec<SchemaDoc> = conn
            .prepare(&format!(
                "SELECT schema_name, description, utype FROM {} ORDER BY schema_index, schema_name",
                t("schemas")
            ))
            .map_err(db)?
            .query_map([], |r| {
                Ok(SchemaDoc {
                    name: r.get(0)?,
                    description: r.get(1)?,
                    utype: r.get(2)?,
                    tables: Vec::new(),
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let mut tables = conn
            .prepare(&format!("SELECT schema_name, table_name, table_type, description, utype FROM {} ORDER BY table_index, table_name", t("tables")))
            .map_err(db)?;
        let mut columns = conn
            .prepare(&format!(
                "SELECT column_name, datatype, arraysize, xtype, description, utype, unit, ucd, indexed, principal, std \
                 FROM {} WHERE table_name = ?1 ORDER BY column_index, rowid",
                t("columns")
            ))
            .map_err(db)?;
        let mut keys = conn
            .prepare(&format!(
                "SELECT key_id, target_table FROM {} WHERE from_table = ?1 ORDER BY key_id",
                t("keys")
            ))
            .map_err(db)?;
        let mut key_columns = conn
            .prepare(&format!(
                "SELECT from_column, target_column FROM {} WHERE key_id = ?1",
                t("key_columns")
            ))
            .map_err(db)?;
        let rows: Vec<(String, TableDoc)> = tables
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    TableDoc {
                        name: r.get(1)?,
                        table_type: r.get(2)?,
                        description: r.get(3)?,
                        utype: r.get(4)?,
                        columns: Vec::new(),
                        keys: Vec::new(),
                    },
                ))
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        for (schema, mut table) in rows {
            table.columns = columns
                .query_map([&table.name], |r| {
                    Ok(ColumnDoc {
                        name: r.get(0)?,
                        datatype: r.get(1)?,
                        arraysize: r.get(2)?,
                        xtype: r.get(3)?,
                        description: r.get(4)?,
                        utype: r.get(5)?,
                        unit: r.get(6)?,
                        ucd: r.get(7)?,
                        indexed: r.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
                        principal: r.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0,
                        std: r.get::<_, Option<i64>>(10)?.unwrap_or(0) != 0,
                    })
                })
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            let ids: Vec<(String, String)> = keys
                .query_map([&table.name], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            for (id, target) in ids {
                let pairs = key_columns
                    .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                table.keys.push(KeyDoc { target, pairs });
            }
            match schemas.iter_mut().find(|s| s.name == schema) {
                Some(s) => s.tables.push(table),
                None => {
                    return Err(VoError::internal(format!(
                        "table {} names schema {schema}, which TAP_SCHEMA.schemas lacks",
                        table.name
                    )))
                }
            }
        }
        Ok(Vosi {
            schemas,
            base_url: base_url.trim_end_matches('/').to_string(),
            limits,
            service: ServiceLimits::default(),
        })
    }

    /// `/tap`, the base URL clients are given (TAP 1.1 §2): a short HTML page naming the
    /// service's endpoints, each a link, and what the examples below the page's list do.
    pub fn home(&self) -> String {
        let b = xml_escape(&self.base_url);
        let tables: usize = self.schemas.iter().map(|s| s.tables.len()).sum();
        let endpoints = [
            (
                "sync",
                "synchronous queries, GET or POST: LANG=ADQL, QUERY, MAXREC, RESPONSEFORMAT",
            ),
            (
                "tables",
                "VOSI tables: the published schemas, tables and columns",
            ),
            (
                "capabilities",
                "VOSI capabilities: TAP 1.1, ADQL 2.0 and 2.1, formats, limits",
            ),
            ("availability", "VOSI availability"),
            (
                "examples",
                "example queries (DALI examples), each ready to run",
            ),
        ];
        let list: String = endpoints
            .iter()
            .map(|(path, what)| {
                format!(
                    "<li><a href=\"{b}/tap/{path}\"><code>{b}/tap/{path}</code></a>: {what}</li>"
                )
            })
            .collect();
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>vogate TAP</title></head>\
             <body><h1>TAP service</h1><p>A TAP 1.1 service over {tables} published tables. \
             Give TOPCAT or pyvo the base URL <code>{b}/tap</code>.</p><ul>{list}</ul>\
             <p>Example: <a href=\"{b}/tap/sync?LANG=ADQL&amp;QUERY=SELECT+TOP+10+*+FROM+ivoa.ObsCore\">\
             <code>SELECT TOP 10 * FROM ivoa.ObsCore</code></a></p></body></html>\n"
        )
    }

    /// `/availability` (VOSI 1.1 §3.5): available, with a note that vogate is accepting
    /// queries and, when given, a second note (`extra`, e.g. a scan of the data tree in
    /// progress).
    pub fn availability(&self, extra: Option<&str>) -> String {
        let extra = extra
            .map(|n| {
                format!(
                    "<vosi:note>{}</vosi:note>",
                    vo_common::votable::xml_escape(n)
                )
            })
            .unwrap_or_default();
        format!(
            "{XML_DECL}<vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\
             <vosi:available>true</vosi:available><vosi:note>vogate is accepting queries</vosi:note>{extra}\
             </vosi:availability>\n"
        )
    }

    /// `/capabilities` (VOSI 1.1 §3.3, TAP 1.1 §2.4, TAPRegExt 1.0): TAP with ADQL 2.0 and
    /// 2.1, the ObsCore 1.1 data model, the output formats and limits, and the VOSI
    /// endpoints. The TAP 1.1 base interface stands for both `sync` and `async`.
    pub fn capabilities(&self) -> String {
        let b = xml_escape(&self.base_url);
        let vosi = |id: &str, path: &str| {
            format!(
                "<capability standardID=\"ivo://ivoa.net/std/VOSI#{id}\"><interface xsi:type=\"vs:ParamHTTP\" version=\"1.1\">\
                 <accessURL use=\"full\">{b}/tap/{path}</accessURL></interface></capability>"
            )
        };
        let mut out = String::from(XML_DECL);
        out.push_str(
            "<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" \
             xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\" \
             xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\">",
        );
        out.push_str(&format!(
            "<capability standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\">\
             <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\"><accessURL use=\"base\">{b}/tap</accessURL></interface>\
             <dataModel ivo-id=\"ivo://ivoa.net/std/ObsCore#core-1.1\">ObsCore-1.1</dataModel>\
             <language><name>ADQL</name>\
             <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>\
             <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>\
             <description>ADQL 2.1: joins, subqueries, grouping, set operations, common table expressions, OFFSET, CASE, COALESCE and CAST, and the geometry below</description>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adqlgeo\">\
             <feature><form>POINT</form></feature><feature><form>CIRCLE</form></feature>\
             <feature><form>POLYGON</form></feature><feature><form>CONTAINS</form></feature>\
             <feature><form>INTERSECTS</form></feature><feature><form>DISTANCE</form></feature>\
             <feature><form>BOX</form><description>pgSphere's sbox: longitudes ra ± width/2 by latitudes dec ± height/2, so its edges are meridians and parallels</description></feature>\
             <feature><form>REGION</form><description>STC-S POSITION, CIRCLE, BOX or POLYGON in ICRS</description></feature>\
             <feature><form>CENTROID</form></feature><feature><form>AREA</form><description>square degrees</description></feature>\
             <feature><form>COORD1</form></feature><feature><form>COORD2</form></feature>\
             <feature><form>COORDSYS</form></feature>\
             </languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-sets\">\
             <feature><form>UNION</form></feature><feature><form>EXCEPT</form></feature>\
             <feature><form>INTERSECT</form></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-common-table\">\
             <feature><form>WITH</form></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-offset\">\
             <feature><form>OFFSET</form></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-type\">\
             <feature><form>CAST</form><description>to SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR(n) and VARCHAR(n), with PostgreSQL's conversions on every backend; to TIMESTAMP from ISO 8601 text; to POINT, CIRCLE and POLYGON from a geometry or its DALI or STC-S text</description></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-unit\">\
             <feature><form>IN_UNIT</form><description>VOUnits 1.0: SI prefixes, powers, products and quotients; deg, arcsec, mas, rad, Jy, mag, pc, AU, yr and the other units of VOUnits' tables</description></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-string\">\
             <feature><form>ILIKE</form></feature><feature><form>LOWER</form></feature>\
             <feature><form>UPPER</form></feature>\
             <feature><form>SUBSTRING</form><description>SUBSTRING(s, start[, length]), as PostgreSQL's substr: an extension, not in ADQL 2.1</description></feature></languageFeatures>\
             <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-bitwise\">\
             <feature><form>BIT_AND</form></feature><feature><form>BIT_OR</form></feature>\
             <feature><form>BIT_XOR</form></feature><feature><form>BIT_NOT</form></feature>\
             </languageFeatures>"
        ));
        // The user-defined functions (TAPRegExt §2.3, features-udf), one form per signature.
        out.push_str("<languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-udf\">");
        for udf in vo_adql::check::UDFS {
            for form in udf.forms {
                out.push_str(&format!(
                    "<feature><form>{}</form><description>{}</description></feature>",
                    xml_escape(form),
                    xml_escape(udf.description)
                ));
            }
        }
        out.push_str("</languageFeatures></language>");
        for format in crate::params::FORMATS {
            let (mime, id, aliases) = format.capability();
            match id {
                Some(id) => out.push_str(&format!("<outputFormat ivo-id=\"{id}\">")),
                None => out.push_str("<outputFormat>"),
            }
            out.push_str(&format!("<mime>{}</mime>", xml_escape(mime)));
            for alias in aliases {
                out.push_str(&format!("<alias>{alias}</alias>"));
            }
            out.push_str("</outputFormat>");
        }
        // TAPRegExt 1.0 §2.4-2.6, in the schema's order: upload methods, retention,
        // execution duration, output and upload limits.
        let sv = &self.service;
        // URL uploads are declared always: TAP 1.1 §2.5.6 asks a service that takes uploads
        // to take http URLs (taplint: E-CAP-MUPM). They are fetched from the hosts of
        // `upload_url_hosts` only; any other is refused with how to allow it.
        out.push_str(
            "<uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>\
             <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-http\"/>\
             <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-https\"/>",
        );
        if let Some(r) = sv.retention {
            out.push_str(&format!(
                "<retentionPeriod><default>{r}</default></retentionPeriod>"
            ));
        }
        if let Some((default, hard)) = sv.execution {
            out.push_str("<executionDuration>");
            if default > 0 {
                out.push_str(&format!("<default>{default}</default>"));
            }
            if hard > 0 {
                out.push_str(&format!("<hard>{hard}</hard>"));
            }
            out.push_str("</executionDuration>");
        }
        out.push_str(&format!(
            "<outputLimit><default unit=\"row\">{}</default><hard unit=\"row\">{}</hard></outputLimit>",
            self.limits.default_maxrec, self.limits.max_maxrec
        ));
        out.push_str(&format!(
            "<uploadLimit><hard unit=\"byte\">{}</hard></uploadLimit></capability>",
            sv.uploads.max_bytes
        ));
        out.push_str(&format!(
            "<capability standardID=\"ivo://ivoa.net/std/DALI#examples\">\
             <interface xsi:type=\"vr:WebBrowser\"><accessURL use=\"full\">{b}/tap/examples</accessURL></interface></capability>"
        ));
        out.push_str(&vosi("capabilities", "capabilities"));
        out.push_str(&vosi("availability", "availability"));
        out.push_str(&vosi("tables", "tables"));
        out.push_str("</vosi:capabilities>\n");
        out
    }

    fn table_xml(out: &mut String, t: &TableDoc, with_columns: bool) {
        out.push_str("<table>");
        tag(out, "name", Some(&t.name));
        tag(out, "description", t.description.as_deref());
        tag(out, "utype", t.utype.as_deref());
        if with_columns {
            for c in &t.columns {
                out.push_str(if c.std {
                    "<column std=\"true\">"
                } else {
                    "<column>"
                });
                tag(out, "name", Some(&c.name));
                tag(out, "description", c.description.as_deref());
                tag(out, "unit", c.unit.as_deref());
                tag(out, "ucd", c.ucd.as_deref());
                tag(out, "utype", c.utype.as_deref());
                out.push_str("<dataType xsi:type=\"vs:VOTableType\"");
                let arraysize = c.arraysize.as_deref().or(if c.datatype == "char" {
                    Some("*")
                } else {
                    None
                });
                if let Some(a) = arraysize {
                    out.push_str(&format!(" arraysize=\"{}\"", xml_escape(a)));
                }
                if let Some(x) = &c.xtype {
                    out.push_str(&format!(" extendedType=\"{}\"", xml_escape(x)));
                }
                out.push_str(&format!(">{}</dataType>", xml_escape(&c.datatype)));
                if c.indexed {
                    out.push_str("<flag>indexed</flag>");
                }
                if c.principal {
                    out.push_str("<flag>principal</flag>");
                }
                out.push_str("</column>");
            }
            for k in &t.keys {
                out.push_str("<foreignKey>");
                tag(out, "targetTable", Some(&k.target));
                for (from, to) in &k.pairs {
                    out.push_str("<fkColumn>");
                    tag(out, "fromColumn", Some(from));
                    tag(out, "targetColumn", Some(to));
                    out.push_str("</fkColumn>");
                }
                out.push_str("</foreignKey>");
            }
        }
        out.push_str("</table>");
    }

    /// `/tables` (VOSI 1.1 §3.4): every schema and table, with columns unless `detail=min`.
    pub fn tables(&self, with_columns: bool) -> String {
        let mut out = String::from(XML_DECL);
        out.push_str(
            "<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">",
        );
        for s in &self.schemas {
            out.push_str("<schema>");
            tag(&mut out, "name", Some(&s.name));
            tag(&mut out, "description", s.description.as_deref());
            tag(&mut out, "utype", s.utype.as_deref());
            for t in &s.tables {
                Self::table_xml(&mut out, t, with_columns);
            }
            out.push_str("</schema>");
        }
        out.push_str("</vosi:tableset>\n");
        out
    }

    /// `/tables/{name}` (VOSI 1.1 §3.4): one table with its columns, or `None` when no table
    /// has that name (matched exactly, then case-insensitively).
    pub fn table(&self, name: &str) -> Option<String> {
        let all = || self.schemas.iter().flat_map(|s| s.tables.iter());
        let t = all()
            .find(|t| t.name == name)
            .or_else(|| all().find(|t| t.name.eq_ignore_ascii_case(name)))?;
        let mut out = String::from(XML_DECL);
        let mut body = String::new();
        Self::table_xml(&mut body, t, true);
        out.push_str(&body.replacen(
            "<table>",
            "<vosi:table xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">",
            1,
        ));
        out.truncate(out.len() - "</table>".len());
        out.push_str("</vosi:table>\n");
        Some(out)
    }
}
