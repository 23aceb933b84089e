//! This CPU's f32 peak per core, measured instead of assumed: a loop of independent fused
//! multiply-adds (FMAs) on one thread, with 512-bit vectors (AVX-512) and with 256-bit ones (AVX2).
//!
//! `scripts/bench/run` turns its result into the benchmark's "% of peak" column. The FMA units per
//! core cannot be read from a flag: an Intel Xeon Gold 6xxx has two 512-bit units, many Xeon
//! Silver/Gold 5xxx parts one, and AMD's Zen 4 executes a 512-bit FMA on two 256-bit halves (one
//! 512-bit FMA per cycle). What the loop sustains, divided by the clock, says which it is.
//!
//! ```text
//! cargo run --release --example fma_peak            # a line per width, and the verdict
//! cargo run --release --example fma_peak -- --json  # {"ghz": …, "lanes": 16, "fma_units": 2, …}
//! ```
//!
//! Each loop keeps 16 accumulators in flight, enough to fill two FMA units of latency 4 (8 would
//! do); the best of 5 runs of about 0.1 s each is kept. The clock is the "cpu MHz" of
//! /proc/cpuinfo, which in a virtual machine is the nominal one: a CPU that runs faster under turbo
//! comes out with a little more than its unit count, and the count is rounded to the nearest.

use std::time::Instant;

const CHAINS: usize = 16;

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let ghz = clock_ghz();
    let mut widths: Vec<(&str, usize, f64)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            widths.push(("avx512", 16, best_gflops(x86::fma512, 16)));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            widths.push(("avx2", 8, best_gflops(x86::fma256, 8)));
        }
    }
    let Some(&(isa, lanes, gflops)) = widths.first() else {
        if json {
            println!("{{\"ghz\": {ghz:.3}, \"isa\": null}}");
        } else {
            println!("no AVX2/AVX-512 FMA on this CPU: no measured peak");
        }
        return;
    };
    // FMA units of this width per core: FLOPs per cycle / (lanes × 2 FLOPs per FMA).
    let per_cycle = gflops / ghz;
    let units = (per_cycle / (lanes as f64 * 2.0)).round().max(1.0) as u32;
    if json {
        let all: Vec<String> = widths
            .iter()
            .map(|(isa, lanes, g)| format!("{{\"isa\": \"{isa}\", \"lanes\": {lanes}, \"gflops\": {g:.2}}}"))
            .collect();
        println!(
            "{{\"ghz\": {ghz:.3}, \"isa\": \"{isa}\", \"lanes\": {lanes}, \"fma_units\": {units}, \
             \"gflops_per_core\": {gflops:.2}, \"measured\": [{}]}}",
            all.join(", ")
        );
    } else {
        for (isa, lanes, g) in &widths {
            println!(
                "{isa:>6} ({:>3}-bit): {g:7.2} GFLOP/s on one core = {:.1} FLOP per cycle at {ghz:.2} GHz",
                lanes * 32,
                g / ghz
            );
        }
        println!(
            "peak per core: {units} FMA unit(s) of {} bits ({lanes} lanes) x {ghz:.2} GHz x 2 = {:.1} GFLOP/s",
            lanes * 32,
            f64::from(units) * lanes as f64 * 2.0 * ghz
        );
    }
}

/// The best rate of 5 runs of `kernel` (`lanes` f32 per vector), in GFLOP/s, each run about 0.1 s.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn best_gflops(kernel: fn(u64) -> f32, lanes: usize) -> f64 {
    // Calibrate: grow the iteration count until one run takes 0.1 s.
    let mut iters = 1u64 << 16;
    loop {
        let t = Instant::now();
        std::hint::black_box(kernel(std::hint::black_box(iters)));
        if t.elapsed().as_secs_f64() > 0.1 || iters > 1 << 34 {
            break;
        }
        iters *= 2;
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(kernel(std::hint::black_box(iters)));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let flops = iters as f64 * CHAINS as f64 * lanes as f64 * 2.0; // an FMA is two FLOPs
    flops / best / 1e9
}

/// The "cpu MHz" of /proc/cpuinfo, in GHz (2.0 when it cannot be read).
fn clock_ghz() -> f64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .map_or(2.0, |mhz| mhz / 1000.0)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use std::arch::x86_64::*;

    /// `iters` rounds of 16 independent 512-bit FMAs; returns a sum so nothing is optimised away.
    pub fn fma512(iters: u64) -> f32 {
        // SAFETY: only called after `is_x86_feature_detected!("avx512f")`.
        unsafe { fma512_inner(iters) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn fma512_inner(iters: u64) -> f32 {
        let a = _mm512_set1_ps(0.999_999);
        let b = _mm512_set1_ps(1e-7);
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    /// `iters` rounds of 16 independent 256-bit FMAs.
    pub fn fma256(iters: u64) -> f32 {
        // SAFETY: only called after `is_x86_feature_detected!("avx2")` and `("fma")`.
        unsafe { fma256_inner(iters) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma256_inner(iters: u64) -> f32 {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut out = [0f32; 8];
        let mut sum = 0.0;
        for x in acc {
            // SAFETY: `out` holds exactly the 8 f32 one store writes.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), x) };
            sum += out.iter().sum::<f32>();
        }
        sum
    }
}
