//! Service descriptors (DataLink 1.1 §4): the `RESOURCE type="meta" utype="adhoc:service"`
//! that tells a client how to call a service on a dataset, here SODA 1.0's cutouts. The
//! descriptor's `inputParams` fix the dataset's ID and give each cutout parameter with the
//! values the dataset allows (SODA 1.0 §3.3 and §4): CIRCLE's MAX the circle covering the
//! dataset, POLYGON's MAX its footprint, BAND and TIME their MIN and MAX, POL the states the
//! dataset holds. Names, UCDs, units and xtypes are those Rubin's DataLink writes (and its
//! portal reads): CIRCLE and POLYGON `pos.outline;obs` in `deg`, ID `meta.id;meta.dataset`.

use std::fmt::Write;
use vo_common::votable::xml_escape;

/// The standardID of SODA sync (SODA 1.0 §2).
pub const SODA_SYNC: &str = "ivo://ivoa.net/std/SODA#sync-1.0";
/// The standardID of SODA async (SODA 1.0 §2).
pub const SODA_ASYNC: &str = "ivo://ivoa.net/std/SODA#async-1.0";

/// What the cutout parameters of one dataset may take, from its ObsCore row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CutoutDomain {
    /// The circle covering the dataset: (ra, dec, radius), degrees (s_ra, s_dec, s_fov / 2).
    pub circle: Option<(f64, f64, f64)>,
    /// The footprint's vertices (ra, dec), degrees (from s_region).
    pub polygon: Option<Vec<(f64, f64)>>,
    /// The wavelength range, metres (em_min, em_max).
    pub band: Option<(f64, f64)>,
    /// The time range, MJD (t_min, t_max).
    pub time: Option<(f64, f64)>,
    /// The polarization states held (pol_states, e.g. `/I/Q/U/V/`).
    pub pol_states: Vec<String>,
}

/// One SODA service descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct SodaDescriptor {
    /// The RESOURCE's ID, which the `{links}` rows' service_def name.
    pub resource_id: String,
    /// The service's URL (…/soda/sync or …/soda/async).
    pub access_url: String,
    /// [`SODA_SYNC`] or [`SODA_ASYNC`].
    pub standard_id: &'static str,
    /// The dataset's ID (obs_publisher_did), fixed in the descriptor.
    pub id: String,
    /// What the parameters may take.
    pub domain: CutoutDomain,
}

/// A number as VOTable text: the shortest form that reads back the same.
fn num(v: f64) -> String {
    format!("{v:?}")
}

/// One PARAM element named `name` with `attributes` (datatype, arraysize, ucd, ... in
/// order); `values` is the inner XML of its VALUES (written when not empty).
fn param(
    out: &mut String,
    name: &str,
    attributes: &[(&str, &str)],
    value: &str,
    description: &str,
    values: &str,
) {
    let _ = write!(out, "<PARAM name=\"{name}\"");
    for (k, v) in attributes {
        let _ = write!(out, " {k}=\"{}\"", xml_escape(v));
    }
    let _ = write!(
        out,
        " value=\"{}\"><DESCRIPTION>{}</DESCRIPTION>",
        xml_escape(value),
        xml_escape(description)
    );
    if !values.is_empty() {
        let _ = write!(out, "<VALUES>{values}</VALUES>");
    }
    out.push_str("</PARAM>\n");
}

