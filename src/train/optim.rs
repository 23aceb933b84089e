//! Stochastic gradient descent with momentum, as `torch.optim.SGD` computes it.
//!
//! The notes use `optim.SGD(model.parameters(), lr=0.01)`. candle-nn's `SGD` has no momentum, and
//! momentum is the first thing a reader tries next (PyTorch's MNIST example uses it), so the crate
//! has its own optimiser. PyTorch's rule, with `g` the gradient and `v` the velocity buffer:
//!
//! ```text
//! v ← g                 on the first step
//! v ← momentum·v + g    afterwards
//! p ← p − lr·v          (with momentum 0 this is plain p ← p − lr·g)
//! ```

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::Optimizer;

use crate::error::{Error, Result};

/// The settings of [`Sgd`]: `torch.optim.SGD(params, lr=…, momentum=…)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// The learning rate, positive and finite.
    pub lr: f64,
    /// The momentum factor, in [0, 1); 0 is plain SGD (the notes' setting).
    pub momentum: f64,
}

impl Default for SgdConfig {
    /// The notes' `optim.SGD(model.parameters(), lr=0.01)`: no momentum.
    fn default() -> Self {
        Self { lr: 0.01, momentum: 0.0 }
    }
}

impl SgdConfig {
    /// `lr` and `momentum`, checked: the learning rate must be positive and finite, the momentum in
    /// [0, 1).
    pub fn new(lr: f64, momentum: f64) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the learning rate must be a positive number, got {lr}"
            )));
        }
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::InvalidArgument(format!("momentum must be in [0, 1), got {momentum}")));
        }
        Ok(Self { lr, momentum })
    }
}

/// `torch.optim.SGD(params, lr, momentum)`, as a candle-nn [`Optimizer`]:
/// `Sgd::new(model.vars(), SgdConfig::new(0.01, 0.9)?)?`, then `backward_step(&loss)` per batch.
#[derive(Debug)]
pub struct Sgd {
    vars: Vec<Var>,
    config: SgdConfig,
    /// One buffer per variable, empty until the first step with momentum.
    velocity: Vec<Option<Tensor>>,
}

impl Optimizer for Sgd {
    type Config = SgdConfig;

    /// An optimiser over `vars`; errors if the configuration is out of range (see [`SgdConfig::new`]).
    fn new(vars: Vec<Var>, config: SgdConfig) -> candle_core::Result<Self> {
        SgdConfig::new(config.lr, config.momentum).map_err(candle_core::Error::wrap)?;
        let velocity = vec![None; vars.len()];
        Ok(Self { vars, config, velocity })
    }

