//! The tuned baseline: the three models written by hand the way a
//! performance-minded Rust programmer would, for the same two timed cases as
//! the plain baseline (`baseline.rs`): one-sample inference, and one SGD
//! step on a batch of 32 (same loss, learning rate and update as the
//! staticnet step: plain SGD on the mean gradient over the batch).
//!
//! * Fixed-size arrays laid out for the loops. A layer stores its weights
//!   input-major, `w[i][o]` (row `i` is what input `i` adds to every
//!   output), with the outputs padded with zeros to a whole number of 8-lane
//!   vectors (10 → 16), so every inner loop runs over contiguous outputs. A
//!   batch is stored sample by sample, `[[f32; N]; B]`.
//! * Register tiles: one-sample inference keeps a block of outputs (8
//!   vectors) in registers over all the inputs, with partial sums over the
//!   inputs where a layer has fewer outputs; a batch forward pass, the
//!   weight gradient and `Wᵀ dy` work on register tiles of 4 × 16 (8 vector
//!   accumulators over the batch or the inputs), `Wᵀ dy` on `dy` transposed
//!   so that its inner loop runs over the samples (the transposes of the
//!   `B × N` gradients cost little beside the `B × N × K` products; dot
//!   products along the rows of `w` instead vectorised poorly, and the
//!   mid step took 2.2× as long). Every inner operation is an
//!   `f32::mul_add`.
//! * The SGD update is fused into the weight gradient: each tile's gradient
//!   is summed over the batch in registers and applied at once (after the
//!   layer's `Wᵀ dy`, which needs the old weights), so the gradient is never
//!   stored. No finiteness check (the plain baseline has none either).
//! * The same activations as the model under test: staticnet's `FastTanh`
//!   and `FastSigmoid` formula, copied below from `src/math/fast.rs`
//!   (value and derivative), and `Relu`. Softmax and the binary
//!   cross-entropy use `std`'s `exp` and `ln`.
//! * Compiled for the CPU it runs on: each entry point asks once whether
//!   the CPU has AVX2 and FMA (std caches the answer) and then runs a
//!   `#[target_feature(enable = "avx2,fma")]` copy of the whole computation,
//!   whose helpers are `#[inline(always)]`, so the loops are AVX2 + FMA code
//!   even in a build without target flags; otherwise the same loops with
//!   `a * b + c` in place of `mul_add` (which would be a library call
//!   there).

// Index loops over fixed arrays are the point: they are what vectorises.
#![allow(clippy::needless_range_loop)]

use staticnet::Dense;

pub const B: usize = super::B;

/// Whether this CPU runs the AVX2 + FMA copies.
#[inline(always)]
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `a b + c`: one FMA in the AVX2 + FMA copies (`F`), a multiply and an add
/// otherwise.
#[inline(always)]
fn fma<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

// ------------------------------------------------------------------------
// FastTanh and FastSigmoid: staticnet's formula (src/math/fast.rs), copied.

/// `P`, from the constant term up.
const TANH_P: [f64; 5] = [
    0.999_999_986_379_755_4,
    0.133_725_254_298_640_04,
    0.003_485_376_032_938_165_7,
    2.043_850_578_749_365e-5,
    1.311_822_668_901_120_7e-8,
];
/// `Q` without its constant term 1, from `x²` up.
const TANH_Q: [f64; 4] = [
    0.467_058_454_630_043_9,
    0.025_838_417_525_883_905,
    3.268_793_115_684_337_3e-4,
    7.679_571_277_976_459e-7,
];
/// Where `R` stops following `tanh` and stays constant.
const TANH_CLAMP: f32 = 9.0;

