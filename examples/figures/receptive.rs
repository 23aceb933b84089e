//! Figures of the receptive field, a shifted digit and a learned kernel (chapters 3 and 5).

use std::path::Path;

use lenet_tutor::{Device, Result};

pub fn write(_out: &Path, _device: &Device) -> Result<()> {
    Ok(())
}
