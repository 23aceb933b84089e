//! Exercises of chapter 8, "Making LeNet fast": the size of the im2col matrices, and the input
//! gradient of a convolution written without im2col or col2im.

use lenet_tutor::model::LeNet;
use lenet_tutor::ops::im2col::ConvGeometry;
use lenet_tutor::ops::{self, InputGrad};
use lenet_tutor::{Result, Tensor, Var};

// ANCHOR: im2col_sizes
/// The im2col matrix of one conv layer: `patches = B·OH·OW` rows (one per output position of the
/// whole batch), `patch_len = C·FH·FW` columns (one per kernel tap), and its size in bytes as `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Im2colSize {
    pub patches: usize,
    pub patch_len: usize,
    pub bytes: usize,
}

/// The im2col matrix of a convolution of `[B,C,H,W]` with `K` kernels of `C×F×F`, no padding,
/// stride 1 (LeNet's layers).
pub fn im2col_size(batch: usize, channels: usize, height: usize, width: usize, f: usize) -> Im2colSize {
    let (out_h, out_w) = (height - f + 1, width - f + 1); // OH = (H + 2·0 − F)/1 + 1
    let patch_len = channels * f * f;
    let patches = batch * out_h * out_w;
    Im2colSize { patches, patch_len, bytes: patches * patch_len * std::mem::size_of::<f32>() }
}

/// LeNet's two im2col matrices for a batch: conv1 sees `[B,1,28,28]`, conv2 sees `[B,10,12,12]`.
pub fn lenet_im2col_sizes(batch: usize) -> [Im2colSize; 2] {
    [im2col_size(batch, 1, 28, 28, 5), im2col_size(batch, 10, 12, 12, 5)]
}
// ANCHOR_END: im2col_sizes

#[test]
fn im2col_sizes_match_the_crate_and_the_model() {
    let [conv1, conv2] = lenet_im2col_sizes(64);
    assert_eq!((conv1.patches, conv1.patch_len), (36_864, 25));
    assert_eq!((conv2.patches, conv2.patch_len), (4_096, 250));
    // 3.7 MB and 4.1 MB at batch 64: 18× and 11× the size of the layer's input.
    assert_eq!(conv1.bytes, 3_686_400);
    assert_eq!(conv2.bytes, 4_096_000);
    assert_eq!(conv1.bytes / (64 * 28 * 28 * 4), 18); // each pixel copied up to 25 times, 18.4 on average
    assert_eq!(conv2.bytes / (64 * 10 * 12 * 12 * 4), 11); // up to 25 times, 11.1 on average

    // The same numbers from the geometry the crate's kernels use.
    for (batch, channels, size, kernels) in [(64, 1, 28, 10), (64, 10, 12, 20), (7, 3, 9, 4)] {
        let g = ConvGeometry::new((batch, channels, size, size), (kernels, channels, 5, 5), 0, 1).unwrap();
        let mine = im2col_size(batch, channels, size, size, 5);
        assert_eq!((mine.patches, mine.patch_len), (g.columns(), g.patch_len()));
    }

    // And the rows are the output positions of the real model: B·OH·OW of conv1's and conv2's
    // outputs.
    let device = lenet_tutor::device::auto();
    let model = LeNet::new(1, &device).unwrap();
    let images = Tensor::zeros((3, 1, 28, 28), lenet_tutor::DType::F32, &device).unwrap();
    let acts = model.activations(&images).unwrap();
    let [c1, c2] = lenet_im2col_sizes(3);
    let positions = |t: &Tensor| t.dims()[0] * t.dims()[2] * t.dims()[3];
    assert_eq!(c1.patches, positions(&acts.conv1));
    assert_eq!(c2.patches, positions(&acts.conv2));
}

