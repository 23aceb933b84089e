//! Exercises of chapter 6, "LeNet on MNIST": the loss by hand, where 320 comes from, momentum by hand.

use lenet_tutor::ModuleT;
use lenet_tutor::Optimizer;
use lenet_tutor::conv::{output_size, output_size_floor};
use lenet_tutor::{Result, Tensor};

// ANCHOR: nll_sum
/// `F.nll_loss(log_probs, labels, reduction='sum')`: minus the sum of each row's log-probability
/// at its label. `log_probs` is `[B,C]`, `labels` is `[B]` (u32).
pub fn nll_sum(log_probs: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let picked = log_probs.gather(&labels.unsqueeze(1)?, 1)?; // [B,1]: row i, column labels[i]
    Ok(picked.sum_all()?.neg()?)
}
// ANCHOR_END: nll_sum

// ANCHOR: flattened_size
/// How many numbers one image of `height`×`width` becomes before LeNet's `fc1`:
/// conv 5×5 → pool 2 → conv 5×5 (20 channels) → pool 2 → flatten.
pub fn flattened_size(height: usize, width: usize) -> Result<usize> {
    let side = |input: usize| -> Result<usize> {
        let conv1 = output_size(input, 5, 0, 1)?; // padding 0, stride 1
        let pool1 = output_size_floor(conv1, 2, 0, 2)?; // PyTorch's pooling rounds down
        let conv2 = output_size(pool1, 5, 0, 1)?;
        output_size_floor(conv2, 2, 0, 2)
    };
    Ok(20 * side(height)? * side(width)?)
}
// ANCHOR_END: flattened_size

// ANCHOR: momentum
/// Minimises `w²/2` (gradient `w`) from `start` with `torch.optim.SGD`'s momentum rule and returns
/// `w` after each of `steps` steps.
pub fn sgd_momentum(start: f32, lr: f32, momentum: f32, steps: usize) -> Vec<f32> {
    let mut w = start;
    let mut velocity: Option<f32> = None; // PyTorch creates the buffer at the first step
    let mut path = Vec::with_capacity(steps);
    for _ in 0..steps {
        let grad = w;
        let v = match velocity {
            None => grad,
            Some(v) => momentum * v + grad,
        };
        velocity = Some(v);
        w -= lr * v;
        path.push(w);
    }
    path
}
// ANCHOR_END: momentum

#[cfg(test)]
mod tests {
    use super::*;
    use lenet_tutor::candle_nn;
    use lenet_tutor::model::LeNet;
    use lenet_tutor::train::{Sgd, SgdConfig};
    use lenet_tutor::{DType, Device, Var};

    #[test]
    fn nll_sum_is_batch_size_times_candles_mean() {
        let device = Device::Cpu;
        let model = LeNet::new(3, &device).unwrap();
        let images = Tensor::arange(0f32, 4.0 * 784.0, &device).unwrap().reshape((4, 1, 28, 28)).unwrap();
        let images = (images.sin().unwrap() * 2.0).unwrap(); // four different made-up images
        let log_probs = model.forward_t(&images, false).unwrap();
        let labels = Tensor::new(&[7u32, 0, 3, 3], &device).unwrap();
        let sum = nll_sum(&log_probs, &labels).unwrap().to_scalar::<f32>().unwrap();
        let mean = candle_nn::loss::nll(&log_probs, &labels).unwrap().to_scalar::<f32>().unwrap();
        assert!((sum - 4.0 * mean).abs() < 1e-5, "{sum} vs 4 × {mean}");
        // By hand for one row: minus its log-probability at the label.
        let row0 = log_probs.get(0).unwrap().to_vec1::<f32>().unwrap();
        let one = nll_sum(&log_probs.narrow(0, 0, 1).unwrap(), &labels.narrow(0, 0, 1).unwrap()).unwrap();
        assert_eq!(one.to_scalar::<f32>().unwrap(), -row0[7]);
    }

    #[test]
    fn flattened_size_is_320_for_mnist_and_matches_candle() {
        assert_eq!(flattened_size(28, 28).unwrap(), 320);
        assert_eq!(flattened_size(32, 32).unwrap(), 500);
        // Too small for two 5×5 convolutions: an error, not a panic.
        assert!(flattened_size(10, 10).is_err());
        let device = Device::Cpu;
        for (h, w) in [(28, 28), (32, 32), (29, 40)] {
            let x = Tensor::zeros((1, 1, h, w), DType::F32, &device).unwrap();
            let k1 = Tensor::zeros((10, 1, 5, 5), DType::F32, &device).unwrap();
            let k2 = Tensor::zeros((20, 10, 5, 5), DType::F32, &device).unwrap();
            let x = x.conv2d(&k1, 0, 1, 1, 1).unwrap().max_pool2d(2).unwrap();
            let x = x.conv2d(&k2, 0, 1, 1, 1).unwrap().max_pool2d(2).unwrap();
            assert_eq!(x.flatten_from(1).unwrap().dims()[1], flattened_size(h, w).unwrap(), "{h}x{w}");
        }
    }

    #[test]
    fn momentum_by_hand_matches_the_crates_sgd() {
        for momentum in [0.0, 0.5, 0.9] {
            let w = Var::new(&[2f32], &Device::Cpu).unwrap();
            let mut sgd = Sgd::new(vec![w.clone()], SgdConfig { lr: 0.1, momentum }).unwrap();
            let mut crate_path = vec![];
            for _ in 0..8 {
                let loss = (w.as_tensor().sqr().unwrap() * 0.5).unwrap().sum_all().unwrap();
                sgd.backward_step(&loss).unwrap();
                crate_path.push(w.as_tensor().to_vec1::<f32>().unwrap()[0]);
            }
            let mine = sgd_momentum(2.0, 0.1, momentum as f32, 8);
            for (a, b) in mine.iter().zip(&crate_path) {
                assert!((a - b).abs() < 1e-6, "momentum {momentum}: {mine:?} vs {crate_path:?}");
            }
        }
    }
}