/// The constants in `f32`, rounded to nearest as staticnet rounds them.
const P: [f32; 5] = [
    TANH_P[0] as f32,
    TANH_P[1] as f32,
    TANH_P[2] as f32,
    TANH_P[3] as f32,
    TANH_P[4] as f32,
];
const Q: [f32; 4] = [
    TANH_Q[0] as f32,
    TANH_Q[1] as f32,
    TANH_Q[2] as f32,
    TANH_Q[3] as f32,
];
/// `(2k + 1) p_k`: `P + 2u P'`.
const DP: [f32; 5] = [
    TANH_P[0] as f32,
    (3.0 * TANH_P[1]) as f32,
    (5.0 * TANH_P[2]) as f32,
    (7.0 * TANH_P[3]) as f32,
    (9.0 * TANH_P[4]) as f32,
];
/// `k q_k`: `Q'`.
const DQ: [f32; 4] = [
    TANH_Q[0] as f32,
    (2.0 * TANH_Q[1]) as f32,
    (3.0 * TANH_Q[2]) as f32,
    (4.0 * TANH_Q[3]) as f32,
];

/// `x` limited to `[−9, 9]` (NaN stays NaN), and `x²`.
#[inline(always)]
fn tanh_argument(x: f32) -> (f32, f32) {
    let m = TANH_CLAMP;
    let x = if x > m {
        m
    } else if x < -m {
        -m
    } else {
        x
    };
    (x, x * x)
}

/// `P(u)` and `Q(u)` by Estrin's scheme.
#[inline(always)]
fn tanh_pq(u: f32) -> (f32, f32) {
    let u2 = u * u;
    let u4 = u2 * u2;
    let p = (P[0] + P[1] * u) + (P[2] + P[3] * u) * u2 + P[4] * u4;
    let q = (1.0 + Q[0] * u) + (Q[1] + Q[2] * u) * u2 + Q[3] * u4;
    (p, q)
}

/// `y` limited to `[−1, 1]` (NaN stays NaN). Written as in staticnet.
#[inline(always)]
#[allow(clippy::manual_clamp)]
fn unit(y: f32) -> f32 {
    if y > 1.0 {
        1.0
    } else if y < -1.0 {
        -1.0
    } else {
        y
    }
}

/// `R(x)`: `FastTanh`.
#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    let (xc, u) = tanh_argument(x);
    let (p, q) = tanh_pq(u);
    unit(xc * (p * (1.0 / q)))
}

/// `(R(x), R'(x))`, `R'` being 0 beyond `±9`.
#[inline(always)]
fn fast_tanh_and_derivative(x: f32) -> (f32, f32) {
    let (xc, u) = tanh_argument(x);
    let (p, q) = tanh_pq(u);
    let inv = 1.0 / q;
    let r = p * inv;
    let n = (((DP[4] * u + DP[3]) * u + DP[2]) * u + DP[1]) * u + DP[0];
    let dq = ((DQ[3] * u + DQ[2]) * u + DQ[1]) * u + DQ[0];
    let two_u = u + u;
    let d = (n - two_u * r * dq) * inv;
    let outside = x.abs() >= TANH_CLAMP;
    (unit(xc * r), if outside { 0.0 } else { d })
}

/// `S(x) = ½ + ½ R(x/2)`: `FastSigmoid`.
#[inline(always)]
fn fast_sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * fast_tanh(0.5 * x)
}

#[inline(always)]
fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// `FastTanh` over a batch of pre-activations in place, keeping `R'`.
#[inline(always)]
fn tanh_tape<const N: usize>(h: &mut [[f32; N]; B], d: &mut [[f32; N]; B]) {
    for (h, d) in h.as_flattened_mut().iter_mut().zip(d.as_flattened_mut()) {
        (*h, *d) = fast_tanh_and_derivative(*h);
    }
}

/// `Relu` over a batch in place.
#[inline(always)]
fn relu_batch<const N: usize>(h: &mut [[f32; N]; B]) {
    for v in h.as_flattened_mut() {
        *v = relu(*v);
    }
}

/// `dx ⊙ relu'(z)`, from the layer's output `h = relu(z)` (`h > 0` iff
/// `z > 0`).
#[inline(always)]
fn relu_mask<const N: usize>(dx: &mut [[f32; N]; B], h: &[[f32; N]; B]) {
    for (d, &h) in dx.as_flattened_mut().iter_mut().zip(h.as_flattened()) {
        *d = if h > 0.0 { *d } else { 0.0 };
    }
}

