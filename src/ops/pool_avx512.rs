//! LeNet's 2×2 max-pool + ReLU with AVX-512: sixteen windows at a time, with the same results as the
//! scalar loop (`pool::pool_map_2x2`), winners included.
//!
//! The scalar loop takes one window at a time: four loads, three comparisons and selects, the
//! clamp. Here one output row's windows go through together. A pair of input rows holds the windows
//! side by side; each row is loaded as 32 values (two registers) and split into its even and odd
//! columns (one `vpermt2ps` each), so that four registers hold, for 16 windows, their top-left,
//! top-right, bottom-left and bottom-right values. Then the scalar loop's steps, on 16 lanes:
//!
//! ```text
//!   best = top-left;  at = the top-left's position
//!   for v in [top-right, bottom-left, bottom-right]:   (the scalar loop's order)
//!       where v > best:  best = v, at = v's position   (a mask, no branch)
//!   y = best where best > 0, else 0; winner = at, flagged CLAMPED where the ReLU clamped
//! ```
//!
//! The same comparisons in the same order: a later value wins only if it is strictly larger, so the
//! first of equal maxima wins, and a NaN never wins (every comparison with it is false) — exactly as
//! in the scalar loop. Rows shorter than 16 windows (conv2's maps are 8 wide: 4 windows) use masked
//! loads and stores, which read and write nothing outside the lanes they need.
//!
//! Measured in the training epoch (batch 64, one thread, Intel Xeon with AVX-512): the scalar loop
//! was 7 % of all samples.

use crate::ops::pool::CLAMPED;

/// Pools one feature map `width` wide (its rows in `plane`) by 2×2 windows into `y` and `winners`
/// (`out_w` wide, as many rows as they hold), like `pool::pool_map_2x2`. Returns `false` without
/// doing anything on a CPU without AVX-512, where the caller runs the scalar loop.
pub(crate) fn pool_map_2x2(
    plane: &[f32],
    width: usize,
    out_w: usize,
    y: &mut [f32],
    winners: &mut [u32],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            let out_h = y.len().checked_div(out_w).unwrap_or(0);
            // What the loads and stores below rely on; the pooling geometry guarantees it.
            assert!(
                2 * out_w <= width
                    && plane.len() >= 2 * out_h * width
                    && y.len() == out_h * out_w
                    && winners.len() == y.len()
                    && plane.len() <= CLAMPED as usize,
                "pool_map_2x2: a {width}-wide map of {} values does not hold {} windows {out_w} wide",
                plane.len(),
                y.len()
            );
            // SAFETY: the CPU has AVX-512 (checked above), and the assertion keeps every lane the
            // function loads or stores inside `plane`, `y` and `winners`.
            unsafe { x86::pool_map_2x2(plane, width, out_w, out_h, y, winners) };
            return true;
        }
    }
    let _ = (plane, width, out_w, y, winners);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::CLAMPED;

    /// The lowest `n` lanes (at most 16) of a mask.
    #[inline(always)]
    fn lanes(n: usize) -> __mmask16 {
        if n >= 16 { 0xFFFF } else { (1u16 << n) - 1 }
    }

    /// # Safety
    /// The CPU must have AVX-512F, and `plane` must hold `2·out_h` rows of `width ≥ 2·out_w` values,
    /// `y` and `winners` `out_h·out_w` values each.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pool_map_2x2(
        plane: &[f32],
        width: usize,
        out_w: usize,
        out_h: usize,
        y: &mut [f32],
        winners: &mut [u32],
    ) {
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        let one = _mm512_set1_epi32(1);
        let down = _mm512_set1_epi32(width as i32);
        let clamped = _mm512_set1_epi32(CLAMPED as i32);
        for oy in 0..out_h {
            let top = 2 * oy * width;
            for ox in (0..out_w).step_by(16) {
                let n = (out_w - ox).min(16);
                let (lo, hi) = (lanes(2 * n), lanes((2 * n).saturating_sub(16)));
                let first = top + 2 * ox;
                // SAFETY (the loads): lanes `lo`/`hi` cover input columns 2·ox … 2·(ox+n)−1 of rows
                // 2·oy and 2·oy+1, inside `plane` by the caller's contract; masked-off lanes are
                // not read.
                let (t_lo, t_hi, b_lo, b_hi) = unsafe {
                    let p = plane.as_ptr().add(first);
                    (
                        _mm512_maskz_loadu_ps(lo, p),
                        _mm512_maskz_loadu_ps(hi, p.add(16)),
                        _mm512_maskz_loadu_ps(lo, p.add(width)),
                        _mm512_maskz_loadu_ps(hi, p.add(width + 16)),
                    )
                };
                let (top_left, top_right) =
                    (_mm512_permutex2var_ps(t_lo, even, t_hi), _mm512_permutex2var_ps(t_lo, odd, t_hi));
                let (bottom_left, bottom_right) =
                    (_mm512_permutex2var_ps(b_lo, even, b_hi), _mm512_permutex2var_ps(b_lo, odd, b_hi));
                // The top-left values' positions in the map: first + 2·lane (`even` holds 2·lane).
                let at = _mm512_add_epi32(_mm512_set1_epi32(first as i32), even);
                let (mut best, mut best_at) = (top_left, at);
                let contenders = [
                    (top_right, _mm512_add_epi32(at, one)),
                    (bottom_left, _mm512_add_epi32(at, down)),
                    (bottom_right, _mm512_add_epi32(_mm512_add_epi32(at, down), one)),
                ];
                for (value, position) in contenders {
                    let larger = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(value, best);
                    best = _mm512_mask_mov_ps(best, larger, value);
                    best_at = _mm512_mask_mov_epi32(best_at, larger, position);
                }
                // relu: a non-positive maximum becomes 0 and passes no gradient back.
                let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(best, _mm512_setzero_ps());
                let pooled = _mm512_maskz_mov_ps(positive, best);
                let winner = _mm512_mask_mov_epi32(_mm512_or_si512(best_at, clamped), positive, best_at);
                let out = lanes(n);
                // SAFETY (the stores): lanes `out` are outputs ox … ox+n−1 of row oy, inside `y` and
                // `winners` by the caller's contract.
                unsafe {
                    _mm512_mask_storeu_ps(y.as_mut_ptr().add(oy * out_w + ox), out, pooled);
                    _mm512_mask_storeu_epi32(
                        winners.as_mut_ptr().add(oy * out_w + ox).cast::<i32>(),
                        out,
                        winner,
                    );
                }
            }
        }
    }
}
