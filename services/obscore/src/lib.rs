//! vo-obscore: FITS files to ObsCore 1.1 rows (IVOA REC 2017-05-09, the `ivoa.ObsCore` table of
//! ObsTAP).
//!
//! - [`columns`]: the ObsCore 1.1 mandatory columns with their datatypes, units, UCDs and
//!   `obscore:` utypes, from the REC's Table 6 (§4).
//! - FITS headers and the celestial WCS come from vo-fits ([`vo_fits::header`],
//!   [`vo_fits::celestial`]).
//! - [`ingest`]: one ObsCore row per product file; walking a data tree.
//! - [`mapping`]: rules, templates, filter ranges and HDU roles from a mapping file.
//! - [`live`]: ivoa.ObsCore kept in step with a data tree (scans, file events, resumable).
//! - [`demo`]: a FITS writer with real TAN WCS, used for the demo sky, fixtures and benches.

pub mod columns;
pub mod demo;
pub mod ingest;
pub mod live;
pub mod mapping;

pub use columns::{ObsCoreColumn, OBSCORE_COLUMNS};
pub use ingest::{
    file_format, ingest_file, scan_tree, AccessUrl, IngestConfig, ObsCoreRow, ScanReport, Skipped,
    DATALINK_FORMAT,
};

#[cfg(test)]
mod tests;
