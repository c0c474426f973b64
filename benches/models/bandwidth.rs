//! Read bandwidth: a loop that sums a buffer at the start of a cache line
//! with 8 independent 8-lane accumulators (AVX2, one load per vector add),
//! read again and again so that it stays in the cache it fits. Two sizes:
//! the mid model's weights and biases (≈ 405 KB, more than L1, well within
//! L2), which one-sample inference of the mid model has to read once per
//! sample, so that the time of one pass is the L2-bandwidth limit of that
//! inference; and 16 KiB, which fits L1, for reference.

/// Floats in the mid model's weights and biases.
pub const MID_FLOATS: usize = 128 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10;
/// Bytes in the mid model's weights and biases.
pub const MID_BYTES: u64 = (MID_FLOATS * 4) as u64;
/// Floats in 16 KiB.
pub const L1_FLOATS: usize = 16 * 1024 / 4;
/// Bytes in 16 KiB.
pub const L1_BYTES: u64 = (L1_FLOATS * 4) as u64;

/// A function that reads a buffer once.
pub type Reader<const N: usize> = fn(&[f32; N]) -> f32;

/// A buffer of `N` floats at the start of a cache line, filled with small
/// values, and a function that reads all of it once and returns the sum:
/// the AVX2 copy where the CPU has AVX2 and FMA, else the plain one.
pub fn reader<const N: usize>() -> (Box<super::Aligned<[f32; N]>>, Reader<N>) {
    let mut buf = super::aligned([0.0f32; N]);
    for (k, v) in buf.0.iter_mut().enumerate() {
        *v = (k % 7) as f32 * 1e-3;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return (buf, |x| {
            // SAFETY: the CPU has AVX2 and FMA, the features `sum_avx2` is
            // compiled for (checked before this function was returned).
            unsafe { sum_avx2(x) }
        });
    }
    (buf, sum::<N>)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sum_avx2<const N: usize>(x: &[f32; N]) -> f32 {
    sum(x)
}

/// `Σ x`: 64 lanes (8 vectors) of partial sums, each chunk of 64 floats
/// (one per lane) a contiguous 256-byte read, then the remainder and the
/// lanes' sum.
#[inline(always)]
fn sum<const N: usize>(x: &[f32; N]) -> f32 {
    let mut acc = [0.0f32; 64];
    let (chunks, rest) = x.as_chunks::<64>();
    for c in chunks {
        for l in 0..64 {
            acc[l] += c[l];
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += v;
    }
    // The lanes added as a tree (vector adds down to 8 lanes), not one
    // chain of 64 dependent adds.
    let mut n = 64;
    while n > 1 {
        n /= 2;
        for l in 0..n {
            acc[l] += acc[l + n];
        }
    }
    acc[0]
}
