//! Three build-time switches, read from the build's environment:
//!
//! * `cfg(staticnet_dsp)` for ARMv7E-M targets (Cortex-M4, M7), whose DSP
//!   extension the int8 dot product uses (`src/quant/layers.rs`). Stable
//!   Rust does not expose ARM target features to `cfg`, so the target's
//!   name decides: every `thumbv7em-*` target has the DSP instructions.
//!   Setting `STATICNET_NO_DSP=1` keeps the portable loop there (to measure
//!   what the DSP path gains; both give the same results).
//! * `cfg(staticnet_no_simd)` when `STATICNET_NO_SIMD=1`: the x86-64 SIMD
//!   kernels are turned off (`src/kernels/x86.rs`: the `f32` kernels, the
//!   dispatch of a whole call into AVX2 + FMA code, the int8 AVX2 dense
//!   layer), so every target runs the portable loops, even on a CPU that
//!   has AVX2 and FMA. CI runs the whole test suite a second time so, to
//!   test the portable path on a host that would otherwise never take it.
//!   Results may differ in the last bits from the SIMD build (no fused
//!   multiply-adds), never in what the tests check.
//! * `cfg(staticnet_no_avx512)` when `STATICNET_NO_AVX512=1`: the `f32`
//!   kernels that use AVX-512VL's 32 registers are turned off, so a CPU
//!   that has them runs the AVX2 + FMA kernels alone, as a CPU without
//!   AVX-512 (Zen 3, most desktop Intel cores) does. CI runs the kernels'
//!   tests so, to test that path's tiles on a host that would otherwise
//!   take the wider ones; the benchmarks can measure it. Same bits either
//!   way (the wider tiles do the same 8-lane arithmetic).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(staticnet_dsp)");
    println!("cargo::rustc-check-cfg=cfg(staticnet_no_simd)");
    println!("cargo::rustc-check-cfg=cfg(staticnet_no_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=STATICNET_NO_DSP");
    println!("cargo::rerun-if-env-changed=STATICNET_NO_SIMD");
    println!("cargo::rerun-if-env-changed=STATICNET_NO_AVX512");
    let target = std::env::var("TARGET").unwrap_or_default();
    let on = |name| std::env::var_os(name).is_some_and(|v| v == "1");
    if target.starts_with("thumbv7em-") && !on("STATICNET_NO_DSP") {
        println!("cargo::rustc-cfg=staticnet_dsp");
    }
    if on("STATICNET_NO_SIMD") {
        println!("cargo::rustc-cfg=staticnet_no_simd");
    }
    if on("STATICNET_NO_AVX512") {
        println!("cargo::rustc-cfg=staticnet_no_avx512");
    }
}
