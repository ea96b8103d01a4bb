//! `/tap/examples` (TAP 1.1 §2.4, DALI 1.1 §2.3): example queries as an XHTML+RDFa document
//! that TOPCAT, pyvo and taplint read: each example a `div` of `typeof="example"` with an
//! `id` and `resource`, its `name`, its `query` and the tables it reads (`table`), in the
//! vocabulary `http://www.ivoa.net/rdf/examples#`.
//!
//! The examples are made for the archive being served: their positions, times and bands are
//! those of its first products ([`ExampleSky`]), so each returns rows; a published catalog
//! with an indexed position gets a cone of its own.

use vo_common::votable::xml_escape;

/// What the examples are made around: one product of ivoa.ObsCore.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleSky {
    /// s_ra, s_dec of a product, degrees.
    pub ra: f64,
    /// See `ra`.
    pub dec: f64,
    /// [t_min, t_max] of a product with times, MJD.
    pub time: Option<(f64, f64)>,
    /// A wavelength within [em_min, em_max] of a product with a band, metres.
    pub wavelength: Option<f64>,
    /// obs_id of the product at (ra, dec).
    pub obs_id: Option<String>,
}

impl Default for ExampleSky {
    /// M31, for an archive with no products yet.
    fn default() -> Self {
        ExampleSky {
            ra: 10.6847,
            dec: 41.2688,
            time: None,
            wavelength: None,
            obs_id: None,
        }
    }
}

/// One example query.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Its fragment id (an XML NCName), e.g. `cone`.
    pub id: String,
    /// Its name (a short title).
    pub name: String,
    /// What it shows, one sentence or two.
    pub description: String,
    /// The ADQL.
    pub query: String,
    /// The tables it reads, as published (`ivoa.ObsCore`), uploads as `TAP_UPLOAD.name`.
    pub tables: Vec<String>,
}

