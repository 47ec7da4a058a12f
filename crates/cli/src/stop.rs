//! [`Stop`]: the request to stop that Ctrl-C (SIGINT) and SIGTERM make, handed to whatever
//! runs (no global state: `main` installs the handler once and passes the flag down).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Set when the process is asked to stop; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that nothing sets (tests, or a caller that handles signals itself).
    pub fn new() -> Stop {
        Stop::default()
    }

    /// A flag set by Ctrl-C and SIGTERM. Installs the process's handler: call it once.
    pub fn on_signals() -> Stop {
        let stop = Stop::new();
        let flag = stop.0.clone();
        // without a handler (another one installed) the default action stays: the
        // process ends at once, which loses no committed run
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        stop
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