// ------------------------------------------------------------------------
// Layers and loops.

/// A dense layer laid out for the loops: `w[i][o]`, input-major, with `O`
/// the layer's outputs padded with zeros to a multiple of 8.
#[derive(Clone)]
pub struct TDense<const I: usize, const O: usize> {
    pub w: [[f32; O]; I],
    pub b: [f32; O],
}

impl<const I: usize, const O: usize> TDense<I, O> {
    fn zeros() -> Self {
        TDense {
            w: [[0.0; O]; I],
            b: [0.0; O],
        }
    }

    /// Copies staticnet's layer of `R ≤ O` outputs, padding with zeros.
    fn set<const R: usize>(&mut self, d: &Dense<I, R>) {
        const { assert!(R <= O) };
        for i in 0..I {
            for o in 0..O {
                self.w[i][o] = if o < R { d.weight[(o, i)] } else { 0.0 };
            }
        }
        for o in 0..O {
            self.b[o] = if o < R { d.bias[o] } else { 0.0 };
        }
    }

    /// Panics unless this layer's change from `before` is staticnet's
    /// change from `before` to `after`, within `1e-3` of the largest change
    /// of each tensor (weights, bias); the padding must stay zero.
    fn check_step<const R: usize>(&self, what: &str, before: &Dense<I, R>, after: &Dense<I, R>) {
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for i in 0..I {
            for o in 0..O {
                if o < R {
                    got.push(self.w[i][o] - before.weight[(o, i)]);
                    want.push(after.weight[(o, i)] - before.weight[(o, i)]);
                } else {
                    assert_eq!(self.w[i][o], 0.0, "{what}: padding weight changed");
                }
            }
        }
        assert_close(&format!("{what} weight update"), &got, &want, 1e-3);
        let got: Vec<f32> = (0..R).map(|o| self.b[o] - before.bias[o]).collect();
        let want: Vec<f32> = (0..R).map(|o| after.bias[o] - before.bias[o]).collect();
        assert_close(&format!("{what} bias update"), &got, &want, 1e-3);
    }
}

/// Panics with a message unless every `got[k]` is within `rel` times the
/// largest `|want|` of `want[k]` (and the lengths agree).
pub fn assert_close(what: &str, got: &[f32], want: &[f32], rel: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: the reference is all zero");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * scale,
            "tuned baseline disagrees with staticnet: {what}[{k}] = {g}, staticnet {w} \
             (tolerance {rel} × {scale})"
        );
    }
}

/// Sum of the 8 lanes, as a tree.
#[inline(always)]
fn hsum(v: [f32; 8]) -> f32 {
    let h = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
    (h[0] + h[2]) + (h[1] + h[3])
}

/// `a · b`, 8 lanes of partial sums.
#[inline(always)]
fn dot<const F: bool, const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    const { assert!(N.is_multiple_of(8)) };
    let mut acc = [0.0f32; 8];
    for c in 0..N / 8 {
        for l in 0..8 {
            acc[l] = fma::<F>(a[8 * c + l], b[8 * c + l], acc[l]);
        }
    }
    hsum(acc)
}

/// One sample: `y = b + Σᵢ x[i] w[i]`. Each block of `OB` outputs stays in
/// registers over all the inputs, with `S` partial sums over the inputs
/// (input `i` goes to sum `i mod S`), so that `OB / 8 × S` vector FMAs are
/// independent. (Packing the weights so that each block's rows are
/// contiguous gained about 3% for the mid model, within the noise: not
/// done.)
#[inline(always)]
fn gemv<const F: bool, const I: usize, const O: usize, const OB: usize, const S: usize>(
    l: &TDense<I, O>,
    x: &[f32; I],
) -> [f32; O] {
    const { assert!(O.is_multiple_of(OB) && I.is_multiple_of(S) && S.is_power_of_two()) };
    let mut y = [0.0; O];
    for ob in 0..O / OB {
        let o0 = ob * OB;
        let mut acc = [[0.0f32; OB]; S];
        acc[0] = l.b[o0..o0 + OB].try_into().unwrap();
        for ii in 0..I / S {
            for s in 0..S {
                let i = ii * S + s;
                let xi = x[i];
                let row: &[f32; OB] = l.w[i][o0..o0 + OB].try_into().unwrap();
                for k in 0..OB {
                    acc[s][k] = fma::<F>(row[k], xi, acc[s][k]);
                }
            }
        }
        // The partial sums added as a tree: (a0 + a2) + (a1 + a3).
        let mut n = S;
        while n > 1 {
            n /= 2;
            for s in 0..n {
                for k in 0..OB {
                    acc[s][k] += acc[s + n][k];
                }
            }
        }
        y[o0..o0 + OB].copy_from_slice(&acc[0]);
    }
    y
}