/// The examples for an archive around `sky`, with a cone on each catalog of `catalogs`
/// ((table as published, ra column, dec column) of its indexed positions).
pub fn examples(sky: &ExampleSky, catalogs: &[(String, String, String)]) -> Vec<Example> {
    let (ra, dec) = (sky.ra, sky.dec);
    let ex = |id: &str, name: &str, description: &str, query: String, tables: &[&str]| Example {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        query,
        tables: tables.iter().map(|t| t.to_string()).collect(),
    };
    let obscore = &["ivoa.ObsCore"];
    let mut out = vec![
        ex(
            "cone",
            "Products around a position",
            "The products whose centre lies within 1 degree of a position (a cone search on \
             s_ra, s_dec; the spatial index serves it), with their links.",
            format!(
                "SELECT TOP 100 obs_id, target_name, s_ra, s_dec, dataproduct_type, access_url\n\
                 FROM ivoa.ObsCore\n\
                 WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 1)) = 1"
            ),
            obscore,
        ),
        ex(
            "footprint",
            "Footprints that overlap a region",
            "The products whose footprint (s_region) meets a circle of 0.1 degree: images that \
             cover part of it, wherever their centre is.",
            format!(
                "SELECT obs_id, s_region\nFROM ivoa.ObsCore\n\
                 WHERE INTERSECTS(s_region, CIRCLE('ICRS', {ra}, {dec}, 0.1)) = 1"
            ),
            obscore,
        ),
        ex(
            "covers",
            "Images that contain a position",
            "The products whose footprint contains a point: the images a source at that \
             position is on.",
            format!(
                "SELECT obs_id, s_fov, t_exptime\nFROM ivoa.ObsCore\n\
                 WHERE CONTAINS(POINT('ICRS', {ra}, {dec}), s_region) = 1"
            ),
            obscore,
        ),
        ex(
            "nearest",
            "The nearest products",
            "The five products nearest a position, with their distance in degrees.",
            format!(
                "SELECT TOP 5 obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', {ra}, {dec})) AS dist\n\
                 FROM ivoa.ObsCore\nORDER BY dist"
            ),
            obscore,
        ),
        ex(
            "summary",
            "What the archive holds",
            "How many products of each type and collection, and their total size in kB.",
            "SELECT obs_collection, dataproduct_type, COUNT(*) AS n, SUM(access_estsize) AS kbytes\n\
             FROM ivoa.ObsCore\nGROUP BY obs_collection, dataproduct_type\nORDER BY n DESC"
                .to_string(),
            obscore,
        ),
        ex(
            "tables",
            "The published tables",
            "Every table this service publishes, with its schema and description (TAP_SCHEMA).",
            "SELECT schema_name, table_name, table_type, description\nFROM TAP_SCHEMA.tables\n\
             ORDER BY schema_name, table_name"
                .to_string(),
            &["TAP_SCHEMA.tables"],
        ),
        ex(
            "columns",
            "The columns of ivoa.ObsCore",
            "The columns of a table with their types, units, UCDs and ObsCore utypes \
             (TAP_SCHEMA).",
            "SELECT column_name, datatype, arraysize, unit, ucd, utype, description\n\
             FROM TAP_SCHEMA.columns\nWHERE table_name = 'ivoa.ObsCore'\nORDER BY column_index"
                .to_string(),
            &["TAP_SCHEMA.columns"],
        ),
        ex(
            "schemas",
            "Schemas and their tables",
            "Each schema with the number of its tables (a join of two TAP_SCHEMA tables).",
            "SELECT s.schema_name, s.description, COUNT(t.table_name) AS tables\n\
             FROM TAP_SCHEMA.schemas AS s LEFT OUTER JOIN TAP_SCHEMA.tables AS t\n\
             ON t.schema_name = s.schema_name\nGROUP BY s.schema_name, s.description\n\
             ORDER BY 1"
                .to_string(),
            &["TAP_SCHEMA.schemas", "TAP_SCHEMA.tables"],
        ),
    ];
    if let Some((t0, t1)) = sky.time {
        out.push(ex(
            "time",
            "Products of a time range",
            "The products observed, at least in part, within a time range (t_min and t_max \
             are MJD).",
            format!(
                "SELECT obs_id, t_min, t_max, t_exptime\nFROM ivoa.ObsCore\n\
                 WHERE t_min <= {t1:?} AND t_max >= {t0:?}\nORDER BY t_min"
            ),
            obscore,
        ));
    }
    if let Some(w) = sky.wavelength {
        out.push(ex(
            "band",
            "Products that cover a wavelength",
            "The products whose band contains a wavelength (em_min and em_max are in metres).",
            format!(
                "SELECT obs_id, em_min, em_max, dataproduct_type\nFROM ivoa.ObsCore\n\
                 WHERE em_min <= {w:e} AND em_max >= {w:e}"
            ),
            obscore,
        ));
    }
    if let Some(id) = &sky.obs_id {
        out.push(ex(
            "product",
            "One product and its links",
            "A product by its obs_id: its publisher DID (the ID of its DataLink links, \
             cutouts included) and where to get it.",
            format!(
                "SELECT obs_publisher_did, access_url, access_format, access_estsize\n\
                 FROM ivoa.ObsCore\nWHERE obs_id = '{}'",
                id.replace('\'', "''")
            ),
            obscore,
        ));
    }
    for (i, (table, tra, tdec)) in catalogs.iter().enumerate() {
        out.push(ex(
            &format!("catalog-cone-{}", i + 1),
            &format!("Sources of {table} around a position"),
            &format!(
                "The rows of {table} within 0.1 degree of a position (its indexed position \
                 {tra}, {tdec})."
            ),
            format!(
                "SELECT TOP 100 *\nFROM {table}\n\
                 WHERE CONTAINS(POINT('ICRS', {tra}, {tdec}), CIRCLE('ICRS', {ra}, {dec}, 0.1)) = 1"
            ),
            &[table.as_str()],
        ));
    }
    out.push(ex(
        "crossmatch",
        "Cross-match your own targets",
        "Upload a table of targets (columns ra and dec in degrees, e.g. from TOPCAT or pyvo's \
         run_sync(..., uploads={'targets': table})) as TAP_UPLOAD.targets, and find the \
         products within 1 arcminute of each; the spatial index serves every target.",
        "SELECT u.ra, u.dec, o.obs_id, o.access_url,\n\
         DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) AS dist\n\
         FROM TAP_UPLOAD.targets AS u JOIN ivoa.ObsCore AS o\n\
         ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 1/60.0)) = 1"
            .to_string(),
        // (Only published tables are named here: the upload is the client's.)
        &["ivoa.ObsCore"],
    ));
    out
}

