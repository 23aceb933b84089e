//! How many threads the ops use, and the loop shapes they parallelise.
//!
//! The ops follow the same setting as candle: `RAYON_NUM_THREADS` (and `CANDLE_NUM_THREADS`),
//! which [`crate::device::set_threads`] sets before the first tensor is made. With one thread
//! nothing is handed to another thread at all, so single-threaded timings contain no scheduling
//! overhead.
//!
//! **Which threads.** candle 0.11 runs its own element-wise CPU routines on a small pool of its own
//! (`candle_core::utils::barrier_pool`: `n − 1` workers, and the calling thread takes part), and its
//! matrix products on rayon's pool (`n` workers, the caller waits). The ops here use candle's
//! barrier pool. On a two-core machine that matters: rayon's workers and candle's worker both spin
//! for a while after their last task, so a third pool of spinning threads competes for the cores
//! with the one doing the work. Measured on the two-thread training epoch: see chapter 8.
//!
//! **Split once.** The convolutions hand whole groups of images to the threads
//! ([`try_for_each_chunk_mut`]), and everything a group does inside its task (im2col, its GEMM)
//! runs serially on that thread: splitting again inside would only add scheduling for pieces that
//! are already one thread's worth.

use std::cell::Cell;
use std::convert::Infallible;
use std::sync::Mutex;

use gemm::Parallelism;

/// The thread count candle uses (`RAYON_NUM_THREADS`).
pub(crate) fn count() -> usize {
    candle_core::utils::get_num_threads()
}

