//! A safe front for the `gemm` crate's matrix product (the routine behind candle's CPU matmul),
//! used by the convolution op: strided read-only matrices and one checked call.

use crate::error::{Error, Result};
use crate::ops::threads;

/// A read-only matrix: element `(i, j)` is `data[i·row_stride + j·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// `data` read as a row-major `rows × cols` matrix.
    #[inline]
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transpose: the same numbers, with rows and columns (and their strides) swapped.
    #[inline]
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element the strides can reach lies inside `data`.
    #[inline]
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = lhs · rhs` with `dst` row-major `[lhs.rows, rhs.cols]`, by the `gemm` crate (the routine
/// behind candle's CPU matmul), on as many threads as `RAYON_NUM_THREADS` allows.
#[inline]
pub(crate) fn gemm_into(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>) -> Result<()> {
    gemm_with(dst, lhs, rhs, threads::gemm_parallelism())
}

/// [`gemm_into`] on this thread alone: for products too small to be worth handing out (the fully
/// connected layers' `[64,320]·[320,50]`), where waking another thread costs more than it saves.
#[inline]
pub(crate) fn gemm_into_serial(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>) -> Result<()> {
    gemm_with(dst, lhs, rhs, gemm::Parallelism::None)
}

fn gemm_with(
    dst: &mut [f32],
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    parallelism: gemm::Parallelism,
) -> Result<()> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k || dst.len() != m * n || !lhs.in_bounds() || !rhs.in_bounds() {
        return Err(Error::Shape(format!(
            "matrix product of [{m},{k}] and [{},{n}] into {} elements does not fit",
            rhs.rows,
            dst.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        dst.fill(0.0);
        return Ok(());
    }
    // SAFETY: the checks above guarantee that every index `gemm` forms — (i, p) of lhs, (p, j) of
    // rhs, (i, j) of dst for i < m, p < k, j < n — lies inside the corresponding slice, and `dst`
    // is borrowed mutably so it cannot alias the inputs. With `read_dst = false` the old contents
    // of `dst` are ignored (gemm computes dst = alpha·dst + beta·lhs·rhs; beta = 1).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_into_multiplies_and_transposes() {
        // [2,3] · [3,2] and the same product written with transposed views.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut direct = [0.0; 4];
        gemm_into(&mut direct, MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 2)).unwrap();
        let expected: Vec<f32> = (0..2)
            .flat_map(|i| (0..2).map(move |j| (0..3).map(|p| a[i * 3 + p] * b[p * 2 + j]).sum::<f32>()))
            .collect();
        assert_eq!(direct.to_vec(), expected);
        // (bᵀ·aᵀ)ᵀ = a·b: bᵀ is b's storage read column-first.
        let mut swapped = [0.0; 4];
        gemm_into(&mut swapped, MatRef::row_major(&b, 3, 2).t(), MatRef::row_major(&a, 2, 3).t()).unwrap();
        assert_eq!(swapped, [expected[0], expected[2], expected[1], expected[3]]);
        let err =
            gemm_into(&mut [0.0; 3], MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 2)).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }
}
