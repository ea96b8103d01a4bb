//! The ObsCore 1.1 mandatory columns (ObsCore 1.1 §4, Table 6, with the published errata),
//! in the order vogate publishes them. Utypes carry the `obscore:` prefix (ObsCore 1.1 §4.1).
//! The strings taken from file names, FITS headers and the mapping (obs_collection,
//! obs_id, target_name, facility_name, instrument_name) are `unicodeChar`, as they may hold
//! any character (VOTable 1.4 §2.1); the others are vocabularies, UCDs, MIME types,
//! percent-encoded identifiers and URLs, and STC-S: ASCII, so `char`.

/// One ObsCore column as TAP_SCHEMA.columns describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObsCoreColumn {
    /// Column name.
    pub name: &'static str,
    /// VOTable datatype: `char`, `unicodeChar`, `int`, `long` or `double`.
    pub datatype: &'static str,
    /// VOTable arraysize (`*` for variable-length strings).
    pub arraysize: Option<&'static str>,
    /// DALI xtype.
    pub xtype: Option<&'static str>,
    /// Unit (VOUnits).
    pub unit: Option<&'static str>,
    /// UCD.
    pub ucd: &'static str,
    /// Utype, with the `obscore:` prefix.
    pub utype: &'static str,
    /// Description, from the REC.
    pub description: &'static str,
}

const fn c(
    name: &'static str,
    datatype: &'static str,
    unit: Option<&'static str>,
    ucd: &'static str,
    utype: &'static str,
    description: &'static str,
) -> ObsCoreColumn {
    let is_char = matches!(datatype.as_bytes(), b"char" | b"unicodeChar");
    ObsCoreColumn {
        name,
        datatype,
        arraysize: if is_char { Some("*") } else { None },
        xtype: None,
        unit,
        ucd,
        utype,
        description,
    }
}

