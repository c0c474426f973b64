//! The plain baseline: the three models as a user would write them by hand
//! without thinking about speed, with `[[f32; I]; O]` arrays, the obvious
//! loops and `std`'s `tanh` and `exp` (the exact functions, where the tiny
//! model under test uses the `FastTanh`/`FastSigmoid` approximations). No
//! library, no tuning. It is one of two baselines timed in the same run:
//! `tuned.rs` holds the other, the same models as a performance-minded
//! programmer would write them (layouts for the loops, register tiles,
//! FMAs, the model's own activations, AVX2 + FMA behind a runtime check).
//! The summary reports the ratio to each (`× base`, `× tuned`).

// Index loops over fixed arrays are the point: they are what a user writes.
#![allow(clippy::needless_range_loop)]

use staticnet::Dense;

pub const B: usize = super::B;

/// A dense layer as row-major arrays: `w[o][i]`.
#[derive(Clone)]
pub struct NaiveDense<const I: usize, const O: usize> {
    pub w: [[f32; I]; O],
    pub b: [f32; O],
}

impl<const I: usize, const O: usize> NaiveDense<I, O> {
    pub fn from(d: &Dense<I, O>) -> Self {
        NaiveDense {
            w: core::array::from_fn(|o| core::array::from_fn(|i| d.weight[(o, i)])),
            b: core::array::from_fn(|o| d.bias[o]),
        }
    }

    pub fn zeros() -> Self {
        NaiveDense {
            w: [[0.0; I]; O],
            b: [0.0; O],
        }
    }

    pub fn forward(&self, x: &[f32; I]) -> [f32; O] {
        let mut y = self.b;
        for o in 0..O {
            for i in 0..I {
                y[o] += self.w[o][i] * x[i];
            }
        }
        y
    }

    /// Adds `dy xᵀ` and `dy` into `g`.
    pub fn backward_params(&self, x: &[f32; I], dy: &[f32; O], g: &mut Self) {
        for o in 0..O {
            for i in 0..I {
                g.w[o][i] += dy[o] * x[i];
            }
            g.b[o] += dy[o];
        }
    }

    /// Adds the parameter gradients into `g` and returns `Wᵀ dy`.
    pub fn backward(&self, x: &[f32; I], dy: &[f32; O], g: &mut Self) -> [f32; I] {
        self.backward_params(x, dy, g);
        let mut dx = [0.0; I];
        for o in 0..O {
            for i in 0..I {
                dx[i] += self.w[o][i] * dy[o];
            }
        }
        dx
    }

    pub fn set_zero(&mut self) {
        *self = Self::zeros();
    }

    pub fn sgd(&mut self, g: &Self, lr: f32) {
        for o in 0..O {
            for i in 0..I {
                self.w[o][i] -= lr * g.w[o][i];
            }
            self.b[o] -= lr * g.b[o];
        }
    }
}

pub fn tanh(v: f32) -> f32 {
    v.tanh()
}

pub fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

pub fn relu(v: f32) -> f32 {
    v.max(0.0)
}

/// Softmax cross-entropy of logits `y` against class `t`: the loss and
/// `∂ℓ/∂y = softmax(y) − onehot(t)`.
fn cross_entropy<const N: usize>(y: &[f32; N], t: usize) -> (f32, [f32; N]) {
    let m = y.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut e = y.map(|v| (v - m).exp());
    let sum: f32 = e.iter().sum();
    for v in &mut e {
        *v /= sum;
    }
    e[t] -= 1.0;
    (m + sum.ln() - y[t], e)
}

#[derive(Clone)]
pub struct Tiny {
    l1: NaiveDense<2, 16>,
    l2: NaiveDense<16, 16>,
    l3: NaiveDense<16, 1>,
    g1: NaiveDense<2, 16>,
    g2: NaiveDense<16, 16>,
    g3: NaiveDense<16, 1>,
}

impl Tiny {
    pub fn new(l1: &Dense<2, 16>, l2: &Dense<16, 16>, l3: &Dense<16, 1>) -> Self {
        Tiny {
            l1: NaiveDense::from(l1),
            l2: NaiveDense::from(l2),
            l3: NaiveDense::from(l3),
            g1: NaiveDense::zeros(),
            g2: NaiveDense::zeros(),
            g3: NaiveDense::zeros(),
        }
    }

    pub fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
        let h1 = self.l1.forward(x).map(tanh);
        let h2 = self.l2.forward(&h1).map(tanh);
        self.l3.forward(&h2).map(sigmoid)
    }

    /// One SGD step on the batch with binary cross-entropy from logits.
    pub fn train_step(&mut self, xs: &[[f32; 2]; B], ts: &[f32; B], lr: f32) -> f32 {
        self.g1.set_zero();
        self.g2.set_zero();
        self.g3.set_zero();
        let mut loss = 0.0;
        for (x, &t) in xs.iter().zip(ts) {
            let h1 = self.l1.forward(x).map(tanh);
            let h2 = self.l2.forward(&h1).map(tanh);
            let y = self.l3.forward(&h2)[0];
            loss += y.max(0.0) - y * t + (-y.abs()).exp().ln_1p();
            let dy = [(sigmoid(y) - t) / B as f32];
            let mut d2 = self.l3.backward(&h2, &dy, &mut self.g3);
            for (d, h) in d2.iter_mut().zip(&h2) {
                *d *= 1.0 - h * h;
            }
            let mut d1 = self.l2.backward(&h1, &d2, &mut self.g2);
            for (d, h) in d1.iter_mut().zip(&h1) {
                *d *= 1.0 - h * h;
            }
            self.l1.backward_params(x, &d1, &mut self.g1);
        }
        self.l1.sgd(&self.g1, lr);
        self.l2.sgd(&self.g2, lr);
        self.l3.sgd(&self.g3, lr);
        loss / B as f32
    }
}

