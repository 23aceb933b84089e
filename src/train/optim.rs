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

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::error::{Error, Result};

/// Prefix of the velocity buffers' names in a checkpoint.
pub const VELOCITY_PREFIX: &str = "optimizer.velocity.";

/// `torch.optim.SGD(params, lr, momentum)`.
#[derive(Debug)]
pub struct Sgd {
    vars: Vec<(String, Var)>,
    lr: f64,
    momentum: f64,
    velocity: Vec<Option<Tensor>>,
}

impl Sgd {
    /// An optimiser over named variables. `lr` must be positive and finite, `momentum` in [0, 1).
    pub fn new(vars: &[(String, Var)], lr: f64, momentum: f64) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the learning rate must be a positive number, got {lr}"
            )));
        }
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::InvalidArgument(format!("momentum must be in [0, 1), got {momentum}")));
        }
        Ok(Self { vars: vars.to_vec(), lr, momentum, velocity: vec![None; vars.len()] })
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The momentum factor.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// Applies one update from the gradients of a backward pass. Variables without a gradient
    /// are left alone (as PyTorch does for `p.grad is None`).
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        for ((_, var), velocity) in self.vars.iter().zip(self.velocity.iter_mut()) {
            let Some(grad) = grads.get(var) else { continue };
            // Detached: the velocity outlives this step, and a gradient still linked to the autograd
            // graph would keep every past step's graph alive through it (memory grew ~3 MB a step).
            let grad = &grad.detach();
            let update = if self.momentum == 0.0 {
                grad.clone()
            } else {
                let v = match velocity.take() {
                    None => grad.clone(),
                    Some(v) => ((v * self.momentum)? + grad)?,
                };
                *velocity = Some(v.clone());
                v
            };
            var.set(&var.as_tensor().detach().sub(&(update * self.lr)?)?)?;
        }
        Ok(())
    }

    /// `loss.backward(); optimizer.step()` in one call. (There is no `zero_grad`: candle returns fresh
    /// gradients from every backward pass instead of accumulating them in the parameters.)
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// The velocity buffers, named `optimizer.velocity.<parameter>`, for a checkpoint.
    pub fn state(&self) -> HashMap<String, Tensor> {
        self.vars
            .iter()
            .zip(&self.velocity)
            .filter_map(|((name, _), v)| v.as_ref().map(|v| (format!("{VELOCITY_PREFIX}{name}"), v.clone())))
            .collect()
    }

    /// Restores velocity buffers saved by [`Sgd::state`]; missing ones start empty.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for ((name, var), velocity) in self.vars.iter().zip(self.velocity.iter_mut()) {
            *velocity = match tensors.get(&format!("{VELOCITY_PREFIX}{name}")) {
                None => None,
                Some(v) if v.dims() == var.dims() => Some(v.to_device(var.device())?),
                Some(v) => {
                    return Err(Error::Shape(format!(
                        "optimizer velocity for `{name}` has shape {:?}, the parameter has {:?}",
                        v.dims(),
                        var.dims()
                    )));
                }
            };
        }
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
        let mut sgd = Sgd::new(&[("p".into(), var.clone())], 0.1, momentum).unwrap();
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
    fn state_round_trips() {
        let var = Var::new(&[1f32, 2.], &Device::Cpu).unwrap();
        let named = [("w".to_string(), var.clone())];
        let mut sgd = Sgd::new(&named, 0.1, 0.5).unwrap();
        sgd.backward_step(&var.as_tensor().sum_all().unwrap()).unwrap();
        let state = sgd.state();
        assert!(state.contains_key("optimizer.velocity.w"));
        let mut other = Sgd::new(&named, 0.1, 0.5).unwrap();
        other.load_state(&state).unwrap();
        assert_eq!(other.state()["optimizer.velocity.w"].to_vec1::<f32>().unwrap(), vec![1.0, 1.0]);
    }

    #[test]
    fn rejects_bad_hyperparameters() {
        let err = Sgd::new(&[], 0.0, 0.0).unwrap_err().to_string();
        assert!(err.contains("learning rate must be a positive number, got 0"), "{err}");
        let err = Sgd::new(&[], 0.1, 1.0).unwrap_err().to_string();
        assert!(err.contains("momentum must be in [0, 1), got 1"), "{err}");
    }
}
