//! The recurrent layers, `Gru` and `Lstm`: backpropagation through time
//! against central differences in f64 (every parameter tensor and the input,
//! 20 steps, a batch of 2, alone and in networks), the forward pass against
//! the equations written out by hand, PyTorch's tensor layout (names,
//! shapes, the stacked row-major matrices of a `state_dict`), streaming
//! against the whole-sequence forward bit for bit, and the tape sizes the
//! docs give.

mod common;

use common::*;
use nalgebra::{SMatrix, SVector};
use staticnet::Tensor;
use staticnet::io::rust::to_rust;
use staticnet::params::{Layout, Node, TensorInfo};
use staticnet::prelude::*;
use staticnet::stream::Stream;
use staticnet::{GruTape, LstmTape};

// ---------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------

/// `Σ w ⊙ y`: the loss whose gradient with respect to `y` is `w`.
fn weighted<Y: Tensor<Scalar = f64>>(w: &Y, y: &Y) -> f64 {
    w.as_slice()
        .iter()
        .zip(y.as_slice())
        .map(|(a, b)| a * b)
        .sum()
}

/// Central differences agree with the analytic gradient to a relative 1e-6
/// (absolute 1e-9 for values that vanish), and gradcheck's criterion.
fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_gradcheck(what, analytic, numeric);
    for (k, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let d = (a - n).abs();
        assert!(
            d <= 1e-9 || d <= 1e-6 * n.abs(),
            "{what}: element {k}: analytic {a:e} vs numeric {n:e} (relative {:e})",
            d / n.abs()
        );
    }
}

/// The gradient of `Σ w ⊙ net(x)` with respect to every parameter and every
/// input value, against central differences; the backward pass is a pure
/// function of its tape, and `backward_params` gives `backward`'s parameter
/// gradient bit for bit. Returns the analytic input gradient.
fn check_network<N, const C: usize, const L: usize, const B: usize, Y>(
    what: &str,
    net: &N,
    x: &Seq<f64, C, L, B>,
    w: &Y,
) -> Seq<f64, C, L, B>
where
    N: Train<Seq<f64, C, L, B>, Output = Y> + Params<f64> + Clone,
    Y: Tensor<Scalar = f64>,
{
    let loss = |net: &N, x: &Seq<f64, C, L, B>| weighted(w, &net.forward(x));
    let (y, tape) = net.forward_train(x);
    assert_eq!(
        y.as_slice(),
        net.forward(x).as_slice(),
        "{what}: the training forward pass computes the forward pass"
    );
    let mut grad = N::zeros();
    let dx = net.backward(&tape, w, &mut grad);

    // Every parameter.
    let theta = flat(net);
    let mut probe = net.clone();
    let numeric: Vec<f64> = (0..theta.len())
        .map(|p| {
            let mut t = theta.clone();
            t[p] = theta[p] + EPS;
            set_flat(&mut probe, &t);
            let lp = loss(&probe, x);
            t[p] = theta[p] - EPS;
            set_flat(&mut probe, &t);
            let lm = loss(&probe, x);
            (lp - lm) / (2.0 * EPS)
        })
        .collect();
    let analytic = flat(&grad);
    // Tensor by tensor, so that a failure names it.
    let mut at = 0;
    N::tensors([net], [], &mut |info: TensorInfo, [p], []| {
        if info.role == staticnet::params::Role::Trainable {
            let n = p.len();
            assert_close(
                &format!("{what}: ∂L/∂{}", info.name),
                &analytic[at..at + n],
                &numeric[at..at + n],
            );
            at += n;
        }
    });
    assert_eq!(at, theta.len());

    // Every input value.
    let numeric: Vec<f64> = (0..C * L * B)
        .map(|k| {
            let (mut xp, mut xm) = (*x, *x);
            xp.as_mut_slice()[k] += EPS;
            xm.as_mut_slice()[k] -= EPS;
            (loss(net, &xp) - loss(net, &xm)) / (2.0 * EPS)
        })
        .collect();
    assert_close(&format!("{what}: ∂L/∂x"), dx.as_slice(), &numeric);

    // Backward is a pure function of the tape; backward_params agrees.
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (mut g2, mut g3) = (N::zeros(), N::zeros());
    let dx2 = net.backward(&tape, w, &mut g2);
    net.backward_params(&tape, w, &mut g3);
    assert_eq!(
        bits(dx.as_slice()),
        bits(dx2.as_slice()),
        "{what}: dx twice"
    );
    assert_eq!(bits(&flat(&grad)), bits(&flat(&g2)), "{what}: dθ twice");
    assert_eq!(
        bits(&flat(&grad)),
        bits(&flat(&g3)),
        "{what}: backward_params"
    );
    dx
}

/// A network with every parameter uniform in `[−a, a)`.
fn random_net<N: Params<f64>>(seed: u64, a: f64) -> N {
    let mut r = rng(seed);
    let mut net = N::zeros();
    let theta: Vec<f64> = (0..N::NUM_PARAMS).map(|_| uniform(&mut r, -a, a)).collect();
    set_flat(&mut net, &theta);
    net
}