/// The examples document (XHTML+RDFa 1.1, DALI 1.1 §2.3) of `examples`, for the TAP service
/// at `{base_url}/tap`.
pub fn document(examples: &[Example], base_url: &str) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML+RDFa 1.1//EN\" \"http://www.w3.org/MarkUp/DTD/xhtml-rdfa-2.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" version=\"XHTML+RDFa 1.1\" xml:lang=\"en\" lang=\"en\">\n\
         <head><title>vogate TAP examples</title>\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"/></head>\n\
         <body vocab=\"http://www.ivoa.net/rdf/examples#\">\n<h1>Example queries</h1>\n",
    );
    out.push_str(&format!(
        "<p>ADQL queries for the TAP service at <a href=\"{b}/tap\">{b}/tap</a>; each runs as \
         it stands (TOPCAT lists them under Examples, pyvo reads them with \
         <code>TAPService.examples</code>).</p>\n",
        b = xml_escape(base_url.trim_end_matches('/'))
    ));
    for e in examples {
        let id = xml_escape(&e.id);
        out.push_str(&format!(
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n\
             <h2 property=\"name\">{}</h2>\n<p>{}</p>\n<pre property=\"query\">{}</pre>\n<p>Tables: ",
            xml_escape(&e.name),
            xml_escape(&e.description),
            xml_escape(&e.query),
        ));
        let tables: Vec<String> = e
            .tables
            .iter()
            .map(|t| format!("<span property=\"table\">{}</span>", xml_escape(t)))
            .collect();
        out.push_str(&tables.join(", "));
        out.push_str("</p>\n</div>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_well_formed_rdfa_with_every_example() {
        let sky = ExampleSky {
            time: Some((60000.0, 60000.5)),
            wavelength: Some(2.2e-6),
            obs_id: Some("o'1".into()),
            ..Default::default()
        };
        let list = examples(&sky, &[("cat.src".into(), "ra".into(), "dec".into())]);
        let ids: Vec<&str> = list.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "cone",
                "footprint",
                "covers",
                "nearest",
                "summary",
                "tables",
                "columns",
                "schemas",
                "time",
                "band",
                "product",
                "catalog-cone-1",
                "crossmatch"
            ]
        );
        assert!(
            list[10].query.contains("obs_id = 'o''1'"),
            "{}",
            list[10].query
        );
        let doc = document(&list, "http://h:1/");
        // Well-formed XML, one example div per example, each with a name and a query.
        let mut reader = quick_xml::Reader::from_str(&doc);
        let (mut divs, mut names, mut queries) = (0, 0, 0);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(e)) => {
                    for a in e.attributes().flatten() {
                        match (a.key.as_ref(), a.value.as_ref()) {
                            (b"typeof", b"example") => divs += 1,
                            (b"property", b"name") => names += 1,
                            (b"property", b"query") => queries += 1,
                            _ => {}
                        }
                    }
                }
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}"),
            }
        }
        assert_eq!((divs, names, queries), (13, 13, 13));
        assert!(doc.contains("<a href=\"http://h:1/tap\">"));
        assert!(
            doc.contains("WHERE em_min &lt;= 2.2e-6 AND em_max &gt;= 2.2e-6"),
            "{doc}"
        );
    }
}
