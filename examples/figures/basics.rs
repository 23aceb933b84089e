use std::path::Path;

pub fn write(_out: &Path) -> lenet_tutor::Result<()> {
    Ok(())
}