/// Rows per register tile of the batch loops.
const RB: usize = 4;
/// Outputs per register tile of the batch loops (2 vectors).
const NB: usize = 16;

/// A batch: `out[r] = b + Σₖ a[r][k] w[k]`. Tiles of 4 samples × 16 outputs
/// (8 vector accumulators) stay in registers over all the inputs; the
/// 16-output column block of `w` is read once and reused from L1 by every
/// tile of samples.
#[inline(always)]
fn gemm<const F: bool, const K: usize, const N: usize>(
    a: &[[f32; K]; B],
    l: &TDense<K, N>,
    out: &mut [[f32; N]; B],
) {
    const { assert!(B.is_multiple_of(RB) && N.is_multiple_of(NB)) };
    for nb in 0..N / NB {
        let n0 = nb * NB;
        let bias: [f32; NB] = l.b[n0..n0 + NB].try_into().unwrap();
        for rb in 0..B / RB {
            let r0 = rb * RB;
            let mut acc = [bias; RB];
            for k in 0..K {
                let row: &[f32; NB] = l.w[k][n0..n0 + NB].try_into().unwrap();
                for rr in 0..RB {
                    let av = a[r0 + rr][k];
                    for j in 0..NB {
                        acc[rr][j] = fma::<F>(row[j], av, acc[rr][j]);
                    }
                }
            }
            for rr in 0..RB {
                out[r0 + rr][n0..n0 + NB].copy_from_slice(&acc[rr]);
            }
        }
    }
}

/// `dx[r][k] = Σₙ dy[r][n] w[k][n]` (`Wᵀ dy`, sample by sample). With `w`
/// input-major, the loop that runs along contiguous memory for both `w` and
/// the result is the one over the samples: `dy` is transposed (`B × N`
/// values, cheap beside the `B × N × K` products), `dxᵀ[k] = Σₙ w[k][n]
/// dyᵀ[n]` runs on register tiles of 4 inputs × 16 samples as the forward
/// pass does, and `dxᵀ` is transposed back.
#[inline(always)]
fn backprop<const F: bool, const K: usize, const N: usize>(
    dy: &[[f32; N]; B],
    l: &TDense<K, N>,
    dx: &mut [[f32; K]; B],
) {
    const { assert!(K.is_multiple_of(RB) && B.is_multiple_of(NB)) };
    let mut dyt = [[0.0f32; B]; N];
    transpose(dy, &mut dyt);
    let mut dxt = [[0.0f32; B]; K];
    for kb in 0..K / RB {
        let k0 = kb * RB;
        for rb in 0..B / NB {
            let r0 = rb * NB;
            let mut acc = [[0.0f32; NB]; RB];
            for n in 0..N {
                let d: &[f32; NB] = dyt[n][r0..r0 + NB].try_into().unwrap();
                for kk in 0..RB {
                    let wv = l.w[k0 + kk][n];
                    for j in 0..NB {
                        acc[kk][j] = fma::<F>(d[j], wv, acc[kk][j]);
                    }
                }
            }
            for kk in 0..RB {
                dxt[k0 + kk][r0..r0 + NB].copy_from_slice(&acc[kk]);
            }
        }
    }
    transpose(&dxt, dx);
}

