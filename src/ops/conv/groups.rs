//! What every op of the convolution shares: the batch cut into groups of images, and the layout of
//! the im2col rows a group builds.

use crate::ops::gemm::MatRef;
use crate::ops::im2col::ConvGeometry;

/// Most bytes of im2col matrix one group of images builds at a time: 1 MiB.
///
/// Every op of the convolution works through the batch a **group of images** at a time: im2col of
/// the group, then its GEMM (and in the backward pass, its share of the weight gradient, or its
/// columns' gradient and col2im). Two reasons:
///
/// * **Cache.** A group's columns fit in a core's 1 MiB L2 cache, so the GEMM reads back from cache
///   what im2col has just written, instead of from memory. At batch 1000 (the evaluation batch) the
///   whole batch's columns are 57.6 MB (54.9 MiB) for conv1 and 64 MB (61.0 MiB) for conv2: built in one piece they were
///   also too big for the buffer pool and for glibc's heap, so every batch faulted in fresh memory.
///   Measured on the evaluation pass (10,000 Fashion-MNIST images, batch 1000, one thread): 2.1–2.4 s
///   in one piece, a quarter of it page faults and page clearing; 0.55–0.7 s in groups (PyTorch:
///   1.4 s). Groups of 0.5, 2 and 4 MiB measured the same or slower.
/// * **Threads.** The groups are what the threads share: each thread takes whole groups and does
///   everything for them serially. A training batch of 64 is four groups of 16, and splitting one
///   small GEMM between two threads gained less than giving each thread its own.
///
/// The groups depend only on the sizes, never on the thread count, and every sum over groups is
/// taken in group order: the results are the same bits with one thread or many.
const GROUP_COLS_BYTES: usize = 1 << 20;

/// The rows of the ops' im2col matrices start a multiple of this many values apart (16 `f32`: one
/// AVX-512 register, one 64-byte cache line).
///
/// The weight gradient's GEMM reads `cols` transposed, one row per kernel tap. The `gemm` crate
/// reads such an operand where it lies only if its row count is a multiple of its SIMD width;
/// LeNet's 25 and 250 taps are not, so it first copied every `cols` matrix into a packed layout of
/// its own — a tenth of a training step, measured. With the rows padded to 32 and 256 values (the
/// padding is never written nor read into anything that is kept: the weight gradient's extra rows
/// are dropped), that copy goes away.
const COLS_ROW_ALIGN: usize = 16;

/// Distance between two rows of the ops' im2col matrices (see [`COLS_ROW_ALIGN`]).
pub(super) fn cols_stride(g: &ConvGeometry) -> usize {
    g.patch_len().next_multiple_of(COLS_ROW_ALIGN)
}

/// The im2col matrix `[rows, C·FH·FW]` of `cols`, whose rows are [`cols_stride`] apart.
pub(super) fn cols_matrix<'a>(cols: &'a [f32], g: &ConvGeometry, rows: usize) -> MatRef<'a> {
    MatRef { data: cols, rows, cols: g.patch_len(), row_stride: cols_stride(g), col_stride: 1 }
}

/// Images per group: as many as keep a group's im2col matrix within [`GROUP_COLS_BYTES`] (at least
/// one), evened out so that all groups but the last have that size and the last is not much smaller
/// (a batch of 64 with room for 18 images per group: four groups of 16, not 18, 18, 18 and 10).
pub(super) fn images_per_group(g: &ConvGeometry) -> usize {
    let cols_bytes_per_image = (g.positions() * g.patch_len() * size_of::<f32>()).max(1);
    let most = (GROUP_COLS_BYTES / cols_bytes_per_image).max(1);
    let groups = g.batch.div_ceil(most).max(1);
    g.batch.div_ceil(groups).max(1)
}

/// The geometry of the group of images that starts at image `first` (`per_group` images, or
/// fewer for the last group).
pub(super) fn group_geometry(g: &ConvGeometry, first: usize, per_group: usize) -> ConvGeometry {
    ConvGeometry { batch: per_group.min(g.batch - first), ..*g }
}

/// The columns of `G = [K, B·OH·OW]` that belong to the group starting at image `first`
/// (`columns` of them): a `[K, columns]` block of `G`, its rows `B·OH·OW` apart.
pub(super) fn group_columns<'a>(
    grad_cm: &'a [f32],
    g: &ConvGeometry,
    first: usize,
    columns: usize,
) -> MatRef<'a> {
    MatRef {
        data: &grad_cm[first * g.positions()..],
        rows: g.out_channels,
        cols: columns,
        row_stride: g.columns(),
        col_stride: 1,
    }
}