    /// Applies one update from the gradients of a backward pass. Variables without a gradient
    /// are left alone (as PyTorch does for `p.grad is None`). (There is no `zero_grad`: candle
    /// returns fresh gradients from every backward pass instead of accumulating them in the
    /// parameters.)
    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        let SgdConfig { lr, momentum } = self.config;
        for (var, velocity) in self.vars.iter().zip(self.velocity.iter_mut()) {
            let Some(grad) = grads.get(var) else { continue };
            // Detached: the velocity outlives this step, and a gradient still linked to the autograd
            // graph would keep every past step's graph alive through it (memory grew ~3 MB a step).
            let grad = &grad.detach();
            let update = if momentum == 0.0 {
                grad.clone()
            } else {
                let v = match velocity.take() {
                    None => grad.clone(),
                    Some(v) => ((v * momentum)? + grad)?,
                };
                *velocity = Some(v.clone());
                v
            };
            var.set(&var.as_tensor().detach().sub(&(update * lr)?)?)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

impl Sgd {
    /// The settings in use.
    pub fn config(&self) -> SgdConfig {
        self.config
    }

    /// The velocity buffers, one per variable in the order given to [`Optimizer::new`] (`None`
    /// before the first step, and always without momentum): what a checkpoint saves.
    pub fn velocity(&self) -> &[Option<Tensor>] {
        &self.velocity
    }

    /// Restores velocity buffers saved from [`Sgd::velocity`]. `names` say which variable each one
    /// belongs to, for the error message when a shape does not fit.
    pub fn set_velocity(&mut self, velocity: Vec<Option<Tensor>>, names: &[&str]) -> Result<()> {
        if velocity.len() != self.vars.len() {
            return Err(Error::Shape(format!(
                "{} optimizer velocity buffers for {} parameters",
                velocity.len(),
                self.vars.len()
            )));
        }
        let mut placed = Vec::with_capacity(velocity.len());
        for (i, (v, var)) in velocity.into_iter().zip(&self.vars).enumerate() {
            let name = names.get(i).copied().unwrap_or("?");
            placed.push(match v {
                None => None,
                Some(v) if v.dims() == var.dims() => Some(v.to_device(var.device())?),
                Some(v) => {
                    return Err(Error::Shape(format!(
                        "optimizer velocity for `{name}` has shape {:?}, the parameter has {:?}",
                        v.dims(),
                        var.dims()
                    )));
                }
            });
        }
        self.velocity = placed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn quadratic_steps(momentum: f64, steps: usize) -> Vec<f32> {
        // minimise f(p) = p²/2, gradient p, from p = 1.
        let var = Var::new(&[1f32], &Device::Cpu).unwrap();
        let mut sgd = Sgd::new(vec![var.clone()], SgdConfig { lr: 0.1, momentum }).unwrap();
        let mut values = vec![];
        for _ in 0..steps {
            let loss = (var.as_tensor().sqr().unwrap() * 0.5).unwrap().sum_all().unwrap();
            sgd.backward_step(&loss).unwrap();
            values.push(var.as_tensor().to_vec1::<f32>().unwrap()[0]);
        }
        values
    }

    #[test]
    fn plain_sgd_follows_the_gradient() {
        let v = quadratic_steps(0.0, 2);
        assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] - 0.81).abs() < 1e-6, "{v:?}");
    }

    #[test]
    fn momentum_matches_pytorch_rule() {
        // step 1: v=1, p=1-0.1=0.9; step 2: v=0.9*1+0.9=1.8, p=0.9-0.18=0.72
        let v = quadratic_steps(0.9, 2);
        assert!((v[0] - 0.9).abs() < 1e-6 && (v[1] - 0.72).abs() < 1e-6, "{v:?}");
    }

    #[test]
    fn velocity_round_trips_and_wrong_shapes_are_refused() {
        let var = Var::new(&[1f32, 2.], &Device::Cpu).unwrap();
        let config = SgdConfig { lr: 0.1, momentum: 0.5 };
        let mut sgd = Sgd::new(vec![var.clone()], config).unwrap();
        sgd.backward_step(&var.as_tensor().sum_all().unwrap()).unwrap();
        let saved = sgd.velocity().to_vec();
        let mut other = Sgd::new(vec![var.clone()], config).unwrap();
        other.set_velocity(saved, &["w"]).unwrap();
        assert_eq!(other.velocity()[0].as_ref().unwrap().to_vec1::<f32>().unwrap(), vec![1.0, 1.0]);
        let wrong = Tensor::new(&[1f32, 2., 3.], &Device::Cpu).unwrap();
        let err = other.set_velocity(vec![Some(wrong)], &["w"]).unwrap_err().to_string();
        assert!(err.contains("velocity for `w` has shape [3], the parameter has [2]"), "{err}");
        let err = other.set_velocity(vec![], &[]).unwrap_err().to_string();
        assert!(err.contains("0 optimizer velocity buffers for 1 parameters"), "{err}");
    }

    #[test]
    fn rejects_bad_hyperparameters() {
        let err = SgdConfig::new(0.0, 0.0).unwrap_err().to_string();
        assert!(err.contains("learning rate must be a positive number, got 0"), "{err}");
        let err = SgdConfig::new(0.1, 1.0).unwrap_err().to_string();
        assert!(err.contains("momentum must be in [0, 1), got 1"), "{err}");
        // Through candle-nn's trait too.
        let err = Sgd::new(vec![], SgdConfig { lr: f64::NAN, momentum: 0.0 }).unwrap_err().to_string();
        assert!(err.contains("learning rate must be a positive number"), "{err}");
    }
}