impl SodaDescriptor {
    /// The descriptor as a VOTable RESOURCE element.
    pub fn to_xml(&self) -> String {
        let d = &self.domain;
        let mut out = format!(
            "<RESOURCE ID=\"{}\" type=\"meta\" utype=\"adhoc:service\">\n<GROUP name=\"inputParams\">\n",
            xml_escape(&self.resource_id)
        );
        param(
            &mut out,
            "ID",
            &[
                ("datatype", "char"),
                ("arraysize", "*"),
                ("ucd", "meta.id;meta.dataset"),
            ],
            &self.id,
            "Publisher DID of the dataset of interest",
            "",
        );
        let max = |v: String| format!("<MAX value=\"{}\"/>", xml_escape(&v));
        param(
            &mut out,
            "CIRCLE",
            &[("datatype", "double"), ("arraysize", "3"), ("ucd", "pos.outline;obs"), ("unit", "deg"), ("xtype", "circle")],
            "",
            "A circle (as a flattened array of ra, dec, radius) that should be covered by the cutout.",
            &d.circle
                .map(|(ra, dec, r)| max(format!("{} {} {}", num(ra), num(dec), num(r))))
                .unwrap_or_default(),
        );
        param(
            &mut out,
            "POLYGON",
            &[("datatype", "double"), ("arraysize", "*"), ("ucd", "pos.outline;obs"), ("unit", "deg"), ("xtype", "polygon")],
            "",
            "A polygon (as a flattened array of ra, dec pairs) that should be covered by the cutout.",
            &d.polygon
                .as_ref()
                .map(|v| {
                    let flat: Vec<String> =
                        v.iter().flat_map(|&(a, b)| [num(a), num(b)]).collect();
                    max(flat.join(" "))
                })
                .unwrap_or_default(),
        );
        param(
            &mut out,
            "POS",
            &[("datatype", "char"), ("arraysize", "*"), ("ucd", "pos.outline;obs")],
            "",
            "A region (CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2, POLYGON ra1 dec1 ...), degrees, that should be covered by the cutout.",
            "",
        );
        let interval = |range: Option<(f64, f64)>| {
            range
                .map(|(lo, hi)| format!("<MIN value=\"{}\"/><MAX value=\"{}\"/>", num(lo), num(hi)))
                .unwrap_or_default()
        };
        param(
            &mut out,
            "BAND",
            &[
                ("datatype", "double"),
                ("arraysize", "2"),
                ("ucd", "em.wl;stat.interval"),
                ("unit", "m"),
                ("xtype", "interval"),
            ],
            "",
            "The wavelength interval (lower, upper), metres, the cutout's planes should cover.",
            &interval(d.band),
        );
        param(
            &mut out,
            "TIME",
            &[
                ("datatype", "double"),
                ("arraysize", "2"),
                ("ucd", "time.interval;obs.exposure"),
                ("unit", "d"),
                ("xtype", "interval"),
            ],
            "",
            "The time interval (lower, upper), MJD, the cutout's planes should cover.",
            &interval(d.time),
        );
        if !d.pol_states.is_empty() {
            let options: String = d
                .pol_states
                .iter()
                .map(|s| format!("<OPTION value=\"{}\"/>", xml_escape(s)))
                .collect();
            param(
                &mut out,
                "POL",
                &[
                    ("datatype", "char"),
                    ("arraysize", "*"),
                    ("ucd", "meta.code;phys.polarization"),
                ],
                "",
                "Polarization states the cutout should hold (repeatable).",
                &options,
            );
        }
        out.push_str("</GROUP>\n");
        let _ = writeln!(
            out,
            "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\" value=\"{}\"/>",
            xml_escape(&self.access_url)
        );
        let _ = writeln!(
            out,
            "<PARAM name=\"standardID\" datatype=\"char\" arraysize=\"*\" value=\"{}\"/>",
            self.standard_id
        );
        out.push_str("</RESOURCE>\n");
        out
    }
}

/// The vertices (ra in [0, 360), dec) of an STC-S `POLYGON [ICRS] ra1 dec1 ...` (as
/// ObsCore's s_region holds footprints; read by [`vo_common::region`]), or `None` for any
/// other text.
pub fn stcs_polygon(s: &str) -> Option<Vec<(f64, f64)>> {
    let polygon = vo_common::region::parse_stcs_polygon(s).ok()?;
    Some(
        polygon
            .vertices()
            .iter()
            .map(|v| {
                let p = vo_common::sky::SkyPoint::from_vec(*v);
                (p.ra, p.dec)
            })
            .collect(),
    )
}