/// `t[c][r] = m[r][c]`.
#[inline(always)]
fn transpose<const R: usize, const C: usize>(m: &[[f32; C]; R], t: &mut [[f32; R]; C]) {
    for r in 0..R {
        for c in 0..C {
            t[c][r] = m[r][c];
        }
    }
}

/// The SGD step of a layer from its batch, gradient and update fused:
/// `w[k] −= lr Σᵣ a[r][k] dy[r]`, `b −= lr Σᵣ dy[r]` (`dy` already holds
/// the 1/B of the mean). Each tile of `KB` inputs × 16 outputs is summed
/// over the batch in registers and applied at once.
#[inline(always)]
fn sgd_update<const F: bool, const KB: usize, const K: usize, const N: usize>(
    a: &[[f32; K]; B],
    dy: &[[f32; N]; B],
    l: &mut TDense<K, N>,
    lr: f32,
) {
    const { assert!(K.is_multiple_of(KB) && N.is_multiple_of(NB)) };
    for nb in 0..N / NB {
        let n0 = nb * NB;
        for kb in 0..K / KB {
            let k0 = kb * KB;
            let mut acc = [[0.0f32; NB]; KB];
            for r in 0..B {
                let d: &[f32; NB] = dy[r][n0..n0 + NB].try_into().unwrap();
                for kk in 0..KB {
                    let av = a[r][k0 + kk];
                    for j in 0..NB {
                        acc[kk][j] = fma::<F>(d[j], av, acc[kk][j]);
                    }
                }
            }
            for kk in 0..KB {
                let w: &mut [f32; NB] = (&mut l.w[k0 + kk][n0..n0 + NB]).try_into().unwrap();
                for j in 0..NB {
                    w[j] -= lr * acc[kk][j];
                }
            }
        }
    }
    let mut g = [0.0f32; N];
    for r in 0..B {
        for n in 0..N {
            g[n] += dy[r][n];
        }
    }
    for n in 0..N {
        l.b[n] -= lr * g[n];
    }
}

/// Softmax cross-entropy of the first `C` logits of `y` against class `t`:
/// returns the loss, and leaves `(softmax − onehot) · scale` in `y` (its
/// padding zero).
#[inline(always)]
fn softmax_cross_entropy<const C: usize, const N: usize>(
    y: &mut [f32; N],
    t: usize,
    scale: f32,
) -> f32 {
    let m = y[..C].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut e = [0.0f32; C];
    let mut sum = 0.0;
    for c in 0..C {
        e[c] = (y[c] - m).exp();
        sum += e[c];
    }
    let loss = m + sum.ln() - y[t];
    let inv = scale / sum;
    for c in 0..C {
        y[c] = e[c] * inv;
    }
    y[t] -= scale;
    for v in &mut y[C..] {
        *v = 0.0;
    }
    loss
}

