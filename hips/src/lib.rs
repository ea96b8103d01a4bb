//! vo-hips: HiPS 1.0 (IVOA REC 2017-05-19) maps built from FITS images: FITS tiles at every
//! order, `Norder3/Allsky.fits`, the coverage as a MOC 2.0 (`Moc.fits`) and `properties`.
//! A pure library on vo-fits (pixels, WCS) and cdshealpix (HEALPix NESTED cells); the CLI
//! entries are `vogate hips build` and `vogate hips add`.
//!
//! - [`tile`]: which HEALPix cell each tile pixel is, where a tile's file lies, the HPX WCS
//!   of a tile.
//! - [`sky`]: the HiPS frame (equatorial or galactic) and its rotation from ICRS.
//! - [`source`]: the input images: their WCS, scaling, footprints and pixel boxes.
//! - [`build`]: the build itself.
//! - [`add`]: new images added to a built HiPS, remaking only what they touch.
//! - [`properties`]: the `properties` file.
//! - [`render`]: PNG and JPEG tiles through a pixel cut.

pub mod add;
pub mod build;
pub mod properties;
pub mod render;
pub mod sky;
pub mod source;
pub mod tile;

pub use add::{add, AddOptions};
pub use build::{build, BuildOptions, Overlay, Progress, Quiet, Report};
pub use properties::Properties;
pub use render::{PixelCut, TileFormat};
pub use sky::HipsFrame;
pub use source::{HduChoice, Source};
pub use tile::TileLayout;
