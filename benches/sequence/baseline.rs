//! The plain baseline: the four streaming models as a user would write them
//! by hand without thinking about speed. Row-major `[[f32; I]; O]` arrays
//! (PyTorch's `(out, in)` order, gate by gate), the obvious loops (one dot
//! product per row, the recurrent layers' gates computed row by row in one
//! pass), `std`'s `tanh` and `exp` (the logistic function as
//! `1 / (1 + e^(−x))`), the state kept in the struct, and a causal
//! convolution's past inputs in a shift register that moves every step.
//! The same equations as staticnet's layers (PyTorch's), so the outputs
//! agree to rounding: the benchmark checks them within 1e-5 before timing.

// Index loops over fixed arrays are the point: they are what a user writes.
#![allow(clippy::needless_range_loop)]

/// One streaming step, `I` values in, `O` out, the state inside.
pub trait Step<const I: usize, const O: usize> {
    /// Back to the state before the first step (zeros).
    fn reset(&mut self);
    /// One step of the stream.
    fn step(&mut self, x: &[f32; I]) -> [f32; O];
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A dense layer, `w[o][i]`.
pub struct Dense<const I: usize, const O: usize> {
    w: [[f32; I]; O],
    b: [f32; O],
}

impl<const I: usize, const O: usize> Dense<I, O> {
    pub fn from(d: &staticnet::Dense<I, O>) -> Self {
        Dense {
            w: core::array::from_fn(|o| core::array::from_fn(|i| d.weight[(o, i)])),
            b: core::array::from_fn(|o| d.bias[o]),
        }
    }

    fn forward(&self, x: &[f32; I]) -> [f32; O] {
        let mut y = self.b;
        for o in 0..O {
            for i in 0..I {
                y[o] += self.w[o][i] * x[i];
            }
        }
        y
    }
}

/// A GRU (gates `r, z, n`) followed by a dense layer: `w_ih[g][k][i]`,
/// `w_hh[g][k][j]`, PyTorch's `weight_ih_l0.reshape(3, H, I)`.
pub struct Gru<const I: usize, const H: usize, const O: usize> {
    w_ih: [[[f32; I]; H]; 3],
    w_hh: [[[f32; H]; H]; 3],
    b_ih: [[f32; H]; 3],
    b_hh: [[f32; H]; 3],
    h: [f32; H],
    out: Dense<H, O>,
}

impl<const I: usize, const H: usize, const O: usize> Gru<I, H, O> {
    pub fn from(net: &(staticnet::Gru<I, H>, staticnet::Dense<H, O>)) -> Self {
        let g = &net.0;
        Gru {
            w_ih: core::array::from_fn(|gate| {
                core::array::from_fn(|k| core::array::from_fn(|i| g.weight_ih[i][gate][k]))
            }),
            w_hh: core::array::from_fn(|gate| {
                core::array::from_fn(|k| core::array::from_fn(|j| g.weight_hh[j][gate][k]))
            }),
            b_ih: g.bias_ih,
            b_hh: g.bias_hh,
            h: [0.0; H],
            out: Dense::from(&net.1),
        }
    }
}

impl<const I: usize, const H: usize, const O: usize> Step<I, O> for Gru<I, H, O> {
    fn reset(&mut self) {
        self.h = [0.0; H];
    }

    fn step(&mut self, x: &[f32; I]) -> [f32; O] {
        let h = self.h;
        let mut new_h = [0.0; H];
        for k in 0..H {
            let mut r = self.b_ih[0][k] + self.b_hh[0][k];
            let mut z = self.b_ih[1][k] + self.b_hh[1][k];
            let mut n_x = self.b_ih[2][k];
            let mut n_h = self.b_hh[2][k];
            for i in 0..I {
                r += self.w_ih[0][k][i] * x[i];
                z += self.w_ih[1][k][i] * x[i];
                n_x += self.w_ih[2][k][i] * x[i];
            }
            for j in 0..H {
                r += self.w_hh[0][k][j] * h[j];
                z += self.w_hh[1][k][j] * h[j];
                n_h += self.w_hh[2][k][j] * h[j];
            }
            let r = sigmoid(r);
            let z = sigmoid(z);
            let n = (n_x + r * n_h).tanh();
            new_h[k] = (1.0 - z) * n + z * h[k];
        }
        self.h = new_h;
        self.out.forward(&self.h)
    }
}

/// An LSTM (gates `i, f, g, o`) followed by a dense layer.
pub struct Lstm<const I: usize, const H: usize, const O: usize> {
    w_ih: [[[f32; I]; H]; 4],
    w_hh: [[[f32; H]; H]; 4],
    b_ih: [[f32; H]; 4],
    b_hh: [[f32; H]; 4],
    h: [f32; H],
    c: [f32; H],
    out: Dense<H, O>,
}

impl<const I: usize, const H: usize, const O: usize> Lstm<I, H, O> {
    pub fn from(net: &(staticnet::Lstm<I, H>, staticnet::Dense<H, O>)) -> Self {
        let l = &net.0;
        Lstm {
            w_ih: core::array::from_fn(|gate| {
                core::array::from_fn(|k| core::array::from_fn(|i| l.weight_ih[i][gate][k]))
            }),
            w_hh: core::array::from_fn(|gate| {
                core::array::from_fn(|k| core::array::from_fn(|j| l.weight_hh[j][gate][k]))
            }),
            b_ih: l.bias_ih,
            b_hh: l.bias_hh,
            h: [0.0; H],
            c: [0.0; H],
            out: Dense::from(&net.1),
        }
    }
}

impl<const I: usize, const H: usize, const O: usize> Step<I, O> for Lstm<I, H, O> {
    fn reset(&mut self) {
        self.h = [0.0; H];
        self.c = [0.0; H];
    }

