//! Sets `cfg(staticnet_dsp)` for ARMv7E-M targets (Cortex-M4, M7), whose DSP
//! extension the int8 dot product uses (`src/quant/layers.rs`). Stable Rust
//! does not expose ARM target features to `cfg`, so the target's name
//! decides: every `thumbv7em-*` target has the DSP instructions.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(staticnet_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=staticnet_dsp");
    }
}