fn random_seq<const C: usize, const L: usize, const B: usize>(seed: u64) -> Seq<f64, C, L, B> {
    let mut r = rng(seed);
    Seq::from_fn(|_, _, _| uniform(&mut r, -1.5, 1.5))
}

/// Weights of a loss over every step (`mean = true`: divided by the
/// number of values, a mean) or over the last step only.
fn loss_weights<const H: usize, const L: usize, const B: usize>(
    seed: u64,
    last_step_only: bool,
) -> Seq<f64, H, L, B> {
    let mut r = rng(seed);
    Seq::from_fn(|_, t, _| {
        let v = uniform(&mut r, -1.0, 1.0);
        if last_step_only {
            if t == L - 1 { v } else { 0.0 }
        } else {
            v / (H * L * B) as f64
        }
    })
}

/// The input gradient reaches the first step, so the check covered the
/// whole chain back through time.
fn assert_reaches_first_step<const C: usize, const L: usize, const B: usize>(
    what: &str,
    dx: &Seq<f64, C, L, B>,
) {
    for b in 0..B {
        let first = dx.data[b][0].iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(first > 1e-6, "{what}: ∂L/∂x₀ of sample {b} is {first:e}");
    }
}

#[test]
fn gru_bptt_matches_finite_differences_over_20_steps() {
    let gru: Gru<3, 4, f64> = random_net(1, 1.0);
    let x = random_seq::<3, 20, 2>(2);
    // A loss on every step, and one on the last step only.
    check_network(
        "GRU, every step",
        &gru,
        &x,
        &loss_weights::<4, 20, 2>(3, false),
    );
    let dx = check_network(
        "GRU, last step",
        &gru,
        &x,
        &loss_weights::<4, 20, 2>(4, true),
    );
    assert_reaches_first_step("GRU", &dx);
}

#[test]
fn lstm_bptt_matches_finite_differences_over_20_steps() {
    let lstm: Lstm<3, 4, f64> = random_net(5, 1.0);
    let x = random_seq::<3, 20, 2>(6);
    check_network(
        "LSTM, every step",
        &lstm,
        &x,
        &loss_weights::<4, 20, 2>(7, false),
    );
    let dx = check_network(
        "LSTM, last step",
        &lstm,
        &x,
        &loss_weights::<4, 20, 2>(8, true),
    );
    assert_reaches_first_step("LSTM", &dx);
}

#[test]
fn one_unit_and_one_step_layers_match_finite_differences() {
    let gru: Gru<1, 1, f64> = random_net(9, 1.5);
    let x = random_seq::<1, 1, 3>(10);
    check_network(
        "GRU<1, 1>, one step",
        &gru,
        &x,
        &loss_weights::<1, 1, 3>(11, false),
    );
    let lstm: Lstm<2, 1, f64> = random_net(12, 1.5);
    let x = random_seq::<2, 3, 1>(13);
    check_network("LSTM<2, 1>", &lstm, &x, &loss_weights::<1, 3, 1>(14, false));
}

#[test]
fn networks_of_recurrent_layers_match_finite_differences() {
    // GRU → tanh → Dense per step, loss the mean over steps.
    type GruNet = (Gru<3, 4, f64>, Tanh, Dense<4, 2, f64>);
    let net: GruNet = random_net(20, 1.0);
    let x = random_seq::<3, 20, 2>(21);
    check_network(
        "GRU, Tanh, Dense",
        &net,
        &x,
        &loss_weights::<2, 20, 2>(22, false),
    );

    // LSTM → GRU → last step → Dense (the input gradient of the GRU flows
    // into the LSTM), loss on the last step.
    type Stacked = (Lstm<3, 4, f64>, Gru<4, 3, f64>, LastStep, Dense<3, 2, f64>);
    let net: Stacked = random_net(23, 1.0);
    let mut r = rng(24);
    let w = SMatrix::<f64, 2, 2>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0));
    let dx = check_network("LSTM, GRU, LastStep, Dense", &net, &x, &w);
    assert_reaches_first_step("LSTM, GRU, LastStep, Dense", &dx);
}

// ---------------------------------------------------------------------------
// The equations, by hand
// ---------------------------------------------------------------------------

