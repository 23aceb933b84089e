//! Figures of a 1-D convolution, colour channels and neighbouring pixels (chapters 1, 2 and 4).

use std::path::Path;

use lenet_tutor::{Device, Result};

pub fn write(_out: &Path, _device: &Device) -> Result<()> {
    Ok(())
}
