//! Learning a kernel: recover an unknown kernel from image/output pairs with autograd and SGD
//! (end of chapter "Pooling", the bridge to chapter "LeNet on MNIST").
//!
//! Chapters 1–5 used kernels designed by hand. A CNN *learns* its kernels instead, and the smallest
//! case shows how: take images, convolve them with some kernel we pretend not to know (Sobel x, say),
//! and hand only the pairs (image, output) to [`learn_kernel`]. It starts from a kernel of zeros,
//! measures how far its own outputs are from the given ones (the mean squared error), lets candle's
//! autograd compute the gradient of that loss with respect to each of the kernel's weights, and moves
//! the weights a small step against it with the crate's [`Sgd`], the optimiser chapter 6 trains LeNet
//! with. The loss falls and the kernel becomes the one that made the outputs.
//!
//! Training LeNet is the same loop with more weights and a different loss: the targets are the
//! labels, not the outputs of a known kernel.

use candle_core::{DType, Tensor, Var};
use candle_nn::Optimizer;

use crate::error::{Error, Result};
use crate::train::{Sgd, SgdConfig};

/// What [`learn_kernel`] learned.
#[derive(Debug, Clone)]
pub struct LearnedKernel {
    /// The learned kernel, `[size, size]`.
    pub kernel: Tensor,
    /// The mean squared error with the kernel after 0, 1, …, `steps` steps: `steps + 1` values, the
    /// first for the kernel of zeros it starts from.
    pub losses: Vec<f32>,
}

/// Learns a `size × size` kernel from pairs: `images` `[N, 1, H, W]` and `targets`
/// `[N, 1, H − size + 1, W − size + 1]`, the outputs of some unknown kernel on those images
/// (convolution without padding, stride 1). Starts from zeros and takes `steps` steps of plain SGD
/// with learning rate `lr` on the mean squared error between its outputs and `targets`.
///
/// Errors: [`Error::Shape`] when the shapes do not fit together; [`Error::InvalidArgument`] for a
/// kernel size of 0, a learning rate that is not positive, or a loss that stops being a number (a
/// learning rate too large for the data: each step overshoots by more than the last).
pub fn learn_kernel(
    images: &Tensor,
    targets: &Tensor,
    size: usize,
    steps: usize,
    lr: f64,
) -> Result<LearnedKernel> {
    let (n, channels, height, width) = images.dims4().map_err(|_| {
        Error::Shape(format!("learn_kernel: the images must be [N, 1, H, W], got shape {:?}", images.dims()))
    })?;
    if channels != 1 {
        return Err(Error::Shape(format!("learn_kernel: the images must have 1 channel, got {channels}")));
    }
    if size == 0 || size > height || size > width {
        return Err(Error::InvalidArgument(format!(
            "learn_kernel: the kernel size must be between 1 and the image size {height}×{width}, got {size}"
        )));
    }
    let expected = [n, 1, height - size + 1, width - size + 1];
    if targets.dims() != expected {
        return Err(Error::Shape(format!(
            "learn_kernel: a {size}×{size} kernel on images {:?} makes outputs {expected:?}, but the targets are {:?}",
            images.dims(),
            targets.dims()
        )));
    }
    let images = images.to_dtype(DType::F32)?;
    let targets = targets.to_dtype(DType::F32)?;

    // A blank start: no symmetry to break (one kernel, one layer), and no random numbers to seed.
    let kernel = Var::zeros((1, 1, size, size), DType::F32, images.device())?;
    let mut sgd = Sgd::new(vec![kernel.clone()], SgdConfig::new(lr, 0.0)?)?;
    let loss_of = |kernel: &Tensor| -> Result<Tensor> {
        let outputs = images.conv2d(kernel, 0, 1, 1, 1)?; // [N, 1, OH, OW]
        Ok((outputs - &targets)?.sqr()?.mean_all()?)
    };

    let mut losses = Vec::with_capacity(steps + 1);
    for step in 0..=steps {
        let loss = loss_of(kernel.as_tensor())?;
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "learn_kernel: the loss became {value} at step {step}: each step overshot by more than the \
                 last, so the learning rate {lr} is too large for these images; try a smaller one"
            )));
        }
        losses.push(value);
        if step < steps {
            // Autograd: the gradient of the loss with respect to each weight, then one step against it.
            sgd.backward_step(&loss)?;
        }
    }
    Ok(LearnedKernel { kernel: kernel.as_tensor().reshape((size, size))?, losses })
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::conv::kernels;
    use crate::data::{self, DataOptions, DatasetName};

    /// The first `n` training digits of the bundled sample, `[n, 1, 28, 28]` in [0, 1], and their
    /// outputs under `kernel` `[3, 3]`.
    fn pairs(n: usize, kernel: &Tensor) -> (Tensor, Tensor) {
        let splits = data::load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        let bytes = &splits.train.images()[..n * 784];
        let images =
            (Tensor::from_slice(bytes, (n, 1, 28, 28), &Device::Cpu).unwrap().to_dtype(DType::F32).unwrap()
                / 255.0)
                .unwrap();
        let targets = images.conv2d(&kernel.reshape((1, 1, 3, 3)).unwrap(), 0, 1, 1, 1).unwrap();
        (images, targets)
    }

    #[test]
    fn recovers_sobel_x_and_the_loss_falls() {
        let sobel_x = kernels::sobel_x(&Device::Cpu).unwrap();
        let (images, targets) = pairs(8, &sobel_x);
        let learned = learn_kernel(&images, &targets, 3, 400, 1.0).unwrap();
        assert_eq!(learned.losses.len(), 401);
        assert!(learned.losses.windows(2).all(|w| w[1] <= w[0]), "the loss never rises on this problem");
        let error = (&learned.kernel - &sobel_x)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(error < 0.05, "learned {:?}", learned.kernel.to_vec2::<f32>().unwrap());
    }

    #[test]
    fn zero_steps_keep_the_blank_kernel() {
        let (images, targets) = pairs(2, &kernels::laplacian(&Device::Cpu).unwrap());
        let learned = learn_kernel(&images, &targets, 3, 0, 0.1).unwrap();
        assert_eq!(learned.kernel.to_vec2::<f32>().unwrap(), vec![vec![0f32; 3]; 3]);
        // The loss of the zero kernel is the mean square of the targets.
        let expected = targets.sqr().unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(learned.losses, [expected]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let (images, targets) = pairs(2, &kernels::sobel_x(&Device::Cpu).unwrap());
        assert!(matches!(learn_kernel(&images, &targets, 5, 1, 0.1), Err(Error::Shape(_))));
        assert!(matches!(learn_kernel(&images, &targets, 0, 1, 0.1), Err(Error::InvalidArgument(_))));
        assert!(matches!(learn_kernel(&images, &targets, 3, 1, -0.1), Err(Error::InvalidArgument(_))));
        assert!(matches!(learn_kernel(&images.get(0).unwrap(), &targets, 3, 1, 0.1), Err(Error::Shape(_))));
        let diverged = learn_kernel(&images, &targets, 3, 50, 1e6).unwrap_err();
        assert!(diverged.to_string().contains("too large"), "{diverged}");
    }
}
