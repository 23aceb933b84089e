//! Reusable buffers for the ops' temporary matrices.
//!
//! Every training step needs the same big temporaries again: the im2col matrices (3.7 MiB for
//! conv1, 4 MiB for conv2 at batch 64), the GEMM's channel-major product, the gradient of the
//! columns. Freshly allocated, each of them is new memory for the operating system to hand over
//! page by page — a page fault and a page cleared to zero every 4 KiB. Measured on this crate's
//! LeNet step, page faults took about a third of the CPU time. So the ops borrow these buffers
//! from a small pool and give them back when done; from the second step on, no page is faulted in
//! for them again.
//!
//! A borrowed buffer holds whatever its last user left in it: every op that borrows one
//! overwrites all of it (im2col writes every entry, the GEMM writes its whole destination).

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers waiting to be reused.
static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// At most this many buffers wait in the pool...
const MAX_KEPT: usize = 6;
/// ...and none larger than this (an evaluation batch's im2col matrix is not kept).
const MAX_KEPT_BYTES: usize = 32 << 20;

/// A buffer of `f32` borrowed from the pool; it goes back when dropped.
///
/// `buf.len()` is how much of the allocation has ever been written (and so may be read); `len` is
/// how much of it this borrower asked for. Keeping the two apart means a buffer once used for a big
/// matrix and then for a small one is not cleared again when the big one comes back: that zeroing of
/// memory the op overwrites anyway was about 1 % of a training step (a profile's `memset` share
/// went from 6.7 % to 5.4 %; the rest is candle's zeroed gradient buffers).
pub(crate) struct Scratch {
    buf: Vec<f32>,
    len: usize,
}

impl Scratch {
    /// A buffer of `len` values with unspecified contents, which the caller must overwrite.
    pub(crate) fn take(len: usize) -> Self {
        let reused = {
            let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
            // The smallest buffer that is large enough, so big ones stay for big requests.
            let best =
                (0..free.len()).filter(|&i| free[i].capacity() >= len).min_by_key(|&i| free[i].capacity());
            best.map(|i| free.swap_remove(i))
        };
        let mut buf = reused.unwrap_or_else(|| Vec::with_capacity(len));
        if buf.len() < len {
            // Only the part never written before is initialised (zeroed, as Rust requires).
            buf.resize(len, 0.0);
        }
        Scratch { buf, len }
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[..self.len]
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.capacity() * size_of::<f32>() > MAX_KEPT_BYTES {
            return;
        }
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.push(buf);
        if free.len() > MAX_KEPT {
            // Let the smallest go: it is the cheapest to allocate again.
            if let Some(smallest) = (0..free.len()).min_by_key(|&i| free[i].capacity()) {
                free.swap_remove(smallest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_the_asked_length_and_come_back() {
        // Other tests borrow buffers concurrently, so only properties of our own buffers are checked.
        let mut a = Scratch::take(1000);
        assert_eq!(a.len(), 1000);
        a.fill(7.0);
        drop(a);
        let b = Scratch::take(10);
        assert_eq!(b.len(), 10);
        let c = Scratch::take(5000);
        assert_eq!(c.len(), 5000);
        let too_big = Scratch::take(MAX_KEPT_BYTES / size_of::<f32>() + 1);
        assert_eq!(too_big.len(), MAX_KEPT_BYTES / size_of::<f32>() + 1);
        drop(too_big);
        let free = FREE.lock().unwrap();
        assert!(free.iter().all(|buf| buf.capacity() * size_of::<f32>() <= MAX_KEPT_BYTES));
        assert!(free.len() <= MAX_KEPT);
    }
}