/// The 30 mandatory ObsCore 1.1 columns.
pub const OBSCORE_COLUMNS: [ObsCoreColumn; 30] = [
    c(
        "dataproduct_type",
        "char",
        None,
        "meta.code.class",
        "obscore:ObsDataset.dataProductType",
        "Data product (file content) primary type",
    ),
    c(
        "calib_level",
        "int",
        None,
        "meta.code;obs.calib",
        "obscore:ObsDataset.calibLevel",
        "Calibration level of the observation: in {0, 1, 2, 3, 4}",
    ),
    c(
        "obs_collection",
        "unicodeChar",
        None,
        "meta.id",
        "obscore:DataID.collection",
        "Name of the data collection",
    ),
    c(
        "obs_id",
        "unicodeChar",
        None,
        "meta.id",
        "obscore:DataID.observationID",
        "Internal ID given by the ObsTAP service",
    ),
    c(
        "obs_publisher_did",
        "char",
        None,
        "meta.ref.ivoid",
        "obscore:Curation.publisherDID",
        "ID for the Dataset given by the publisher",
    ),
    c(
        "access_url",
        "char",
        None,
        "meta.ref.url",
        "obscore:Access.reference",
        "URL used to access dataset",
    ),
    c(
        "access_format",
        "char",
        None,
        "meta.code.mime",
        "obscore:Access.format",
        "Content format of the dataset",
    ),
    c(
        "access_estsize",
        "long",
        Some("kbyte"),
        "phys.size;meta.file",
        "obscore:Access.size",
        "Estimated size of dataset: in kilobytes",
    ),
    c(
        "target_name",
        "unicodeChar",
        None,
        "meta.id;src",
        "obscore:Target.name",
        "Object of interest",
    ),
    c(
        "s_ra",
        "double",
        Some("deg"),
        "pos.eq.ra",
        "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        "Central Spatial Position in ICRS; Right ascension",
    ),
    c(
        "s_dec",
        "double",
        Some("deg"),
        "pos.eq.dec",
        "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        "Central Spatial Position in ICRS; Declination",
    ),
    c(
        "s_fov",
        "double",
        Some("deg"),
        "phys.angSize;instr.fov",
        "obscore:Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
        "Estimated size of the covered region as the diameter of a containing circle",
    ),
    ObsCoreColumn {
        xtype: Some("adql:REGION"),
        ..c(
            "s_region",
            "char",
            None,
            "pos.outline;obs.field",
            "obscore:Char.SpatialAxis.Coverage.Support.Area",
            "Sky region covered by the data product (expressed in ICRS frame)",
        )
    },
    c(
        "s_resolution",
        "double",
        Some("arcsec"),
        "pos.angResolution",
        "obscore:Char.SpatialAxis.Resolution.Refval.value",
        "Spatial resolution of data as FWHM of PSF",
    ),
    c(
        "s_xel1",
        "long",
        None,
        "meta.number",
        "obscore:Char.SpatialAxis.numBins1",
        "Number of elements along the first coordinate of the spatial axis",
    ),
    c(
        "s_xel2",
        "long",
        None,
        "meta.number",
        "obscore:Char.SpatialAxis.numBins2",
        "Number of elements along the second coordinate of the spatial axis",
    ),
    c(
        "t_min",
        "double",
        Some("d"),
        "time.start;obs.exposure",
        "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
        "Start time in MJD",
    ),
    c(
        "t_max",
        "double",
        Some("d"),
        "time.end;obs.exposure",
        "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
        "Stop time in MJD",
    ),
    c(
        "t_exptime",
        "double",
        Some("s"),
        "time.duration;obs.exposure",
        "obscore:Char.TimeAxis.Coverage.Support.Extent",
        "Total exposure time",
    ),
    c(
        "t_resolution",
        "double",
        Some("s"),
        "time.resolution",
        "obscore:Char.TimeAxis.Resolution.Refval.value",
        "Temporal resolution FWHM",
    ),
    c(
        "t_xel",
        "long",
        None,
        "meta.number",
        "obscore:Char.TimeAxis.numBins",
        "Number of elements along the time axis",
    ),
    c(
        "em_min",
        "double",
        Some("m"),
        "em.wl;stat.min",
        "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
        "Start in spectral coordinates",
    ),
    c(
        "em_max",
        "double",
        Some("m"),
        "em.wl;stat.max",
        "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
        "Stop in spectral coordinates",
    ),
    c(
        "em_res_power",
        "double",
        None,
        "spect.resolution",
        "obscore:Char.SpectralAxis.Resolution.ResolPower.refVal",
        "Value of the resolving power along the spectral axis (R)",
    ),
    c(
        "em_xel",
        "long",
        None,
        "meta.number",
        "obscore:Char.SpectralAxis.numBins",
        "Number of elements along the spectral axis",
    ),
    c(
        "o_ucd",
        "char",
        None,
        "meta.ucd",
        "obscore:Char.ObservableAxis.ucd",
        "Nature of the observable axis",
    ),
    c(
        "pol_states",
        "char",
        None,
        "meta.code;phys.polarization",
        "obscore:Char.PolarizationAxis.stateList",
        "List of polarization states present in the data file or NULL if not applicable",
    ),
    c(
        "pol_xel",
        "long",
        None,
        "meta.number",
        "obscore:Char.PolarizationAxis.numBins",
        "Number of polarization samples",
    ),
    c(
        "facility_name",
        "unicodeChar",
        None,
        "meta.id;instr.tel",
        "obscore:Provenance.ObsConfig.Facility.name",
        "Name of the facility used for this observation",
    ),
    c(
        "instrument_name",
        "unicodeChar",
        None,
        "meta.id;instr",
        "obscore:Provenance.ObsConfig.Instrument.name",
        "Name of the instrument used for this observation",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_utypes_prefixed() {
        let mut names: Vec<&str> = OBSCORE_COLUMNS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 30);
        assert!(OBSCORE_COLUMNS
            .iter()
            .all(|c| c.utype.starts_with("obscore:")));
        let s_region = OBSCORE_COLUMNS.iter().find(|c| c.name == "s_region");
        assert_eq!(s_region.and_then(|c| c.xtype), Some("adql:REGION"));
        let char_cols = OBSCORE_COLUMNS.iter().filter(|c| c.datatype == "char");
        assert!(char_cols.into_iter().all(|c| c.arraysize == Some("*")));
    }
}
