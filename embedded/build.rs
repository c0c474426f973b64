//! Puts the target's memory map, as `memory.x`, where the linker (running
//! `link.x` from cortex-m-rt) finds it: `memory-m0.x` (QEMU's `microbit`, a
//! Cortex-M0) for `thumbv6m-none-eabi`, `memory-m4f.x` (QEMU's `mps2-an386`,
//! a Cortex-M4F) for any other target.
//!
//! Neither file may be named `memory.x` in this folder: the linker runs here
//! and looks for `memory.x` in its working directory before the search path.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let memory: &[u8] = if target.starts_with("thumbv6m") {
        include_bytes!("memory-m0.x")
    } else {
        include_bytes!("memory-m4f.x")
    };
    fs::write(out.join("memory.x"), memory).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-m0.x");
    println!("cargo:rerun-if-changed=memory-m4f.x");
    println!("cargo:rerun-if-changed=build.rs");
}
