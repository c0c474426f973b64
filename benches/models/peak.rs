//! The machine's f32 peak on one core: a loop of independent fused
//! multiply-adds on 8-lane vectors that never touches memory (AVX2 + FMA,
//! the instructions staticnet's kernels use, and the peak its `% peak`
//! column is a share of). Where the CPU has AVX-512, the same loop on
//! 16-lane vectors too (`fma512`): printed beside it, since on a core with
//! two 512-bit FMA units it is nearly twice the AVX2 peak, and kernels that
//! used AVX-512 would be measured against it.

use criterion::{Criterion, Throughput};

/// The `peak` group: `fma`, and `fma512` where the CPU has AVX-512, each
/// with its flops as criterion's elements.
pub fn group(c: &mut Criterion) {
    let mut g = c.benchmark_group("peak");
    if let Some(mut kernel) = fma_kernel() {
        g.throughput(Throughput::Elements(FLOPS));
        g.bench_function("fma", |b| b.iter(|| std::hint::black_box(kernel())));
    }
    if let Some(mut kernel) = fma512_kernel() {
        g.throughput(Throughput::Elements(FLOPS512));
        g.bench_function("fma512", |b| b.iter(|| std::hint::black_box(kernel())));
    }
    g.finish();
}

/// Vector FMAs per call: `ROUNDS` rounds over `ACC` independent accumulators.
const ROUNDS: u64 = 1000;
const ACC: u64 = 12;
/// Flops per call: 8 lanes, 2 flops (a multiply and an add) per FMA.
pub const FLOPS: u64 = ROUNDS * ACC * 8 * 2;

/// The kernel, if this machine has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub fn fma_kernel() -> Option<impl FnMut() -> f32> {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the features `fma_loop` enables were just detected.
        Some(|| unsafe { fma_loop(std::hint::black_box(0.999_999), 1e-7) })
    } else {
        None
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub fn fma_kernel() -> Option<impl FnMut() -> f32> {
    None::<fn() -> f32>
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_loop(a: f32, b: f32) -> f32 {
    use std::arch::x86_64::*;
    let (va, vb) = (_mm256_set1_ps(a), _mm256_set1_ps(b));
    let mut acc = [_mm256_set1_ps(1.0); ACC as usize];
    for _ in 0..ROUNDS {
        for v in &mut acc {
            *v = _mm256_fmadd_ps(*v, va, vb);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for v in acc {
        sum = _mm256_add_ps(sum, v);
    }
    let mut out = [0.0f32; 8];
    // SAFETY: `out` holds 8 floats.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out.iter().sum()
}

/// The 16-lane kernel, if this machine has AVX-512F.
#[cfg(target_arch = "x86_64")]
pub fn fma512_kernel() -> Option<impl FnMut() -> f32> {
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the feature `fma512_loop` enables was just detected.
        Some(|| unsafe { fma512_loop(std::hint::black_box(0.999_999), 1e-7) })
    } else {
        None
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub fn fma512_kernel() -> Option<impl FnMut() -> f32> {
    None::<fn() -> f32>
}

/// Flops per call of the 16-lane kernel.
pub const FLOPS512: u64 = 2 * FLOPS;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma512_loop(a: f32, b: f32) -> f32 {
    use std::arch::x86_64::*;
    let (va, vb) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut acc = [_mm512_set1_ps(1.0); ACC as usize];
    for _ in 0..ROUNDS {
        for v in &mut acc {
            *v = _mm512_fmadd_ps(*v, va, vb);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for v in acc {
        sum = _mm512_add_ps(sum, v);
    }
    _mm512_reduce_add_ps(sum)
}