// ANCHOR: naive_input_grad
/// The input gradient of a one-channel convolution (stride 1, no padding), straight from the
/// definition. `kernels: [K][FH][FW]`, `grad_y: [K][OH][OW]` (the loss's gradient with respect to
/// each output), returns `dx: [H][W]` with `H = OH + FH − 1`.
///
/// Output `(k, oy, ox)` is `Σ w[k][fy][fx] · x[oy+fy][ox+fx] + bias`, so pixel `x[iy][ix]` enters
/// it with weight `w[k][iy−oy][ix−ox]`; its gradient adds that weight times the output's gradient
/// over every output that reads it.
pub fn naive_input_grad(kernels: &[Vec<Vec<f32>>], grad_y: &[Vec<Vec<f32>>]) -> Vec<Vec<f32>> {
    let (kh, kw) = (kernels[0].len(), kernels[0][0].len());
    let (oh, ow) = (grad_y[0].len(), grad_y[0][0].len());
    let (h, w) = (oh + kh - 1, ow + kw - 1);
    let mut dx = vec![vec![0f32; w]; h];
    for (kernel, dy) in kernels.iter().zip(grad_y) {
        for (oy, dy_row) in dy.iter().enumerate() {
            for (ox, &g) in dy_row.iter().enumerate() {
                for (fy, kernel_row) in kernel.iter().enumerate() {
                    for (fx, &weight) in kernel_row.iter().enumerate() {
                        dx[oy + fy][ox + fx] += weight * g;
                    }
                }
            }
        }
    }
    dx
}
// ANCHOR_END: naive_input_grad

/// `[n]` values of a smooth wave: different everywhere, the same on every run.
fn wave(n: usize, step: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * step).sin()).collect()
}

/// A 2-D image as rows of pixels.
type Image = Vec<Vec<f32>>;

/// `ops::conv2d_fast`'s gradient of `x: [1,1,h,w]` for `loss = Σ y ⊙ r`, next to the naive one.
fn both_input_grads(k: usize, h: usize, w: usize, f: usize) -> Result<(Image, Image)> {
    let device = lenet_tutor::device::auto();
    let (oh, ow) = (h - f + 1, w - f + 1);
    let x = Var::from_vec(wave(h * w, 0.7), (1, 1, h, w), &device)?;
    let weight = Tensor::from_vec(wave(k * f * f, 0.3), (k, 1, f, f), &device)?;
    let bias = Tensor::from_vec(wave(k, 1.1), k, &device)?;
    let r = Tensor::from_vec(wave(k * oh * ow, 0.19), (1, k, oh, ow), &device)?;
    let y = ops::conv2d_fast(&x, &weight, Some(&bias), 0, 1, InputGrad::Needed)?;
    let grads = (y * &r)?.sum_all()?.backward()?;
    let from_crate = grads.get(&x).expect("conv2d computes the input gradient").squeeze(0)?.squeeze(0)?;
    // dL/dy = r: the gradient that arrives at the layer.
    let naive = naive_input_grad(&weight.squeeze(1)?.to_vec3()?, &r.squeeze(0)?.to_vec3()?);
    Ok((from_crate.to_vec2()?, naive))
}

#[test]
fn naive_input_grad_matches_the_crates_col2im() {
    for (k, h, w, f) in [(1, 4, 4, 2), (3, 6, 5, 3), (10, 28, 28, 5), (20, 12, 12, 5)] {
        let (from_crate, naive) = both_input_grads(k, h, w, f).unwrap();
        assert_eq!(naive.len(), h);
        assert_eq!(naive[0].len(), w);
        for (row_crate, row_naive) in from_crate.iter().zip(&naive) {
            for (a, b) in row_crate.iter().zip(row_naive) {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "k={k} {h}x{w} f={f}: {a} vs {b}");
            }
        }
    }
    // The corners are read by one output per kernel only; the centre by many.
    let kernels = vec![vec![vec![1f32; 3]; 3]];
    let ones = vec![vec![vec![1f32; 4]; 4]];
    let dx = naive_input_grad(&kernels, &ones);
    assert_eq!(dx[0][0], 1.0);
    assert_eq!(dx[2][2], 9.0);
    assert_eq!(dx[0][2], 3.0);
}