#[derive(Clone)]
pub struct Digits {
    l1: NaiveDense<64, 32>,
    l2: NaiveDense<32, 10>,
    g1: NaiveDense<64, 32>,
    g2: NaiveDense<32, 10>,
}

impl Digits {
    pub fn new(l1: &Dense<64, 32>, l2: &Dense<32, 10>) -> Self {
        Digits {
            l1: NaiveDense::from(l1),
            l2: NaiveDense::from(l2),
            g1: NaiveDense::zeros(),
            g2: NaiveDense::zeros(),
        }
    }

    pub fn forward(&self, x: &[f32; 64]) -> [f32; 10] {
        let h = self.l1.forward(x).map(relu);
        self.l2.forward(&h)
    }

    /// One SGD step on the batch with cross-entropy from logits.
    pub fn train_step(&mut self, xs: &[[f32; 64]; B], ts: &[usize; B], lr: f32) -> f32 {
        self.g1.set_zero();
        self.g2.set_zero();
        let mut loss = 0.0;
        for (x, &t) in xs.iter().zip(ts) {
            let z = self.l1.forward(x);
            let h = z.map(relu);
            let y = self.l2.forward(&h);
            let (l, mut dy) = cross_entropy(&y, t);
            loss += l;
            dy.iter_mut().for_each(|v| *v /= B as f32);
            let mut d = self.l2.backward(&h, &dy, &mut self.g2);
            for (d, z) in d.iter_mut().zip(&z) {
                *d = if *z > 0.0 { *d } else { 0.0 };
            }
            self.l1.backward_params(x, &d, &mut self.g1);
        }
        self.l1.sgd(&self.g1, lr);
        self.l2.sgd(&self.g2, lr);
        loss / B as f32
    }
}

#[derive(Clone)]
pub struct Mid {
    l1: NaiveDense<128, 256>,
    l2: NaiveDense<256, 256>,
    l3: NaiveDense<256, 10>,
    g1: NaiveDense<128, 256>,
    g2: NaiveDense<256, 256>,
    g3: NaiveDense<256, 10>,
}

impl Mid {
    pub fn new(
        l1: &Dense<128, 256>,
        l2: &Dense<256, 256>,
        l3: &Dense<256, 10>,
    ) -> Box<super::Aligned<Self>> {
        let mut m = super::aligned(Mid {
            l1: NaiveDense::zeros(),
            l2: NaiveDense::zeros(),
            l3: NaiveDense::zeros(),
            g1: NaiveDense::zeros(),
            g2: NaiveDense::zeros(),
            g3: NaiveDense::zeros(),
        });
        m.0.l1 = NaiveDense::from(l1);
        m.0.l2 = NaiveDense::from(l2);
        m.0.l3 = NaiveDense::from(l3);
        m
    }

    pub fn forward(&self, x: &[f32; 128]) -> [f32; 10] {
        let h1 = self.l1.forward(x).map(relu);
        let h2 = self.l2.forward(&h1).map(relu);
        self.l3.forward(&h2)
    }

    /// One SGD step on the batch with cross-entropy from logits.
    pub fn train_step(&mut self, xs: &[[f32; 128]; B], ts: &[usize; B], lr: f32) -> f32 {
        self.g1.set_zero();
        self.g2.set_zero();
        self.g3.set_zero();
        let mut loss = 0.0;
        for (x, &t) in xs.iter().zip(ts) {
            let z1 = self.l1.forward(x);
            let h1 = z1.map(relu);
            let z2 = self.l2.forward(&h1);
            let h2 = z2.map(relu);
            let y = self.l3.forward(&h2);
            let (l, mut dy) = cross_entropy(&y, t);
            loss += l;
            dy.iter_mut().for_each(|v| *v /= B as f32);
            let mut d2 = self.l3.backward(&h2, &dy, &mut self.g3);
            for (d, z) in d2.iter_mut().zip(&z2) {
                *d = if *z > 0.0 { *d } else { 0.0 };
            }
            let mut d1 = self.l2.backward(&h1, &d2, &mut self.g2);
            for (d, z) in d1.iter_mut().zip(&z1) {
                *d = if *z > 0.0 { *d } else { 0.0 };
            }
            self.l1.backward_params(x, &d1, &mut self.g1);
        }
        self.l1.sgd(&self.g1, lr);
        self.l2.sgd(&self.g2, lr);
        self.l3.sgd(&self.g3, lr);
        loss / B as f32
    }
}
