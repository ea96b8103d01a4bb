//! vo-soda: SODA 1.0 (IVOA REC 2017-05-17) cutouts from the archive's FITS products, on
//! vo-fits.
//!
//! - [`params`]: the SODA parameters (ID, POS, CIRCLE, POLYGON, BAND, TIME, POL), parsed
//!   strictly, with UsageError and MultiValuedParamNotSupported messages.
//! - [`cutout`]: the pixel box of a shape on an image (its boundary sampled densely through
//!   sky -> pixel), which HDUs are cut, and the cut FITS file (stored values, headers with
//!   the reference pixels moved, a HISTORY card).
//! - [`service`]: `/soda/sync` (GET and POST), `/soda/capabilities` and
//!   `/soda/availability`; IDs are resolved through ivoa.ObsCore, never taken as paths.
//! - [`jobs`]: `/soda/async`, a job runner on vogate's UWS engine: one result per
//!   combination of ID, shape, BAND and TIME.

pub mod cutout;
pub mod jobs;
pub mod params;
pub mod service;

pub use cutout::{pixel_box, plan, write_cut, CutPlan, PixelBox};
pub use jobs::{SodaRunner, KIND};
pub use params::{Interval, Shape, SodaRequest};
pub use service::{configure, SodaState};
