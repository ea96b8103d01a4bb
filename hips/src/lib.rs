//! vo-hips: HiPS 1.0 (IVOA REC 2017-05-19) tiles, Allsky, properties and MOC 2.0 coverage
//! built from FITS images. Planned: nothing is implemented yet.