/// Each model's two entry points: ask the CPU once, then run the AVX2 +
/// FMA copy (`F = true`) or the plain one.
macro_rules! entry_points {
    ($x:ty => $y:ty, $t:ty) => {
        pub fn forward(&self, x: &$x) -> $y {
            #[cfg(target_arch = "x86_64")]
            if avx2_fma() {
                // SAFETY: the CPU has AVX2 and FMA, the features
                // `forward_avx2` is compiled for (checked just now).
                return unsafe { self.forward_avx2(x) };
            }
            self.forward_with::<false>(x)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn forward_avx2(&self, x: &$x) -> $y {
            self.forward_with::<true>(x)
        }

        /// One SGD step on the batch; returns the mean loss.
        pub fn train_step(&mut self, xs: &[$x; B], ts: &[$t; B], lr: f32) -> f32 {
            #[cfg(target_arch = "x86_64")]
            if avx2_fma() {
                // SAFETY: the CPU has AVX2 and FMA, the features
                // `train_avx2` is compiled for (checked just now).
                return unsafe { self.train_avx2(xs, ts, lr) };
            }
            self.train_with::<false>(xs, ts, lr)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn train_avx2(&mut self, xs: &[$x; B], ts: &[$t; B], lr: f32) -> f32 {
            self.train_with::<true>(xs, ts, lr)
        }
    };
}

// ------------------------------------------------------------------------
// The models.

/// 2 → 16 `FastTanh` → 16 `FastTanh` → 1 `FastSigmoid`, trained on the
/// logit with binary cross-entropy.
#[derive(Clone)]
pub struct Tiny {
    l1: TDense<2, 16>,
    l2: TDense<16, 16>,
    /// The last layer, one output: a dot product.
    w3: [f32; 16],
    b3: f32,
    // The batch's activations, `R'` of each, and the gradients flowing back.
    h1: [[f32; 16]; B],
    d1: [[f32; 16]; B],
    h2: [[f32; 16]; B],
    d2: [[f32; 16]; B],
    e1: [[f32; 16]; B],
    e2: [[f32; 16]; B],
}

impl Tiny {
    pub fn new(l1: &Dense<2, 16>, l2: &Dense<16, 16>, l3: &Dense<16, 1>) -> Self {
        let mut t = Tiny {
            l1: TDense::zeros(),
            l2: TDense::zeros(),
            w3: core::array::from_fn(|i| l3.weight[(0, i)]),
            b3: l3.bias[0],
            h1: [[0.0; 16]; B],
            d1: [[0.0; 16]; B],
            h2: [[0.0; 16]; B],
            d2: [[0.0; 16]; B],
            e1: [[0.0; 16]; B],
            e2: [[0.0; 16]; B],
        };
        t.l1.set(l1);
        t.l2.set(l2);
        t
    }

    /// Panics unless this model's last step changed the weights as
    /// staticnet's step changed `before` into `after`.
    pub fn check_step(
        &self,
        before: (&Dense<2, 16>, &Dense<16, 16>, &Dense<16, 1>),
        after: (&Dense<2, 16>, &Dense<16, 16>, &Dense<16, 1>),
    ) {
        self.l1.check_step("tiny layer 1", before.0, after.0);
        self.l2.check_step("tiny layer 2", before.1, after.1);
        let got: Vec<f32> = (0..16)
            .map(|i| self.w3[i] - before.2.weight[(0, i)])
            .collect();
        let want: Vec<f32> = (0..16)
            .map(|i| after.2.weight[(0, i)] - before.2.weight[(0, i)])
            .collect();
        assert_close("tiny layer 3 weight update", &got, &want, 1e-3);
        let got = [self.b3 - before.2.bias[0]];
        let want = [after.2.bias[0] - before.2.bias[0]];
        assert_close("tiny layer 3 bias update", &got, &want, 1e-3);
    }

    entry_points!([f32; 2] => [f32; 1], f32);

    #[inline(always)]
    fn forward_with<const F: bool>(&self, x: &[f32; 2]) -> [f32; 1] {
        let mut h1 = gemv::<F, 2, 16, 16, 1>(&self.l1, x);
        for v in &mut h1 {
            *v = fast_tanh(*v);
        }
        let mut h2 = gemv::<F, 16, 16, 16, 4>(&self.l2, &h1);
        for v in &mut h2 {
            *v = fast_tanh(*v);
        }
        [fast_sigmoid(dot::<F, 16>(&h2, &self.w3) + self.b3)]
    }

    #[inline(always)]
    fn train_with<const F: bool>(&mut self, xs: &[[f32; 2]; B], ts: &[f32; B], lr: f32) -> f32 {
        let scale = 1.0 / B as f32;
        gemm::<F, 2, 16>(xs, &self.l1, &mut self.h1);
        tanh_tape(&mut self.h1, &mut self.d1);
        gemm::<F, 16, 16>(&self.h1, &self.l2, &mut self.h2);
        tanh_tape(&mut self.h2, &mut self.d2);
        // The logit, binary cross-entropy and its gradient (σ(y) − t) / B.
        let mut loss = 0.0;
        let mut dy = [0.0f32; B];
        for r in 0..B {
            let y = dot::<F, 16>(&self.h2[r], &self.w3) + self.b3;
            let t = ts[r];
            let e = (-y.abs()).exp();
            loss += y.max(0.0) - y * t + e.ln_1p();
            let s = if y >= 0.0 {
                1.0 / (1.0 + e)
            } else {
                e / (1.0 + e)
            };
            dy[r] = (s - t) * scale;
        }
        // Layer 3: its input gradient through `FastTanh`, then its update
        // (four partial sums over the batch).
        for r in 0..B {
            for k in 0..16 {
                self.e2[r][k] = self.w3[k] * dy[r] * self.d2[r][k];
            }
        }
        let mut g3 = [[0.0f32; 16]; 4];
        for rb in 0..B / 4 {
            for s in 0..4 {
                let r = 4 * rb + s;
                for k in 0..16 {
                    g3[s][k] = fma::<F>(dy[r], self.h2[r][k], g3[s][k]);
                }
            }
        }
        for k in 0..16 {
            self.w3[k] -= lr * ((g3[0][k] + g3[1][k]) + (g3[2][k] + g3[3][k]));
        }
        self.b3 -= lr * dy.iter().sum::<f32>();
        // Layer 2, then layer 1.
        backprop::<F, 16, 16>(&self.e2, &self.l2, &mut self.e1);
        for (e, d) in self
            .e1
            .as_flattened_mut()
            .iter_mut()
            .zip(self.d1.as_flattened())
        {
            *e *= d;
        }
        sgd_update::<F, 4, 16, 16>(&self.h1, &self.e2, &mut self.l2, lr);
        sgd_update::<F, 2, 2, 16>(xs, &self.e1, &mut self.l1, lr);
        loss * scale
    }
}

/// 64 → 32 `Relu` → 10, trained with softmax cross-entropy.
#[derive(Clone)]
pub struct Digits {
    l1: TDense<64, 32>,
    /// 10 outputs padded to 16.
    l2: TDense<32, 16>,
    h: [[f32; 32]; B],
    y: [[f32; 16]; B],
    e: [[f32; 32]; B],
}

impl Digits {
    pub fn new(l1: &Dense<64, 32>, l2: &Dense<32, 10>) -> Self {
        let mut t = Digits {
            l1: TDense::zeros(),
            l2: TDense::zeros(),
            h: [[0.0; 32]; B],
            y: [[0.0; 16]; B],
            e: [[0.0; 32]; B],
        };
        t.l1.set(l1);
        t.l2.set(l2);
        t
    }

    /// Panics unless this model's last step changed the weights as
    /// staticnet's step changed `before` into `after`.
    pub fn check_step(
        &self,
        before: (&Dense<64, 32>, &Dense<32, 10>),
        after: (&Dense<64, 32>, &Dense<32, 10>),
    ) {
        self.l1.check_step("digits layer 1", before.0, after.0);
        self.l2.check_step("digits layer 2", before.1, after.1);
    }

    entry_points!([f32; 64] => [f32; 10], usize);

    #[inline(always)]
    fn forward_with<const F: bool>(&self, x: &[f32; 64]) -> [f32; 10] {
        let mut h = gemv::<F, 64, 32, 32, 2>(&self.l1, x);
        for v in &mut h {
            *v = relu(*v);
        }
        let y = gemv::<F, 32, 16, 16, 4>(&self.l2, &h);
        y[..10].try_into().unwrap()
    }

    #[inline(always)]
    fn train_with<const F: bool>(&mut self, xs: &[[f32; 64]; B], ts: &[usize; B], lr: f32) -> f32 {
        let scale = 1.0 / B as f32;
        gemm::<F, 64, 32>(xs, &self.l1, &mut self.h);
        relu_batch(&mut self.h);
        gemm::<F, 32, 16>(&self.h, &self.l2, &mut self.y);
        let mut loss = 0.0;
        for (y, &t) in self.y.iter_mut().zip(ts) {
            loss += softmax_cross_entropy::<10, 16>(y, t, scale);
        }
        backprop::<F, 32, 16>(&self.y, &self.l2, &mut self.e);
        relu_mask(&mut self.e, &self.h);
        sgd_update::<F, 4, 32, 16>(&self.h, &self.y, &mut self.l2, lr);
        sgd_update::<F, 4, 64, 32>(xs, &self.e, &mut self.l1, lr);
        loss * scale
    }
}

/// 128 → 256 `Relu` → 256 `Relu` → 10, trained with softmax cross-entropy.
#[derive(Clone)]
pub struct Mid {
    l1: TDense<128, 256>,
    l2: TDense<256, 256>,
    /// 10 outputs padded to 16.
    l3: TDense<256, 16>,
    h1: [[f32; 256]; B],
    h2: [[f32; 256]; B],
    y: [[f32; 16]; B],
    e1: [[f32; 256]; B],
    e2: [[f32; 256]; B],
}

impl Mid {
    /// Boxed and at the start of a cache line (about 530 KB).
    pub fn new(
        l1: &Dense<128, 256>,
        l2: &Dense<256, 256>,
        l3: &Dense<256, 10>,
    ) -> Box<super::Aligned<Self>> {
        let mut m = super::aligned(Mid {
            l1: TDense::zeros(),
            l2: TDense::zeros(),
            l3: TDense::zeros(),
            h1: [[0.0; 256]; B],
            h2: [[0.0; 256]; B],
            y: [[0.0; 16]; B],
            e1: [[0.0; 256]; B],
            e2: [[0.0; 256]; B],
        });
        m.0.l1.set(l1);
        m.0.l2.set(l2);
        m.0.l3.set(l3);
        m
    }

    /// Panics unless this model's last step changed the weights as
    /// staticnet's step changed `before` into `after`.
    pub fn check_step(
        &self,
        before: (&Dense<128, 256>, &Dense<256, 256>, &Dense<256, 10>),
        after: (&Dense<128, 256>, &Dense<256, 256>, &Dense<256, 10>),
    ) {
        self.l1.check_step("mid layer 1", before.0, after.0);
        self.l2.check_step("mid layer 2", before.1, after.1);
        self.l3.check_step("mid layer 3", before.2, after.2);
    }

    entry_points!([f32; 128] => [f32; 10], usize);

    #[inline(always)]
    fn forward_with<const F: bool>(&self, x: &[f32; 128]) -> [f32; 10] {
        let mut h1 = gemv::<F, 128, 256, 64, 1>(&self.l1, x);
        for v in &mut h1 {
            *v = relu(*v);
        }
        let mut h2 = gemv::<F, 256, 256, 64, 1>(&self.l2, &h1);
        for v in &mut h2 {
            *v = relu(*v);
        }
        let y = gemv::<F, 256, 16, 16, 4>(&self.l3, &h2);
        y[..10].try_into().unwrap()
    }

    #[inline(always)]
    fn train_with<const F: bool>(&mut self, xs: &[[f32; 128]; B], ts: &[usize; B], lr: f32) -> f32 {
        let scale = 1.0 / B as f32;
        gemm::<F, 128, 256>(xs, &self.l1, &mut self.h1);
        relu_batch(&mut self.h1);
        gemm::<F, 256, 256>(&self.h1, &self.l2, &mut self.h2);
        relu_batch(&mut self.h2);
        gemm::<F, 256, 16>(&self.h2, &self.l3, &mut self.y);
        let mut loss = 0.0;
        for (y, &t) in self.y.iter_mut().zip(ts) {
            loss += softmax_cross_entropy::<10, 16>(y, t, scale);
        }
        backprop::<F, 256, 16>(&self.y, &self.l3, &mut self.e2);
        relu_mask(&mut self.e2, &self.h2);
        sgd_update::<F, 4, 256, 16>(&self.h2, &self.y, &mut self.l3, lr);
        backprop::<F, 256, 256>(&self.e2, &self.l2, &mut self.e1);
        relu_mask(&mut self.e1, &self.h1);
        sgd_update::<F, 4, 256, 256>(&self.h1, &self.e2, &mut self.l2, lr);
        sgd_update::<F, 4, 128, 256>(xs, &self.e1, &mut self.l1, lr);
        loss * scale
    }
}
