//! vo-uws: asynchronous jobs as UWS 1.1 (IVOA REC 2016-10-24) defines them, for any job
//! kind (TAP queries, SODA cutouts); it knows nothing of TAP.
//!
//! - [`job`]: the job model: phases (§2.1.3), jobs, results, the job-list filter, and the
//!   checked request values (DESTRUCTION, EXECUTIONDURATION, WAIT).
//! - [`store`]: [`JobStore`], the durable record of jobs, implemented by each database
//!   backend.
//! - [`engine`]: [`Uws`]: creating and changing jobs, a bounded worker pool running a
//!   [`JobRunner`], results written whole (temporary name, then rename), WAIT woken by the
//!   change, leases with heartbeats, and the reaper of expired leases and destroyed jobs.
//! - [`doc`]: the UWS XML documents, and JSON for the portal.
//! - [`http`]: the REST binding (§2.2), mounted at a service's job list path.

pub mod doc;
pub mod engine;
pub mod http;
pub mod job;
pub mod store;

pub use engine::{JobRunner, ResultDir, ResultFile, Running, Uws, UwsConfig};
pub use job::{Job, JobFilter, Lease, Millis, Phase, ResultRef};
pub use store::{JobRecord, JobStore, JOB_COLUMNS};