fn sigma(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn gru_forward_is_pytorchs_equations_by_hand() {
    // I = 1, H = 2, two steps; gates r, z, n, rows k = 0, 1.
    let w_ih = [[[0.5], [-1.0]], [[0.25], [0.75]], [[1.5], [-0.5]]];
    let w_hh = [
        [[0.1, -0.2], [0.3, 0.4]],
        [[-0.5, 0.6], [0.7, -0.8]],
        [[0.9, 1.0], [-1.1, 1.2]],
    ];
    let b_ih = [[0.01, -0.02], [0.03, 0.04], [-0.05, 0.06]];
    let b_hh = [[0.07, 0.08], [-0.09, 0.1], [0.11, -0.12]];
    let gru = Gru::<1, 2, f64>::from_gates(w_ih, w_hh, b_ih, b_hh);
    let xs = [0.8, -0.3];

    let mut h = [0.0f64; 2];
    let mut expected = [[0.0; 2]; 2];
    for (t, &x) in xs.iter().enumerate() {
        let pre = |g: usize, k: usize| -> (f64, f64) {
            let gi = w_ih[g][k][0] * x + b_ih[g][k];
            let gh = w_hh[g][k][0] * h[0] + w_hh[g][k][1] * h[1] + b_hh[g][k];
            (gi, gh)
        };
        let mut next = [0.0; 2];
        for k in 0..2 {
            let (ir, hr) = pre(0, k);
            let (iz, hz) = pre(1, k);
            let (in_, hn) = pre(2, k);
            let r = sigma(ir + hr);
            let z = sigma(iz + hz);
            let n = (in_ + r * hn).tanh();
            next[k] = (1.0 - z) * n + z * h[k];
        }
        h = next;
        expected[t] = h;
    }
    let y = gru.predict(&Seq::<f64, 1, 2>::from_steps([[xs[0]], [xs[1]]]));
    for t in 0..2 {
        for k in 0..2 {
            approx::assert_relative_eq!(y.data[0][t][k], expected[t][k], max_relative = 1e-14);
        }
    }
    // The first step from h = 0 in closed form, unit 0:
    // r plays no part (W_hn h = 0), so h₀ = (1 − z) tanh(W_in x + b_in + r b_hn).
    let r = sigma(0.5 * 0.8 + 0.01 + 0.07);
    let z = sigma(0.25 * 0.8 + 0.03 - 0.09);
    let h0 = (1.0 - z) * (1.5 * 0.8 - 0.05 + r * 0.11).tanh();
    approx::assert_relative_eq!(y.data[0][0][0], h0, max_relative = 1e-14);
}

#[test]
fn lstm_forward_is_pytorchs_equations_by_hand() {
    // I = 1, H = 2, two steps; gates i, f, g, o.
    let w_ih = [
        [[0.5], [-1.0]],
        [[0.25], [0.75]],
        [[1.5], [-0.5]],
        [[0.2], [0.3]],
    ];
    let w_hh = [
        [[0.1, -0.2], [0.3, 0.4]],
        [[-0.5, 0.6], [0.7, -0.8]],
        [[0.9, 1.0], [-1.1, 1.2]],
        [[0.05, -0.15], [0.25, -0.35]],
    ];
    let b_ih = [[0.01, -0.02], [0.03, 0.04], [-0.05, 0.06], [0.2, -0.1]];
    let b_hh = [[0.07, 0.08], [-0.09, 0.1], [0.11, -0.12], [0.0, 0.3]];
    let lstm = Lstm::<1, 2, f64>::from_gates(w_ih, w_hh, b_ih, b_hh);
    let xs = [0.8, -0.3];

    let (mut h, mut c) = ([0.0f64; 2], [0.0f64; 2]);
    let mut expected = [[0.0; 2]; 2];
    for (t, &x) in xs.iter().enumerate() {
        let a = |g: usize, k: usize| {
            w_ih[g][k][0] * x
                + b_ih[g][k]
                + w_hh[g][k][0] * h[0]
                + w_hh[g][k][1] * h[1]
                + b_hh[g][k]
        };
        let (mut hn, mut cn) = ([0.0; 2], [0.0; 2]);
        for k in 0..2 {
            let i = sigma(a(0, k));
            let f = sigma(a(1, k));
            let g = a(2, k).tanh();
            let o = sigma(a(3, k));
            cn[k] = f * c[k] + i * g;
            hn[k] = o * cn[k].tanh();
        }
        (h, c) = (hn, cn);
        expected[t] = h;
    }
    let y = lstm.predict(&Seq::<f64, 1, 2>::from_steps([[xs[0]], [xs[1]]]));
    for t in 0..2 {
        for k in 0..2 {
            approx::assert_relative_eq!(y.data[0][t][k], expected[t][k], max_relative = 1e-13);
        }
    }
    // The first step in closed form, unit 1: c₀ = i g (f multiplies c₋₁ = 0).
    let i = sigma(-0.8 - 0.02 + 0.08); // W_ii = −1, x = 0.8
    let g = (-0.5f64 * 0.8 + 0.06 - 0.12).tanh();
    let o = sigma(0.3 * 0.8 - 0.1 + 0.3);
    approx::assert_relative_eq!(y.data[0][0][1], o * (i * g).tanh(), max_relative = 1e-14);
}

/// The gates use the crate's activations: in `f64` bit for bit those of
/// [`Sigmoid`] and [`Tanh`]; in `f32` the cells' own vectorisable ones
/// (vector code with fused multiply-adds where the CPU has AVX2 and FMA),
/// `σ` within 2.5 ulp and `tanh` within 1.06 ulp of the exact values (and
/// `tanh` exactly odd, 0 at 0, ±1 far out).
#[test]
fn the_gates_are_the_crates_sigmoid_and_tanh() {
    fn check<T: staticnet::Scalar>(sigmoid_is: impl Fn(T, T, T), tanh_within: impl Fn(T, T)) {
        let x = Seq::<T, 1, 64>::from_fn(|_, t, _| {
            let v = [0.0, -1e-7, 1e-30, -1e-30, 90.0, -90.0, 20.0, -20.0][t % 8];
            T::of_f64(if t < 8 { v } else { (t as f64 - 36.0) * 0.37 })
        });
        // r's pre-activation is x (W_ir = 1), n's is x (W_in = 1, W_hn = 0,
        // b_hn = 0), up to the zero biases' sign (0 + (−0) = +0, so no −0).
        let mut gru = Gru::<1, 1, T>::default();
        gru.weight_ih[0][0][0] = T::ONE;
        gru.weight_ih[0][2][0] = T::ONE;
        let (_, tape) = gru.forward_train(&x);
        // LSTM: i's pre-activation is x, g's is x.
        let mut lstm = Lstm::<1, 1, T>::default();
        lstm.weight_ih[0][0][0] = T::ONE;
        lstm.weight_ih[0][2][0] = T::ONE;
        let (_, lstm_tape) = lstm.forward_train(&x);
        for t in 0..64 {
            let v = SVector::<T, 1>::from([x.data[0][t][0]]);
            let s = Sigmoid.predict(&v)[0];
            let [r, _, n] = tape.gates(0, t);
            let [i, _, g, _] = lstm_tape.gates(0, t);
            let bits = |a: T| a.as_f64().to_bits();
            sigmoid_is(v[0], r[0], s);
            assert_eq!(bits(i[0]), bits(r[0]), "LSTM σ = GRU σ at {v}");
            tanh_within(v[0], n[0]);
            assert_eq!(bits(g[0]), bits(n[0]), "LSTM tanh = GRU tanh at {v}");
        }
    }
    // One unit in the last place of `exact` in f32.
    let ulp = |exact: f64| {
        f64::from(f32::EPSILON) / 2.0
            * 2f64.powi((exact.abs() as f32).max(f32::MIN_POSITIVE).log2().floor() as i32 + 1)
    };
    check::<f32>(
        |x, y, _| {
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!(
                (f64::from(y) - exact).abs() <= 2.5 * ulp(exact).max(f64::from(f32::from_bits(1))),
                "σ({x:e}) = {y:e}, exact {exact:e}"
            );
        },
        |x, y| {
            let exact = f64::from(x).tanh();
            assert!(
                (f64::from(y) - exact).abs() <= 1.06 * ulp(exact),
                "tanh({x:e}) = {y:e}, exact {exact:e}"
            );
            if x == 0.0 {
                assert_eq!(y.to_bits(), x.to_bits());
            }
            if x.abs() >= 20.0 {
                assert_eq!(y, x.signum());
            }
        },
    );
    check::<f64>(
        |_, y, s| assert_eq!(y.to_bits(), s.to_bits(), "σ"),
        |x, y| {
            let th = Tanh.predict(&SVector::<f64, 1>::from([x]))[0];
            assert_eq!(y.to_bits(), th.to_bits(), "tanh at {x}");
        },
    );
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

/// Streams every sample of `x` through `net` from its start state and
/// compares each step's output with the whole-sequence forward pass, bit
/// for bit.
fn assert_stream_equals_forward<N, const C: usize, const O: usize, const L: usize, const B: usize>(
    what: &str,
    net: &N,
    x: &Seq<f32, C, L, B>,
) where
    N: Module<Seq<f32, C, L, B>, Output = Seq<f32, O, L, B>>
        + Stream<SVector<f32, C>, Output = SVector<f32, O>>,
{
    let y = net.forward(x);
    for b in 0..B {
        let mut state = net.start();
        for t in 0..L {
            let yt = net.step(&mut state, &SVector::from(x.data[b][t]));
            let want = y.data[b][t];
            for k in 0..O {
                assert_eq!(
                    yt[k].to_bits(),
                    want[k].to_bits(),
                    "{what}: sample {b}, step {t}, output {k}: {} streamed, {} whole",
                    yt[k],
                    want[k]
                );
            }
        }
    }
}

fn random_f32<N: Params<f32>>(seed: u64) -> N {
    N::random(Init::PyTorch, &mut rng(seed))
}

fn random_seq_f32<const C: usize, const L: usize, const B: usize>(seed: u64) -> Seq<f32, C, L, B> {
    let mut r = rng(seed);
    Seq::from_fn(|_, _, _| uniform(&mut r, -2.0, 2.0) as f32)
}

#[test]
fn streaming_a_gru_equals_the_whole_sequence_bit_for_bit() {
    let gru: Gru<3, 9> = random_f32(30);
    assert_stream_equals_forward("Gru<3, 9>", &gru, &random_seq_f32::<3, 40, 3>(31));
    let gru: Gru<1, 32> = random_f32(32);
    assert_stream_equals_forward("Gru<1, 32>", &gru, &random_seq_f32::<1, 25, 2>(33));
    let net: (Gru<2, 8>, Tanh, Dense<8, 1>) = random_f32(34);
    assert_stream_equals_forward("(Gru, Tanh, Dense)", &net, &random_seq_f32::<2, 30, 2>(35));
}

#[test]
fn streaming_an_lstm_equals_the_whole_sequence_bit_for_bit() {
    let lstm: Lstm<3, 9> = random_f32(40);
    assert_stream_equals_forward("Lstm<3, 9>", &lstm, &random_seq_f32::<3, 40, 3>(41));
    let lstm: Lstm<8, 16> = random_f32(42);
    assert_stream_equals_forward("Lstm<8, 16>", &lstm, &random_seq_f32::<8, 20, 2>(43));
    let net: (Lstm<2, 8>, Gru<8, 4>, Dense<4, 1>) = random_f32(44);
    assert_stream_equals_forward("(Lstm, Gru, Dense)", &net, &random_seq_f32::<2, 30, 2>(45));
}

#[test]
fn the_stream_state_is_the_hidden_state() {
    let gru: Gru<2, 3> = random_f32(50);
    let x = random_seq_f32::<2, 5, 1>(51);
    let mut h = gru.start();
    assert_eq!(h, SVector::<f32, 3>::zeros());
    for t in 0..5 {
        let y = gru.step(&mut h, &SVector::from(x.data[0][t]));
        assert_eq!(y, h);
    }
    // The LSTM's state is (h, c); the training tape keeps the same c.
    let lstm: Lstm<2, 3> = random_f32(52);
    let mut state = lstm.start();
    for t in 0..5 {
        lstm.step(&mut state, &SVector::from(x.data[0][t]));
    }
    let (y, tape) = lstm.forward_train(&x);
    assert_eq!(state.0.as_slice(), &y.data[0][4]);
    assert_eq!(state.1.as_slice(), tape.cell_state(0, 4));
}

// ---------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------

fn tape_bytes<N: Train<X>, X>() -> usize {
    size_of::<N::Tape>()
}

#[test]
fn tapes_and_states_are_the_documented_sizes() {
    // GRU: (I + 4H)·L·B scalars.
    assert_eq!(
        tape_bytes::<Gru<3, 4>, Seq<f32, 3, 20, 2>>(),
        (3 + 16) * 20 * 2 * 4
    );
    assert_eq!(
        tape_bytes::<Gru<3, 4, f64>, Seq<f64, 3, 20, 2>>(),
        (3 + 16) * 20 * 2 * 8
    );
    assert_eq!(tape_bytes::<Gru<1, 1>, Seq<f32, 1, 1, 1>>(), 5 * 4);
    // LSTM: (I + 5H)·L·B scalars.
    assert_eq!(
        tape_bytes::<Lstm<3, 4>, Seq<f32, 3, 20, 2>>(),
        (3 + 20) * 20 * 2 * 4
    );
    assert_eq!(
        tape_bytes::<Lstm<8, 64, f64>, Seq<f64, 8, 10, 3>>(),
        (8 + 320) * 10 * 3 * 8
    );
    // The docs' figure: 32 units, one input, 100 steps, batch 32, f32.
    assert_eq!(size_of::<GruTape<1, 32, 100, 32, f32>>(), 1_651_200);
    assert_eq!(size_of::<LstmTape<1, 32, 100, 32, f32>>(), 2_060_800);
    // A network's tape is its layers' tapes.
    type Net = (Gru<2, 8>, Tanh, Dense<8, 1>);
    assert_eq!(
        tape_bytes::<Net, Seq<f32, 2, 10, 4>>(),
        ((2 + 32) + 8 + 8) * 10 * 4 * 4
    );
    // Streaming: H scalars (GRU), 2H (LSTM).
    assert_eq!(
        size_of::<<Gru<1, 32> as Stream<SVector<f32, 1>>>::State>(),
        32 * 4
    );
    assert_eq!(
        size_of::<<Lstm<8, 64> as Stream<SVector<f32, 8>>>::State>(),
        2 * 64 * 4
    );
    // The layers: 3H(I + H + 2) and 4H(I + H + 2) scalars.
    assert_eq!(size_of::<Gru<1, 32>>(), 3 * 32 * (1 + 32 + 2) * 4);
    assert_eq!(size_of::<Lstm<8, 64>>(), 4 * 64 * (8 + 64 + 2) * 4);
    assert_eq!(<Gru<1, 32> as Params<f32>>::NUM_PARAMS, 3 * 32 * 35);
    assert_eq!(<Lstm<8, 64> as Params<f32>>::NUM_PARAMS, 4 * 64 * 74);
}

/// A tape can live outside the stack (a `static`: the tapes' `zeros` are
/// `const fn`) and be refilled in place: the same output, tape and
/// gradients as a fresh one, bit for bit, whatever it held before.
#[test]
fn a_tape_in_a_static_is_refilled_in_place() {
    use std::sync::Mutex;
    static GRU_TAPE: Mutex<GruTape<2, 4, 10, 3, f64>> = Mutex::new(GruTape::zeros());
    static LSTM_TAPE: Mutex<LstmTape<2, 4, 10, 3, f64>> = Mutex::new(LstmTape::zeros());

    fn check<N, Tp>(what: &str, net: &N, tape: &Mutex<Tp>)
    where
        N: Train<Seq<f64, 2, 10, 3>, Output = Seq<f64, 4, 10, 3>, Tape = Tp> + Params<f64>,
        Tp: PartialEq + std::fmt::Debug,
    {
        let mut tape = tape.lock().unwrap();
        let dy = loss_weights::<4, 10, 3>(150, false);
        // Fill it with another input first.
        net.forward_tape_into(&random_seq(151), &mut Mode::Inference, &mut tape);
        let x = random_seq::<2, 10, 3>(152);
        let y = net.forward_tape_into(&x, &mut Mode::Inference, &mut tape);
        let (y_fresh, fresh) = net.forward_train(&x);
        assert_eq!(y, y_fresh, "{what}: output");
        assert_eq!(*tape, fresh, "{what}: tape");
        let (mut g, mut g_fresh) = (N::zeros(), N::zeros());
        let dx = net.backward(&tape, &dy, &mut g);
        let dx_fresh = net.backward(&fresh, &dy, &mut g_fresh);
        assert_eq!(dx, dx_fresh, "{what}: dx");
        assert_eq!(flat(&g), flat(&g_fresh), "{what}: dθ");
    }
    check("GRU", &random_net::<Gru<2, 4, f64>>(153, 1.0), &GRU_TAPE);
    check("LSTM", &random_net::<Lstm<2, 4, f64>>(154, 1.0), &LSTM_TAPE);
}

// ---------------------------------------------------------------------------
// PyTorch's tensors
// ---------------------------------------------------------------------------

/// The layer's tensors as `(name, shape, layout)`.
fn tensors<N: Params<f32>>(net: &N) -> Vec<(&'static str, Vec<usize>, Layout)> {
    let mut out = Vec::new();
    net.describe(&mut |node| {
        if let Node::Tensor(t) = node {
            out.push((t.name, t.shape.dims().to_vec(), t.layout));
        }
    });
    out
}

#[test]
fn tensors_have_pytorchs_names_and_shapes() {
    use Layout::*;
    assert_eq!(<Gru<3, 5>>::KIND, "GRU");
    assert_eq!(<Lstm<3, 5>>::KIND, "LSTM");
    assert_eq!(
        tensors(&Gru::<3, 5>::default()),
        [
            ("weight_ih_l0", vec![15, 3], ColumnMajor),
            ("weight_hh_l0", vec![15, 5], ColumnMajor),
            ("bias_ih_l0", vec![15], RowMajor),
            ("bias_hh_l0", vec![15], RowMajor),
        ]
    );
    assert_eq!(
        tensors(&Lstm::<3, 5>::default()),
        [
            ("weight_ih_l0", vec![20, 3], ColumnMajor),
            ("weight_hh_l0", vec![20, 5], ColumnMajor),
            ("bias_ih_l0", vec![20], RowMajor),
            ("bias_hh_l0", vec![20], RowMajor),
        ]
    );
}

/// PyTorch's stacked `(G·H, N)` matrix, row-major, from per-gate rows.
fn stacked<const G: usize, const H: usize, const N: usize>(w: &[[[f32; N]; H]; G]) -> Vec<f32> {
    w.iter().flatten().flatten().copied().collect()
}

/// Writes row-major PyTorch tensors into a layer through its description
/// (what the weights file and the safetensors import do).
fn load_row_major<N: Params<f32>>(net: &mut N, tensors: &[Vec<f32>]) {
    let mut next = tensors.iter();
    N::tensors([], [net], &mut |info, [], [p]| {
        let src = next.next().unwrap();
        assert_eq!(src.len(), p.len(), "{}", info.name);
        for (k, &v) in src.iter().enumerate() {
            p[info.shape.storage_index(info.layout, k)] = v;
        }
    });
    assert!(next.next().is_none());
}

fn gate_values<const G: usize, const H: usize, const N: usize>(seed: u64) -> [[[f32; N]; H]; G] {
    let mut r = rng(seed);
    std::array::from_fn(|_| {
        std::array::from_fn(|_| std::array::from_fn(|_| uniform(&mut r, -1.0, 1.0) as f32))
    })
}

#[test]
fn a_state_dicts_row_major_tensors_land_in_their_gates() {
    let (w_ih, w_hh) = (gate_values::<3, 4, 2>(60), gate_values::<3, 4, 4>(61));
    let (b_ih, b_hh) = (gate_values::<3, 4, 1>(62), gate_values::<3, 4, 1>(63));
    let flat_b = |b: &[[[f32; 1]; 4]; 3]| b.map(|g| g.map(|v| v[0]));
    let want = Gru::<2, 4>::from_gates(w_ih, w_hh, flat_b(&b_ih), flat_b(&b_hh));
    let mut gru = Gru::<2, 4>::default();
    let dict = [
        stacked(&w_ih),
        stacked(&w_hh),
        stacked(&b_ih),
        stacked(&b_hh),
    ];
    load_row_major(&mut gru, &dict);
    assert_eq!(gru, want);
    // Gate n, row 3, column 1 is row 2·4 + 3 of weight_ih_l0.
    assert_eq!(gru.weight_ih[1][2][3], dict[0][(2 * 4 + 3) * 2 + 1]);

    let (w_ih, w_hh) = (gate_values::<4, 3, 2>(64), gate_values::<4, 3, 3>(65));
    let (b_ih, b_hh) = (gate_values::<4, 3, 1>(66), gate_values::<4, 3, 1>(67));
    let flat_b = |b: &[[[f32; 1]; 3]; 4]| b.map(|g| g.map(|v| v[0]));
    let want = Lstm::<2, 3>::from_gates(w_ih, w_hh, flat_b(&b_ih), flat_b(&b_hh));
    let mut lstm = Lstm::<2, 3>::default();
    load_row_major(
        &mut lstm,
        &[
            stacked(&w_ih),
            stacked(&w_hh),
            stacked(&b_ih),
            stacked(&b_hh),
        ],
    );
    assert_eq!(lstm, want);
}

#[test]
fn pytorch_init_draws_every_tensor_from_plus_minus_one_over_root_h() {
    let gru: Gru<3, 16> = random_f32(70);
    let lstm: Lstm<5, 16> = random_f32(71);
    let a = 1.0 / 4.0;
    let check = |what: &str, p: &[f32]| {
        assert!(p.iter().all(|v| v.abs() <= a), "{what}: beyond ±1/√H");
        let max = p.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            max > 0.9 * a,
            "{what}: the draws do not spread to ±1/√H ({max})"
        );
    };
    gru.visit(&mut |p| check("GRU", p));
    lstm.visit(&mut |p| check("LSTM", p));
}

#[test]
fn a_trained_layer_becomes_rust_source_that_compiles_back() {
    static GRU: Gru<1, 1> = Gru::from_columns(
        [[[0.5], [-0.25], [1.0]]],
        [[[0.125], [2.0], [-3.0]]],
        [[0.1], [0.2], [0.3]],
        [[-0.1], [-0.2], [-0.3]],
    );
    let src = to_rust(&GRU, "GRU").unwrap();
    assert!(
        src.contains("pub static GRU: staticnet::Gru<1, 1, f32> = "),
        "{src}"
    );
    assert!(
        src.contains(
            "staticnet::Gru::<1, 1, f32>::from_columns([[[0.5], [-0.25], [1.0]]], \
             [[[0.125], [2.0], [-3.0]]], [[0.1], [0.2], [0.3]], [[-0.1], [-0.2], [-0.3]])"
        ),
        "{src}"
    );
    // What it wrote, pasted back:
    static BACK: Gru<1, 1, f32> = staticnet::Gru::<1, 1, f32>::from_columns(
        [[[0.5], [-0.25], [1.0]]],
        [[[0.125], [2.0], [-3.0]]],
        [[0.1], [0.2], [0.3]],
        [[-0.1], [-0.2], [-0.3]],
    );
    assert_eq!(BACK, GRU);

    let lstm: Lstm<2, 3> = random_f32(80);
    let src = to_rust(&lstm, "LSTM").unwrap();
    assert!(src.contains("pub static LSTM: staticnet::Lstm<2, 3, f32> = staticnet::Lstm::<2, 3, f32>::from_columns([[["), "{src}");
}

#[test]
fn the_weights_file_round_trips() {
    let net: (Lstm<2, 3>, Gru<3, 2>, Dense<2, 1>) = random_f32(90);
    let mut buf = vec![0u8; staticnet::io::saved_len(&net)];
    let n = staticnet::io::save(&net, &mut buf).unwrap();
    let mut back = <(Lstm<2, 3>, Gru<3, 2>, Dense<2, 1>)>::zeros();
    staticnet::io::load(&mut back, &buf[..n]).unwrap();
    assert_eq!(back, net);
}

/// A `state_dict` of `nn.GRU(2, 3, batch_first=True)` as
/// `safetensors.torch.save_file` writes it (names, shapes, row-major
/// stacked gates) loads unchanged.
#[cfg(feature = "safetensors")]
#[test]
fn a_pytorch_gru_state_dict_loads_from_safetensors() {
    use safetensors::{Dtype, serialize, tensor::TensorView};
    use staticnet::io::safetensors::{Mapping, load_safetensors};

    let (w_ih, w_hh) = (gate_values::<3, 3, 2>(100), gate_values::<3, 3, 3>(101));
    let (b_ih, b_hh) = (gate_values::<3, 3, 1>(102), gate_values::<3, 3, 1>(103));
    let bytes = |v: Vec<f32>| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let data = [
        ("rnn.weight_ih_l0", vec![9, 2], bytes(stacked(&w_ih))),
        ("rnn.weight_hh_l0", vec![9, 3], bytes(stacked(&w_hh))),
        ("rnn.bias_ih_l0", vec![9], bytes(stacked(&b_ih))),
        ("rnn.bias_hh_l0", vec![9], bytes(stacked(&b_hh))),
        ("fc.weight", vec![1, 3], bytes(vec![0.5, -1.0, 2.0])),
        ("fc.bias", vec![1], bytes(vec![0.25])),
    ];
    let views = data
        .iter()
        .map(|(n, s, b)| (*n, TensorView::new(Dtype::F32, s.clone(), b).unwrap()));
    let file = serialize(views, None).unwrap();
    let mut net = <(Gru<2, 3>, LastStep, Dense<3, 1>)>::zeros();
    load_safetensors(&mut net, &file, Mapping::ByName(&["rnn", "fc"])).unwrap();
    let flat_b = |b: &[[[f32; 1]; 3]; 3]| b.map(|g| g.map(|v| v[0]));
    assert_eq!(
        net.0,
        Gru::from_gates(w_ih, w_hh, flat_b(&b_ih), flat_b(&b_hh))
    );
    assert_eq!(net.2, Dense::from_rows([[0.5, -1.0, 2.0]], [0.25]));
}

// ---------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------

/// Gradient descent on a sequence loss lowers it at every step: the
/// gradient the trainer would use points downhill.
#[test]
fn gradient_steps_lower_a_sequence_loss() {
    type Net = (Gru<1, 4, f64>, LastStep, Dense<4, 1, f64>);
    let mut net: Net = Params::random(Init::PyTorch, &mut rng(110));
    // Target: a quarter of the sum of the sequence.
    let x = random_seq::<1, 8, 4>(111);
    let target: Vec<f64> = (0..4)
        .map(|b| x.data[b].iter().map(|v| v[0]).sum::<f64>() / 4.0)
        .collect();
    let loss_and_grad = |net: &Net| {
        let (y, tape) = net.forward_train(&x);
        let dy = SMatrix::<f64, 1, 4>::from_fn(|_, b| (y[b] - target[b]) / 4.0);
        let loss: f64 = (0..4).map(|b| 0.5 * (y[b] - target[b]).powi(2) / 4.0).sum();
        let mut g = Net::zeros();
        net.backward_params(&tape, &dy, &mut g);
        (loss, g)
    };
    let (first, _) = loss_and_grad(&net);
    let mut previous = first;
    for step in 0..300 {
        let (_, g) = loss_and_grad(&net);
        let (mut theta, g) = (flat(&net), flat(&g));
        for (t, d) in theta.iter_mut().zip(&g) {
            *t -= 0.5 * d;
        }
        set_flat(&mut net, &theta);
        let (loss, _) = loss_and_grad(&net);
        assert!(loss < previous, "step {step}: loss {previous} → {loss}");
        previous = loss;
    }
    assert!(previous < 0.8 * first, "loss {first} → {previous}");
}

/// A noisy sine of a low (class 0) or high (class 1) frequency, random
/// phase (as in tests/sequence_train.rs).
fn waves<const L: usize>(n: usize, seed: u64) -> Vec<(Seq<f32, 1, L>, usize)> {
    let mut r = rng(seed);
    (0..n)
        .map(|i| {
            let class = i % 2;
            let freq = if class == 0 { 0.15 } else { 0.6 };
            let phase = uniform(&mut r, 0.0, std::f64::consts::TAU);
            let x = Seq::from_fn(|_, t, _| {
                ((freq * t as f64 + phase).sin() + 0.3 * uniform(&mut r, -1.0, 1.0)) as f32
            });
            (x, class)
        })
        .collect()
}

/// The trainer fits recurrent classifiers (the last hidden state into a
/// linear layer) on sequences: PyTorch's init, Adam.
#[test]
fn the_trainer_fits_recurrent_classifiers() {
    use staticnet::metrics::accuracy;
    use staticnet::optim::Adam;
    use staticnet::train::Trainer;

    let train = waves::<16>(96, 120);
    let test = waves::<16>(64, 121);

    let mut r = rng(122);
    let mut gru = <(Gru<1, 8>, LastStep, Dense<8, 2>)>::random(Init::PyTorch, &mut r);
    let before = accuracy(&gru, &test);
    Trainer::new(Adam::new(0.03))
        .epochs(40)
        .batch_size::<16>()
        .run(&mut gru, &CrossEntropy, &train, &mut r)
        .unwrap();
    let after = accuracy(&gru, &test);
    assert!(
        after >= 0.95,
        "GRU: test accuracy {after} (before {before})"
    );

    let mut lstm = <(Lstm<1, 8>, LastStep, Dense<8, 2>)>::random(Init::PyTorch, &mut r);
    let before = accuracy(&lstm, &test);
    Trainer::new(Adam::new(0.03))
        .epochs(40)
        .batch_size::<16>()
        .run(&mut lstm, &CrossEntropy, &train, &mut r)
        .unwrap();
    let after = accuracy(&lstm, &test);
    assert!(
        after >= 0.95,
        "LSTM: test accuracy {after} (before {before})"
    );
}
