//! The live ingest's [`Store`] over the gateway's database: a Backend of its own, driven
//! from the ingest's thread on a runtime of its own (pooled PostgreSQL connections live on
//! the runtime that made them).

use std::sync::Arc;
use vo_obscore::live::{Changes, FileState, Store};
use vo_tap::Backend;

/// What is told of every batch written (e.g. to forget cached dataset files).
pub type AfterApply = Box<dyn Fn(&Changes) + Send + Sync>;

/// [`Store`] through a [`Backend`].
pub struct BackendStore {
    backend: Arc<dyn Backend>,
    runtime: Option<tokio::runtime::Runtime>,
    after: AfterApply,
}

impl BackendStore {
    /// A store over `backend`, calling `after` once each batch is written. Errors: the
    /// runtime cannot be made.
    pub fn new(backend: Arc<dyn Backend>, after: AfterApply) -> Result<BackendStore, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime for the live ingest: {e}"))?;
        Ok(BackendStore {
            backend,
            runtime: Some(runtime),
            after,
        })
    }

    /// Run `f` on the store's runtime; from a thread that drives a runtime itself (a
    /// caller in async code), on a helper thread, where blocking is allowed.
    fn block_on<T: Send>(
        &self,
        f: impl std::future::Future<Output = Result<T, vo_common::VoError>> + Send,
    ) -> Result<T, String> {
        let Some(rt) = &self.runtime else {
            return Err("the live ingest's runtime has stopped".into());
        };
        let result = if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| rt.block_on(f)).join().unwrap_or_else(|_| {
                    Err(vo_common::VoError::internal("the database task failed"))
                })
            })
        } else {
            rt.block_on(f)
        };
        result.map_err(|e| e.message)
    }
}

impl Store for BackendStore {
    fn files(&self) -> Result<Vec<FileState>, String> {
        self.block_on(self.backend.obscore_files())
    }

    fn apply(&self, changes: Arc<Changes>) -> Result<(), String> {
        self.block_on(self.backend.apply_obscore_changes(Arc::clone(&changes)))?;
        (self.after)(&changes);
        Ok(())
    }
}

impl Drop for BackendStore {
    fn drop(&mut self) {
        // Without waiting: the store may be dropped on an async thread, where a blocking
        // shutdown would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
