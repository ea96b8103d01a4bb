//! vo-sia: SIA 2.0 (IVOA REC 2015-12-23) image discovery over `ivoa.ObsCore`.
//!
//! - [`query`]: the SIA parameters (POS, BAND, TIME, POL, FOV, SPATRES, EXPTIME, ID,
//!   COLLECTION, FACILITY, INSTRUMENT, DPTYPE, CALIB, TARGET, FORMAT) into one ADQL query.
//! - [`service`]: `/sia/query` (GET, POST), run through vo-tap's sync machinery (the same
//!   Backend query, MAXREC and overflow, the ObsCore VOTable with its DataLink descriptor),
//!   `/sia/capabilities` and `/sia/availability`.

pub mod query;
pub mod service;

pub use service::configure;
