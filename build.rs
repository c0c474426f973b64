//! Sets `cfg(staticnet_dsp)` for ARMv7E-M targets (Cortex-M4, M7), whose DSP
//! extension the int8 dot product uses (`src/quant/layers.rs`). Stable Rust
//! does not expose ARM target features to `cfg`, so the target's name
//! decides: every `thumbv7em-*` target has the DSP instructions. Setting
//! `STATICNET_NO_DSP=1` in the build's environment keeps the portable loop
//! there (to measure what the DSP path gains; both give the same results).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(staticnet_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=STATICNET_NO_DSP");
    let target = std::env::var("TARGET").unwrap_or_default();
    let off = std::env::var_os("STATICNET_NO_DSP").is_some_and(|v| v == "1");
    if target.starts_with("thumbv7em-") && !off {
        println!("cargo::rustc-cfg=staticnet_dsp");
    }
}