thread_local! {
    /// Set while this thread runs a task of [`run_tasks`].
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Whether a loop started here may use more than one thread: there is more than one, and this code
/// is not already running inside a task (whose caller has split the work).
fn may_split() -> bool {
    count() > 1 && !IN_TASK.with(Cell::get)
}

/// The `gemm` crate's setting for that many threads (serial inside a task, see [`may_split`]).
pub(crate) fn gemm_parallelism() -> Parallelism {
    if may_split() { Parallelism::Rayon(count()) } else { Parallelism::None }
}

/// Resets [`IN_TASK`] when a task ends, also when it panics (the panic reaches the caller, whose
/// thread takes part in the work and must not stay marked).
struct TaskMark(bool);

impl Drop for TaskMark {
    fn drop(&mut self) {
        IN_TASK.with(|flag| flag.set(self.0));
    }
}

/// Runs `task(i)` for every `i` in `0..n` on candle's barrier pool, this thread included; each
/// thread takes the next few indices when it is free, so a slow task does not hold up the others.
fn run_tasks(n: usize, task: impl Fn(usize) + Sync) {
    candle_core::utils::barrier_pool().execute_chunked(n, |range| {
        let _mark = TaskMark(IN_TASK.with(|flag| flag.replace(true)));
        for i in range {
            task(i);
        }
    });
}

/// Below this many elements a light loop is not worth splitting across threads.
const MIN_PARALLEL_LEN: usize = 1 << 14;

/// Calls `body(index, chunk)` for each `chunk_len`-sized chunk of `data` — in parallel when there is
/// more than one thread and enough work, in order on this thread otherwise.
///
/// Every op in this module is written so that chunks never write to the same memory (one row of
/// the im2col matrix, one image, one feature map), which is what makes the parallel version safe and
/// gives exactly the same floating-point results as the serial one.
pub(crate) fn for_each_chunk_mut<T, F>(data: &mut [T], chunk_len: usize, body: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Send + Sync,
{
    let worth_splitting = data.len() >= MIN_PARALLEL_LEN;
    let done: Result<(), Infallible> = chunks(data, chunk_len, worth_splitting, |i, chunk| {
        body(i, chunk);
        Ok(())
    });
    let Ok(()) = done;
}

/// Like [`for_each_chunk_mut`], walking two buffers in step: chunk `i` of `a` (`a_chunk_len` long)
/// together with chunk `i` of `b` (`b_chunk_len` long). Used where one pass writes two outputs
/// (the pooled values and the positions of the maxima).
pub(crate) fn for_each_chunk_pair_mut<A, B, F>(
    a: &mut [A],
    a_chunk_len: usize,
    b: &mut [B],
    b_chunk_len: usize,
    body: F,
) where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Send + Sync,
{
    let worth_splitting = a.len() >= MIN_PARALLEL_LEN;
    let done: Result<(), Infallible> =
        chunk_pairs(a, a_chunk_len, b, b_chunk_len, worth_splitting, |i, a, b| {
            body(i, a, b);
            Ok(())
        });
    let Ok(()) = done;
}

/// Calls `body(index, chunk)` for each `chunk_len`-sized chunk of `data` and returns the first error
/// (by chunk index) if any. For heavy bodies (a group of images: im2col, a GEMM, a reorder): the
/// chunks are shared between threads whenever there are two or more of them and more than one
/// thread, however small `data` is.
pub(crate) fn try_for_each_chunk_mut<T, E, F>(data: &mut [T], chunk_len: usize, body: F) -> Result<(), E>
where
    T: Send,
    E: Send,
    F: Fn(usize, &mut [T]) -> Result<(), E> + Send + Sync,
{
    chunks(data, chunk_len, true, body)
}

/// Like [`try_for_each_chunk_mut`], walking two buffers in step (chunk `i` of `a` with chunk `i`
/// of `b`).
pub(crate) fn try_for_each_chunk_pair_mut<A, B, E, F>(
    a: &mut [A],
    a_chunk_len: usize,
    b: &mut [B],
    b_chunk_len: usize,
    body: F,
) -> Result<(), E>
where
    A: Send,
    B: Send,
    E: Send,
    F: Fn(usize, &mut [A], &mut [B]) -> Result<(), E> + Send + Sync,
{
    chunk_pairs(a, a_chunk_len, b, b_chunk_len, true, body)
}

/// The loop behind the chunk functions: in parallel when `worth_splitting`, there is more than one
/// thread, this is not already a task, and there are two chunks or more; in order otherwise.
fn chunks<T, E, F>(data: &mut [T], chunk_len: usize, worth_splitting: bool, body: F) -> Result<(), E>
where
    T: Send,
    E: Send,
    F: Fn(usize, &mut [T]) -> Result<(), E> + Send + Sync,
{
    if chunk_len == 0 {
        return Ok(());
    }
    if worth_splitting && may_split() && data.len() > chunk_len {
        let chunks: Vec<Mutex<&mut [T]>> = data.chunks_mut(chunk_len).map(Mutex::new).collect();
        first_error(chunks.len(), |i| body(i, &mut lock(&chunks[i])))
    } else {
        data.chunks_mut(chunk_len).enumerate().try_for_each(|(i, chunk)| body(i, chunk))
    }
}

/// [`chunks`] over two buffers in step.
fn chunk_pairs<A, B, E, F>(
    a: &mut [A],
    a_chunk_len: usize,
    b: &mut [B],
    b_chunk_len: usize,
    worth_splitting: bool,
    body: F,
) -> Result<(), E>
where
    A: Send,
    B: Send,
    E: Send,
    F: Fn(usize, &mut [A], &mut [B]) -> Result<(), E> + Send + Sync,
{
    if a_chunk_len == 0 || b_chunk_len == 0 {
        return Ok(());
    }
    if worth_splitting && may_split() && a.len() > a_chunk_len {
        let chunks: Vec<Mutex<(&mut [A], &mut [B])>> =
            a.chunks_mut(a_chunk_len).zip(b.chunks_mut(b_chunk_len)).map(Mutex::new).collect();
        first_error(chunks.len(), |i| {
            let mut pair = lock(&chunks[i]);
            let (a, b) = &mut *pair;
            body(i, a, b)
        })
    } else {
        a.chunks_mut(a_chunk_len)
            .zip(b.chunks_mut(b_chunk_len))
            .enumerate()
            .try_for_each(|(i, (a, b))| body(i, a, b))
    }
}

/// Runs `task(i)` for `i` in `0..n` in parallel and returns the error of the lowest `i` that failed.
fn first_error<E: Send>(n: usize, task: impl Fn(usize) -> Result<(), E> + Sync) -> Result<(), E> {
    let errors: Mutex<Vec<(usize, E)>> = Mutex::new(Vec::new());
    run_tasks(n, |i| {
        if let Err(e) = task(i) {
            lock(&errors).push((i, e));
        }
    });
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.into_iter().min_by_key(|(i, _)| *i).map_or(Ok(()), |(_, e)| Err(e))
}

/// Each chunk's mutex is only ever taken by the one task that owns the chunk, so it never waits;
/// a task that panicked while holding one leaves it poisoned, which changes nothing for the others.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