/// The states of an ObsCore pol_states value (`/I/Q/U/V/`), in order.
pub fn pol_states(s: &str) -> Vec<String> {
    s.split('/')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprints_and_states_are_read_from_obscore_text() {
        let near = |got: Option<Vec<(f64, f64)>>, want: &[(f64, f64)]| {
            let got = got.expect("a polygon");
            got.len() == want.len()
                && want.iter().all(|w| {
                    got.iter()
                        .any(|g| (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9)
                })
        };
        assert!(near(
            stcs_polygon("POLYGON ICRS 10 20 11 20 11 21"),
            &[(10.0, 20.0), (11.0, 20.0), (11.0, 21.0)]
        ));
        assert!(near(
            stcs_polygon("Polygon 359.5 -1 0.5 -1 0.5 1 359.5 1"),
            &[(359.5, -1.0), (0.5, -1.0), (0.5, 1.0), (359.5, 1.0)]
        ));
        assert_eq!(stcs_polygon("CIRCLE ICRS 10 20 1"), None);
        assert_eq!(stcs_polygon("POLYGON ICRS 10 20 11"), None);
        assert_eq!(stcs_polygon("POLYGON ICRS 10 20 11 x 1 2"), None);
        assert_eq!(pol_states("/I/Q/U/V/"), ["I", "Q", "U", "V"]);
        assert!(pol_states("").is_empty());
    }

    #[test]
    fn a_soda_descriptor_fixes_the_id_and_bounds_every_parameter() {
        let xml = SodaDescriptor {
            resource_id: "soda-sync-1".into(),
            access_url: "http://h/soda/sync".into(),
            standard_id: SODA_SYNC,
            id: "ivo://x/y?a&b.fits".into(),
            domain: CutoutDomain {
                circle: Some((10.5, -20.25, 0.5)),
                polygon: Some(vec![(10.0, -20.0), (11.0, -20.0), (11.0, -21.0)]),
                band: Some((4e-7, 5.5e-7)),
                time: None,
                pol_states: vec!["I".into(), "V".into()],
            },
        }
        .to_xml();
        assert!(xml.starts_with(
            "<RESOURCE ID=\"soda-sync-1\" type=\"meta\" utype=\"adhoc:service\">\n<GROUP name=\"inputParams\">\n"
        ));
        assert!(xml.contains(
            "<PARAM name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.dataset\" value=\"ivo://x/y?a&amp;b.fits\">"
        ));
        assert!(xml.contains("name=\"CIRCLE\" datatype=\"double\" arraysize=\"3\" ucd=\"pos.outline;obs\" unit=\"deg\" xtype=\"circle\" value=\"\">"));
        assert!(xml.contains("<VALUES><MAX value=\"10.5 -20.25 0.5\"/></VALUES>"));
        assert!(xml.contains("<VALUES><MAX value=\"10.0 -20.0 11.0 -20.0 11.0 -21.0\"/></VALUES>"));
        assert!(xml.contains("<VALUES><MIN value=\"4e-7\"/><MAX value=\"5.5e-7\"/></VALUES>"));
        // No time range: TIME without VALUES.
        let time = &xml[xml.find("name=\"TIME\"").expect("TIME")..];
        assert!(time[..time.find("</PARAM>").expect("end")]
            .find("VALUES")
            .is_none());
        assert!(xml.contains("<VALUES><OPTION value=\"I\"/><OPTION value=\"V\"/></VALUES>"));
        assert!(xml.contains(
            "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\" value=\"http://h/soda/sync\"/>"
        ));
        assert!(xml.contains("value=\"ivo://ivoa.net/std/SODA#sync-1.0\"/>\n</RESOURCE>"));
        assert_eq!(
            xml.matches("<PARAM").count(),
            xml.matches("</PARAM>").count() + 2
        );
    }
}
