//! The convolution ops' errors, their groups of images, and their fallback to candle.

use candle_core::{DType, Device, Tensor, Var};

use super::forward::KEEP_COLS_MAX_BYTES;
use super::groups::images_per_group;
use super::*;

#[test]
fn bad_shapes_are_clear_errors_on_both_paths() {
    let dev = Device::Cpu;
    let x = Tensor::zeros((2, 3, 8, 8), DType::F32, &dev).unwrap();
    let w = Tensor::zeros((4, 2, 3, 3), DType::F32, &dev).unwrap();
    for imp in [crate::ops::OpsImpl::Fast, crate::ops::OpsImpl::Candle] {
        let err = imp.conv2d(&x, &w, None, 0, 1, InputGrad::Needed).unwrap_err().to_string();
        assert!(err.contains("depth 2"), "{err}");
    }
    let w = Tensor::zeros((4, 3, 3, 3), DType::F32, &dev).unwrap();
    let bias = Tensor::zeros(3, DType::F32, &dev).unwrap();
    let err = conv2d_fast(&x, &w, Some(&bias), 0, 1, InputGrad::Needed).unwrap_err().to_string();
    assert!(err.contains("bias must have shape [4]"), "{err}");
    let flat = Tensor::zeros((2, 192), DType::F32, &dev).unwrap();
    let err = conv2d_fast(&flat, &w, None, 0, 1, InputGrad::Needed).unwrap_err().to_string();
    assert!(err.contains("rank 4"), "{err}");
}

#[test]
fn batches_go_through_in_groups_with_the_same_result() {
    // Every op works a group of images at a time. A training-sized batch keeps its columns
    // (written group by group into one matrix) for the weight gradient; a batch whose im2col
    // matrix exceeds KEEP_COLS_MAX_BYTES keeps none, and the backward pass rebuilds them.
    // Output and gradients must not notice either way. The batch sizes leave a smaller last group.
    let dev = Device::Cpu;
    let mut rng = crate::rng::stream(7, crate::rng::streams::EXPERIMENT);
    let mut uniform = |dims: &[usize]| {
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
        Tensor::from_vec(values, dims, &dev).unwrap()
    };
    for (batch, padding, stride, kept) in
        [(41, 0, 1, true), (301, 0, 1, false), (253, 1, 1, false), (1031, 2, 2, false)]
    {
        let x = Var::from_tensor(&uniform(&[batch, 1, 28, 28])).unwrap();
        let w = Var::from_tensor(&uniform(&[6, 1, 5, 5])).unwrap();
        let bias = Var::from_tensor(&uniform(&[6])).unwrap();
        let g = ConvGeometry::new(x.dims4().unwrap(), w.dims4().unwrap(), padding, stride).unwrap();
        let cols_bytes = g.columns() * g.patch_len() * size_of::<f32>();
        assert_eq!(cols_bytes <= KEEP_COLS_MAX_BYTES, kept, "{g:?}");
        let per_group = images_per_group(&g);
        assert!(per_group < batch && batch % per_group != 0, "batch {batch}: groups of {per_group}");

        let fast = conv2d_fast(&x, &w, Some(&bias), padding, stride, InputGrad::Needed).unwrap();
        let reference = conv2d_candle(&x, &w, Some(&bias), padding, stride).unwrap();
        let max_diff = |a: &Tensor, b: &Tensor| {
            (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
        };
        assert!(max_diff(&fast, &reference) < 1e-4, "output, batch {batch}");

        // A fixed random output gradient, so every position matters differently.
        let probe = uniform(fast.dims());
        let fast_grads = (&fast * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let reference_grads = (&reference * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in [("input", &x), ("weight", &w), ("bias", &bias)] {
            let (f, r) = (fast_grads.get(var).unwrap(), reference_grads.get(var).unwrap());
            // Sums over hundreds of thousands of positions: compare relative to their size.
            let scale = r.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap().max(1.0);
            assert!(max_diff(f, r) / scale < 1e-4, "{name} gradient, batch {batch}");
        }
    }
}

#[test]
fn f64_falls_back_to_candle_and_still_trains() {
    let dev = Device::Cpu;
    let x = Tensor::ones((1, 1, 4, 4), DType::F64, &dev).unwrap();
    let w = Var::ones((2, 1, 3, 3), DType::F64, &dev).unwrap();
    let y = conv2d_fast(&x, &w, None, 1, 1, InputGrad::Skip).unwrap();
    assert_eq!(y.dims(), [1, 2, 4, 4]);
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&w).is_some());
}