    fn step(&mut self, x: &[f32; I]) -> [f32; O] {
        let h = self.h;
        let mut new_h = [0.0; H];
        for k in 0..H {
            let mut a = [0.0f32; 4];
            for gate in 0..4 {
                a[gate] = self.b_ih[gate][k] + self.b_hh[gate][k];
                for i in 0..I {
                    a[gate] += self.w_ih[gate][k][i] * x[i];
                }
                for j in 0..H {
                    a[gate] += self.w_hh[gate][k][j] * h[j];
                }
            }
            let i = sigmoid(a[0]);
            let f = sigmoid(a[1]);
            let g = a[2].tanh();
            let o = sigmoid(a[3]);
            self.c[k] = f * self.c[k] + i * g;
            new_h[k] = o * self.c[k].tanh();
        }
        self.h = new_h;
        self.out.forward(&self.h)
    }
}

/// A causal convolution, `w[o][i][k]` (PyTorch's `weight`), dilation `D`,
/// over the last `SPAN = (K − 1)·D + 1` inputs, kept oldest first in a
/// shift register.
pub struct CausalConv<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const D: usize,
    const SPAN: usize,
> {
    w: [[[f32; K]; CI]; CO],
    b: [f32; CO],
    past: [[f32; CI]; SPAN],
}

impl<const CI: usize, const CO: usize, const K: usize, const D: usize, const SPAN: usize>
    CausalConv<CI, CO, K, D, SPAN>
{
    pub fn from<P>(conv: &staticnet::Conv1d<CI, CO, K, P>) -> Self {
        assert_eq!(SPAN, (K - 1) * D + 1);
        CausalConv {
            w: core::array::from_fn(|o| {
                core::array::from_fn(|i| core::array::from_fn(|k| conv.weight[k][i][o]))
            }),
            b: conv.bias,
            past: [[0.0; CI]; SPAN],
        }
    }

    fn step(&mut self, x: &[f32; CI]) -> [f32; CO] {
        for s in 0..SPAN - 1 {
            self.past[s] = self.past[s + 1];
        }
        self.past[SPAN - 1] = *x;
        let mut y = self.b;
        for o in 0..CO {
            for i in 0..CI {
                for k in 0..K {
                    y[o] += self.w[o][i][k] * self.past[k * D][i];
                }
            }
        }
        y
    }
}

/// Conv1d(1 → 16, k 3) → tanh → Conv1d(16 → 16, k 3, dilation 2) → tanh →
/// Dense(16 → 1).
pub struct ConvStack {
    c1: CausalConv<1, 16, 3, 1, 3>,
    c2: CausalConv<16, 16, 3, 2, 5>,
    out: Dense<16, 1>,
}

impl ConvStack {
    pub fn from(net: &super::ConvNet) -> Self {
        ConvStack {
            c1: CausalConv::from(&net.0),
            c2: CausalConv::from(&net.2),
            out: Dense::from(&net.4),
        }
    }
}

impl Step<1, 1> for ConvStack {
    fn reset(&mut self) {
        self.c1.past = [[0.0; 1]; 3];
        self.c2.past = [[0.0; 16]; 5];
    }

    fn step(&mut self, x: &[f32; 1]) -> [f32; 1] {
        let mut a = self.c1.step(x);
        for v in &mut a {
            *v = v.tanh();
        }
        let mut b = self.c2.step(&a);
        for v in &mut b {
            *v = v.tanh();
        }
        self.out.forward(&b)
    }
}
