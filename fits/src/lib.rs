//! vo-fits: the one place vogate reads FITS (NASA FITS Standard 4.0) and interprets its
//! celestial WCS (FITS WCS Papers I and II, Greisen & Calabretta 2002, Calabretta & Greisen
//! 2002). ObsCore ingest uses it today; SODA cutouts and HiPS tiling build on it. A pure
//! library: no HTTP, no database.
//!
//! - [`header`]: reading the keywords of each image HDU with fitsio (CFITSIO), which also
//!   opens whole-file gzip (`.fits.gz`) and tile-compressed (`.fits.fz`) files.
//! - [`integrity`]: whether a file holds all the data its headers declare (short, perhaps
//!   still being written, or corrupt), and where each HDU lies.
//! - [`cards`]: the whole header of an image HDU as cards (tile-compressed images as the
//!   image they hold), and the header of a cut with its reference pixels moved.
//! - [`section`]: a box of an image (tile-compressed too) as stored values, read without the
//!   rest; image HDUs written with a given header.
//! - [`spectral`]: the linear spectral (metres) and time (MJD) axes of cubes, plane by
//!   plane, and polarization (STOKES) axes, state by state.
//! - [`celestial`]: pixel to ICRS positions: the projection from CDS's `wcs` crate (the conics
//!   and the DSS plate solution vogate's own), the frame change (FK4, FK5 J2000, Galactic)
//!   through ERFA, as astropy does.

pub mod cards;
pub mod celestial;
pub mod header;
pub mod integrity;
pub mod section;
pub mod spectral;

pub use cards::ImageCards;
pub use celestial::{CelestialWcs, Frame, NoPixel};
pub use header::{read_headers, read_headers_with, Card, Cards, FileHeaders, ImageHeader};
pub use integrity::{
    check_file, check_file_with_headers, check_open_file_with_headers, HduLayout, Incomplete,
};
pub use section::{
    physical_values, read_section, read_section_at, write_image, Scaling, Section, SectionData,
};
pub use spectral::{axis_kind, AxisKind, StokesAxis, WorldAxis, STOKES_STATES};

#[cfg(test)]
mod tests;
