//! Regenerates every figure of the book under `book/src/figures/`, from the crate, with fixed seeds.
//!
//! ```sh
//! cargo run --release --example figures            # all figures
//! cargo run --release --example figures -- basics  # only chapters 1–5 (no training)
//! ```
//! The committed figures are this command's output; none is drawn by hand.
//!
//! A figure holds labels only (digits, layer names, shapes, axis names, legend names), never a
//! sentence: titles and explanations are the captions under the figure in the chapter, which the
//! Korean edition translates (text inside a picture it cannot).

mod basics;
mod generated;
mod lenet;
mod receptive;
mod signals;

use std::path::PathBuf;

fn main() {
    lenet_tutor::device::set_threads(None);
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("book/src/figures");
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let result =
        std::fs::create_dir_all(&out).map_err(|e| lenet_tutor::Error::io(&out, e)).and_then(|()| match which
            .as_str()
        {
            "basics" => basics::write(&out).and_then(|()| extra(&out)),
            "lenet" => lenet::write(&out),
            "extra" => extra(&out),
            "all" => basics::write(&out).and_then(|()| extra(&out)).and_then(|()| lenet::write(&out)),
            other => Err(lenet_tutor::Error::InvalidArgument(format!(
                "unknown figure set `{other}`; use basics, extra, lenet or all"
            ))),
        });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The figures of the sections that came after the first edition of each chapter (no training).
fn extra(out: &std::path::Path) -> lenet_tutor::Result<()> {
    let device = lenet_tutor::device::auto();
    receptive::write(out, &device)?;
    signals::write(out, &device)
}
