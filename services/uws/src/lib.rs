//! vo-uws: the UWS 1.1 (IVOA REC 2016-10-24) job model, phase state machine and job store
//! for asynchronous TAP and SODA. Planned: nothing is implemented yet.
