//! `cargo xtask demo [ARGS]`: build-widget and build-designer, then `milogin demo [ARGS]`.

use crate::process::{cargo, cmd};
use crate::widget::build_widget;
use crate::{designer, Result};

pub(crate) fn demo(args: &[String]) -> Result {
    build_widget()?;
    designer::build_designer()?;
    cmd(cargo()
        .args([
            "run",
            "--release",
            "-p",
            "milogin-server",
            "--bin",
            "milogin",
            "--",
            "demo",
        ])
        .args(args))
}
