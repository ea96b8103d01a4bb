//! vo-obscore: FITS files to ObsCore 1.1 rows (IVOA REC 2017-05-09, the `ivoa.ObsCore` table of
//! ObsTAP).
//!
//! - [`columns`]: the ObsCore 1.1 mandatory columns with their datatypes, units, UCDs and
//!   `obscore:` utypes, from the REC's Table 6 (§4).
//! - [`header`]: reading the keywords of each image HDU with fitsio (CFITSIO), which also
//!   opens whole-file gzip (`.fits.gz`) and tile-compressed (`.fits.fz`) files.
//! - [`celestial`]: pixel to ICRS positions: the projection from CDS's `wcs` crate, the frame
//!   change (FK5 J2000, Galactic) through ERFA, as astropy does.
//! - [`ingest`]: one ObsCore row per product file; walking a data tree.
//! - [`demo`]: a FITS writer with real TAN WCS, used for the demo sky, fixtures and benches.

pub mod celestial;
pub mod columns;
pub mod demo;
pub mod header;
pub mod ingest;

pub use columns::{ObsCoreColumn, OBSCORE_COLUMNS};
pub use ingest::{ingest_file, scan_tree, IngestConfig, ObsCoreRow, ScanReport, Skipped};

#[cfg(test)]
mod tests;
