//! A server's settings: request [`Limits`], [`Timeouts`], the default batching, and the
//! checks that refuse a setting that cannot work, by its field name ([`ServeError`]).

use std::time::Duration;

use crate::batcher::BatchConfig;

/// Request limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Most texts in one request (413 above).
    pub max_inputs: usize,
    /// Longest text, in bytes (413 above).
    pub max_text_bytes: usize,
}

impl Default for Limits {
    /// 1 MiB bodies, 256 texts, 64 KiB per text.
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_inputs: 256,
            max_text_bytes: 64 << 10,
        }
    }
}

/// How long the server waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a request's head, and for the next request on an idle connection (then it is
    /// closed).
    pub read: Duration,
    /// For a request's body, once its head has come (408 after).
    pub body: Duration,
    /// After SIGTERM or Ctrl-C, for the requests in flight to finish; then the remaining
    /// connections are closed. A second signal closes them at once.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    /// 30 s to read a request's head or to wait for the next, 30 s for its body, 10 s to
    /// drain at shutdown.
    fn default() -> Self {
        Timeouts {
            read: Duration::from_secs(30),
            body: Duration::from_secs(30),
            shutdown: Duration::from_secs(10),
        }
    }
}

/// The longest any timeout or batching delay may be (an hour).
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The most threads the model may run on.
pub const MAX_THREADS: usize = 1024;

/// What went wrong starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding, the runtime or a thread could not start.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A setting that cannot work, by its field name in [`BatchConfig`] or [`Limits`].
    #[error("{name}: {problem}")]
    Setting {
        /// The field (`max_batch`, `max_inputs`, …).
        name: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

/// Refuses a setting that cannot work: a wait over an hour, a zero read or body timeout,
/// a zero size or count, too many threads.
pub fn check(batch: &BatchConfig, limits: &Limits, timeouts: &Timeouts) -> Result<(), ServeError> {
    for (name, t) in [
        ("max_delay", batch.max_delay),
        ("read_timeout", timeouts.read),
        ("body_timeout", timeouts.body),
        ("shutdown_timeout", timeouts.shutdown),
    ] {
        if t > MAX_WAIT {
            return Err(ServeError::Setting {
                name,
                problem: format!("must be at most an hour, found {t:?}"),
            });
        }
    }
    for (name, t) in [
        ("read_timeout", timeouts.read),
        ("body_timeout", timeouts.body),
    ] {
        if t.is_zero() {
            return Err(ServeError::Setting {
                name,
                problem: "must be positive".into(),
            });
        }
    }
    if batch.threads > MAX_THREADS {
        return Err(ServeError::Setting {
            name: "threads",
            problem: format!("must be at most {MAX_THREADS}, found {}", batch.threads),
        });
    }
    for (name, v) in [
        ("max_batch", batch.max_batch),
        ("threads", batch.threads),
        ("max_inputs", limits.max_inputs),
        ("max_body_bytes", limits.max_body_bytes),
        ("max_text_bytes", limits.max_text_bytes),
    ] {
        if v == 0 {
            return Err(ServeError::Setting {
                name,
                problem: "must be at least 1".into(),
            });
        }
    }
    Ok(())
}

/// The default batching: 64 texts or 2 ms, two inference threads.
pub fn default_batch() -> BatchConfig {
    BatchConfig {
        max_batch: 64,
        max_delay: Duration::from_millis(2),
        threads: 2,
    }
}
