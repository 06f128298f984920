//! [`DecoderPool`]: a fixed set of threads that decode off the connection
//! tasks.
//!
//! The threads are started up front, before imaged confines itself, so the
//! confined process never needs to create a thread to decode.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    paused: bool,
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Worker threads taking jobs in the order submitted.
///
/// Cheap to clone (clones share the threads). [`shutdown`](Self::shutdown)
/// runs what is queued, then joins the threads.
///
/// ```
/// use std::sync::mpsc;
///
/// let pool = courier_imaged::DecoderPool::new(2)?;
/// let (done, results) = mpsc::channel();
/// for n in 0..4 {
///     let done = done.clone();
///     pool.submit(move || done.send(n * n).unwrap());
/// }
/// pool.shutdown();
/// let mut squares: Vec<i32> = results.try_iter().collect();
/// squares.sort();
/// assert_eq!(squares, [0, 1, 4, 9]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct DecoderPool {
    shared: Arc<Shared>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for DecoderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("DecoderPool")
            .field("queued", &state.queue.len())
            .field("paused", &state.paused)
            .finish_non_exhaustive()
    }
}

impl DecoderPool {
    /// Starts `workers` threads (at least 1), named `imaged-decoder-N`.
    ///
    /// # Errors
    ///
    /// When the system refuses a thread.
    pub fn new(workers: usize) -> std::io::Result<DecoderPool> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let mut threads = Vec::new();
        for n in 0..workers.max(1) {
            let worker = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name(format!("imaged-decoder-{n}"))
                .spawn(move || work(&worker));
            match thread {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    let pool = DecoderPool {
                        shared,
                        threads: Arc::new(Mutex::new(threads)),
                    };
                    pool.shutdown();
                    return Err(error);
                }
            }
        }
        Ok(DecoderPool {
            shared,
            threads: Arc::new(Mutex::new(threads)),
        })
    }

    /// Queues `job`; a free thread runs it. After
    /// [`shutdown`](Self::shutdown) the job is dropped without running.
    pub fn submit(&self, job: impl FnOnce() + Send + 'static) {
        let mut state = self.shared.lock();
        if state.closing {
            return;
        }
        state.queue.push_back(Box::new(job));
        drop(state);
        self.shared.wake.notify_one();
    }

    /// Holds queued jobs until [`resume`](Self::resume) (jobs already
    /// running finish). Tests use it to act while a job is still queued.
    pub fn pause(&self) {
        self.shared.lock().paused = true;
    }

    /// Lets the threads take jobs again after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.shared.lock().paused = false;
        self.shared.wake.notify_all();
    }

    /// Jobs submitted and not yet started.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Runs every queued job (resuming a paused pool), then stops and joins
    /// the threads. Later submissions are dropped.
    pub fn shutdown(&self) {
        {
            let mut state = self.shared.lock();
            state.closing = true;
            state.paused = false;
        }
        self.shared.wake.notify_all();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            // A job that panicked already reported it on stderr.
            let _ = thread.join();
        }
    }
}

/// One worker: takes jobs until the pool closes and the queue is empty.
fn work(shared: &Shared) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if !state.paused {
                    if let Some(job) = state.queue.pop_front() {
                        break job;
                    }
                    if state.closing {
                        return;
                    }
                }
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        // A panicking decoder must not take the worker with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}
