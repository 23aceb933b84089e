//! Where a third of the fast LeNet step went: page faults, and the one setting that removes them.
//!
//! glibc's `malloc` hands big blocks (from 128 KiB, rising with use up to 32 MiB) straight to the
//! operating system when they are freed, and trims the top of its heap whenever more than a
//! little is free there. A training step allocates and frees dozens of tensors of a few hundred
//! kilobytes to a few megabytes, so every step asks the kernel for fresh memory again, and the
//! kernel maps it in one 4 KiB page at a time, zeroing each: a *page fault* per page.
//!
//! Measured on this crate's LeNet step (batch 64, one thread, fast ops): 100 steps made 227,000
//! page faults — 2,300 per step, 9 MiB of fresh memory — and spent about a third of their CPU time
//! on them. The ops' own temporaries now come from a pool (`ops::scratch`), which brought it
//! to 142,000; the tensors candle allocates account for the rest. With [`reuse_freed_memory`] the
//! same 100 steps make about 6,000 page faults in all. candle's own ops benefit too, though less
//! (about 10%), since their time goes mostly into arithmetic.
//!
//! The same effect without code: start the program with
//! `MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456` in the environment.

/// Tells glibc's allocator to keep freed memory for reuse instead of returning it to the
/// operating system: blocks up to 32 MiB come from the heap, and up to 256 MiB of freed heap is
/// kept. Call it once at start-up, before the first tensor (like [`crate::device::set_threads`]).
///
/// Returns whether the setting was applied: `false` on systems without glibc (macOS, musl,
/// Windows), where the allocators behave differently and there is nothing to do.
pub fn reuse_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems.
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        const TRIM_THRESHOLD: libc::c_int = 256 << 20;
        // SAFETY: mallopt only changes two tuning parameters of the allocator; it is safe to call at
        // any time, from any thread, and returns 1 on success.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_the_settings() {
        assert!(super::reuse_freed_memory());
    }
}
