//! vo-soda: SODA 1.0 (IVOA REC 2017-05-17) cutouts (CIRCLE, POLYGON, POS, BAND, TIME) from
//! FITS images with corrected WCS. Planned: nothing is implemented yet.
