//! vo-datalink: DataLink 1.1 (IVOA REC 2023-12-15) `{links}` documents and service
//! descriptors. Planned: nothing is implemented yet.
