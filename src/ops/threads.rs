//! How many threads the kernels use, and the one loop shape they all parallelise.
//!
//! The kernels follow the same setting as candle: `RAYON_NUM_THREADS`, which
//! [`crate::device::set_threads`] sets before the first tensor is made. With one thread nothing is
//! handed to rayon at all, so single-threaded timings contain no scheduling overhead.
//!
//! Work is split once, at the outermost level: the convolutions hand whole groups of images to the
//! threads ([`try_for_each_chunk_mut`]), and everything a group does inside its task (im2col, its
//! GEMM) runs serially on that thread. Splitting again inside would only add scheduling for pieces
//! that are already one thread's worth.

use gemm::Parallelism;
use rayon::prelude::*;

/// The thread count candle uses for its own matrix products (`RAYON_NUM_THREADS`).
pub(crate) fn count() -> usize {
    candle_core::utils::get_num_threads()
}

/// Whether a loop started here may use more than one thread: there is more than one, and this code
/// is not already running inside a task on rayon's pool (whose caller has split the work).
fn may_split() -> bool {
    count() > 1 && rayon::current_thread_index().is_none()
}

/// The `gemm` crate's setting for that many threads (serial inside a task, see [`may_split`]).
pub(crate) fn gemm_parallelism() -> Parallelism {
    if may_split() { Parallelism::Rayon(count()) } else { Parallelism::None }
}

/// Below this many elements a loop is not worth splitting across threads.
const MIN_PARALLEL_LEN: usize = 1 << 14;

/// Calls `body(index, chunk)` for each `chunk_len`-sized chunk of `data` — in parallel on rayon's
/// pool when there is more than one thread and enough work, in order on this thread otherwise.
///
/// Every kernel in this module is written so that chunks never write to the same memory (one row of
/// the im2col matrix, one image, one feature map), which is what makes the parallel version safe and
/// gives exactly the same floating-point results as the serial one.
pub(crate) fn for_each_chunk_mut<T, F>(data: &mut [T], chunk_len: usize, body: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Send + Sync,
{
    if chunk_len == 0 {
        return;
    }
    if may_split() && data.len() >= MIN_PARALLEL_LEN && data.len() > chunk_len {
        data.par_chunks_mut(chunk_len).enumerate().for_each(|(i, chunk)| body(i, chunk));
    } else {
        data.chunks_mut(chunk_len).enumerate().for_each(|(i, chunk)| body(i, chunk));
    }
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
    if a_chunk_len == 0 || b_chunk_len == 0 {
        return;
    }
    if may_split() && a.len() >= MIN_PARALLEL_LEN && a.len() > a_chunk_len {
        a.par_chunks_mut(a_chunk_len)
            .zip(b.par_chunks_mut(b_chunk_len))
            .enumerate()
            .for_each(|(i, (a, b))| body(i, a, b));
    } else {
        a.chunks_mut(a_chunk_len)
            .zip(b.chunks_mut(b_chunk_len))
            .enumerate()
            .for_each(|(i, (a, b))| body(i, a, b));
    }
}

/// Calls `body(index, chunk)` for each `chunk_len`-sized chunk of `data` and stops at the first
/// error. For heavy bodies (a group of images: im2col, a GEMM, a reorder): the chunks go to rayon's
/// pool whenever there are two or more of them and more than one thread, however small `data` is.
pub(crate) fn try_for_each_chunk_mut<T, E, F>(data: &mut [T], chunk_len: usize, body: F) -> Result<(), E>
where
    T: Send,
    E: Send,
    F: Fn(usize, &mut [T]) -> Result<(), E> + Send + Sync,
{
    if chunk_len == 0 {
        return Ok(());
    }
    if may_split() && data.len() > chunk_len {
        data.par_chunks_mut(chunk_len).enumerate().try_for_each(|(i, chunk)| body(i, chunk))
    } else {
        data.chunks_mut(chunk_len).enumerate().try_for_each(|(i, chunk)| body(i, chunk))
    }
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
    if a_chunk_len == 0 || b_chunk_len == 0 {
        return Ok(());
    }
    if may_split() && a.len() > a_chunk_len {
        a.par_chunks_mut(a_chunk_len)
            .zip(b.par_chunks_mut(b_chunk_len))
            .enumerate()
            .try_for_each(|(i, (a, b))| body(i, a, b))
    } else {
        a.chunks_mut(a_chunk_len)
            .zip(b.chunks_mut(b_chunk_len))
            .enumerate()
            .try_for_each(|(i, (a, b))| body(i, a, b))
    }
}
