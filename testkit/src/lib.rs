//! vo-testkit: the harness the workspace's integration tests run under (`harness = false`,
//! through libtest-mimic), so that a test whose precondition is missing is *skipped and
//! counted*, never passed silently.
//!
//! A test declares what it needs ([`Need`]: the `../shared` folder, a PostgreSQL server, ...).
//! Before anything runs, [`run`] checks every need once. Outside CI a test with an unmet need
//! is reported as ignored, so cargo's summary line counts it
//! (`test result: ok. 12 passed; 0 failed; 9 ignored; ...`), and one line per reason says
//! why, e.g.
//! `vogate: 9 tests skipped: PostgreSQL at postgres://... cannot be used: connection refused`.
//! Under `CI=true` nothing is skipped: the test runs, and its own lookup fails with the reason.
//!
//! ```no_run
//! use vo_testkit::{run, shared, Test};
//! fn main() -> std::process::ExitCode {
//!     run(vec![Test::sync("corpus_parses", || {
//!         let dir = vo_testkit::shared_dir("corpus/felis");
//!         assert!(dir.join("README.md").exists());
//!     })
//!     .needs(&shared("corpus/felis"))])
//! }
//! ```

use libtest_mimic::{Arguments, Trial};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// True when the environment says this is CI (`CI=true` or `CI=1`): there, every need must
/// be met and a missing one fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A precondition of a test, checked once before the tests run: met, or missing with the
/// reason (which is printed with the number of tests it skips).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Why it is missing, e.g. `../shared/data/fits is missing`; `None` when met.
    pub missing: Option<String>,
}

impl Need {
    /// A need that is met.
    pub fn met() -> Need {
        Need { missing: None }
    }

    /// A need that is missing, for the reason `why`.
    pub fn missing(why: impl Into<String>) -> Need {
        Need {
            missing: Some(why.into()),
        }
    }

    /// `Ok(())` when met, otherwise the reason.
    pub fn check(result: Result<(), String>) -> Need {
        Need {
            missing: result.err(),
        }
    }
}

/// The root of the shared files: `$VOGATE_SHARED`, or `../shared` beside the clone.
pub fn shared_root() -> PathBuf {
    std::env::var_os("VOGATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // The clone's root is the first folder up from the test's package (cargo sets
            // CARGO_MANIFEST_DIR when it runs a test; the compile-time value can be stale
            // when several clones share one build directory) that holds Cargo.lock; the
            // shared folder is beside the clone.
            let package = std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
            let root = package
                .ancestors()
                .find(|d| d.join("Cargo.lock").is_file())
                .unwrap_or(&package)
                .to_path_buf();
            match root.parent() {
                Some(beside) => beside.join("shared"),
                None => root.join("../shared"),
            }
        })
}

/// The need for the folder `<shared root>/<sub>` (e.g. `data/fits`).
pub fn shared(sub: &str) -> Need {
    let dir = shared_root().join(sub);
    if dir.is_dir() {
        Need::met()
    } else {
        Need::missing(format!(
            "{} is missing (set VOGATE_SHARED to the shared folder)",
            dir.display()
        ))
    }
}

/// The folder `<shared root>/<sub>`, for a test that declared [`shared`]`(sub)`.
///
/// # Panics
/// When the folder is missing (under CI, where such a test is not skipped).
pub fn shared_dir(sub: &str) -> PathBuf {
    let dir = shared_root().join(sub);
    assert!(
        dir.is_dir(),
        "{} is missing; the tests need ../shared beside the clone (or VOGATE_SHARED)",
        dir.display()
    );
    dir
}

/// One test: a name (as cargo prints and filters it), its body and its needs.
pub struct Test {
    name: String,
    body: Box<dyn FnOnce() + Send + 'static>,
    needs: Vec<Need>,
}

impl Test {
    /// A test whose body is a plain function; a panic fails it.
    pub fn sync(name: impl Into<String>, body: impl FnOnce() + Send + 'static) -> Test {
        Test {
            name: name.into(),
            body: Box::new(body),
            needs: Vec::new(),
        }
    }

    /// A test whose body is a future, run on a fresh actix system (as `#[actix_web::test]`
    /// does); the future need not be `Send`.
    pub fn actix<F, Fut>(name: impl Into<String>, body: F) -> Test
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        Test::sync(name, move || actix_rt::System::new().block_on(body()))
    }

    /// This test also needs `need`.
    pub fn needs(mut self, need: &Need) -> Test {
        self.needs.push(need.clone());
        self
    }
}

/// Run `tests` as cargo's own harness would (filters, `--list`, `--test-threads`, ...; the
/// arguments are read from the command line) and return the exit code. Outside CI, tests
/// with a missing need are ignored, and a line per reason says how many it skips.
pub fn run(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    let ci = in_ci();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let trials: Vec<Trial> = tests
        .into_iter()
        .map(|t| {
            let missing = t.needs.iter().find_map(|n| n.missing.clone());
            let body = t.body;
            let trial = Trial::test(t.name, move || {
                body();
                Ok(())
            });
            match missing {
                Some(why) if !ci => {
                    *skipped.entry(why).or_default() += 1;
                    trial.with_ignored_flag(true)
                }
                _ => trial,
            }
        })
        .collect();
    if !args.list {
        for (why, n) in &skipped {
            let s = if *n == 1 { "" } else { "s" };
            println!("vogate: {n} test{s} skipped (counted as ignored): {why}");
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
