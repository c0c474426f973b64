//! Networks that are not a plain chain: a residual block `x + f(x)` and two
//! branches concatenated, `[a(x); b(x)]`. Their gradients are checked in
//! `f64` against central finite differences (in inference and in training
//! mode, where dropout inside them draws the same mask for every probe),
//! and they go through the weights file and the Rust export like any layer.
//!
//! `tests/fixtures/graph_generated.rs` is `to_rust`'s output for the
//! networks of `rust_export_compiles_back_into_the_same_networks`; after a
//! deliberate change to the generator, refresh it with
//! `UPDATE_FIXTURES=1 cargo test --test graph` and read the diff.

mod common;

mod generated {
    include!("fixtures/graph_generated.rs");
}

use common::{EPS, assert_gradcheck, flat, gradcheck, rng, set_flat, uniform, vector};
use nalgebra::{SMatrix, SVector};
use staticnet::io::rust::to_rust;
use staticnet::params::{Fill, Layer, Node, Setting, Shape, TensorInfo};
use staticnet::prelude::*;
use staticnet::{Concat, Dropout, Mode, Module, Params, Residual, Train, io};

/// A chain with a residual block and a concatenation in it.
type Net = (
    Dense<3, 4, f64>,
    Residual<(Dense<4, 4, f64>, Tanh)>,
    Concat<(Dense<4, 2, f64>, Tanh), Dense<4, 3, f64>, 5>,
    Dense<5, 2, f64>,
);

/// The same with dropout inside the residual block and inside a branch, and
/// a concatenation nested in a branch of another.
type DropNet = (
    Dense<3, 4, f64>,
    Residual<(Dense<4, 4, f64>, Tanh, Dropout)>,
    Concat<
        (Dense<4, 2, f64>, Tanh),
        Concat<(Dense<4, 3, f64>, Dropout), Residual<Dense<4, 4, f64>>, 7>,
        9,
    >,
    Dense<9, 2, f64>,
);

fn net(seed: u64) -> Net {
    Net::random(Init::XavierNormal, &mut rng(seed))
}

fn drop_net(seed: u64) -> DropNet {
    let mut net = DropNet::random(Init::XavierNormal, &mut rng(seed));
    net.1.0.2 = Dropout::new(0.3);
    net.2.b.a.1 = Dropout::new(0.5);
    net
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn residual_is_the_input_plus_the_block() {
    let block = (
        Dense::<4, 4, f64>::random(Init::XavierNormal, &mut rng(1)),
        Tanh,
    );
    let res = Residual::new(block.clone());
    let mut r = rng(2);
    for _ in 0..20 {
        let x = vector::<4>(&mut r, 0.0);
        assert_eq!(res.predict(&x), x + block.predict(&x));
        // The Jacobian is I + ∂f/∂x (up to rounding in the sum).
        let expected = SMatrix::<f64, 4, 4>::identity() + block.jacobian(&x);
        assert!((res.jacobian(&x) - expected).abs().max() < 1e-15);
    }
}

#[test]
fn concat_stacks_the_branches_and_adds_their_input_gradients() {
    let mut r = rng(3);
    let a = (Dense::<3, 2, f64>::random(Init::XavierNormal, &mut r), Tanh);
    let b = Dense::<3, 4, f64>::random(Init::XavierNormal, &mut r);
    let cat: Concat<_, _, 6> = Concat::new(a.clone(), b.clone());
    for _ in 0..20 {
        let x = vector::<3>(&mut r, 0.0);
        let y = cat.predict(&x);
        assert_eq!(y.fixed_rows::<2>(0), a.predict(&x));
        assert_eq!(y.fixed_rows::<4>(2), b.predict(&x));

        let dy = vector::<6>(&mut r, 0.0);
        let (_, tape) = cat.forward_train(&x);
        let mut grad = Concat::<_, _, 6>::zeros();
        let dx = cat.backward(&tape, &dy, &mut grad);
        let mut ga = <(Dense<3, 2, f64>, Tanh)>::zeros();
        let mut gb = Dense::<3, 4, f64>::zeros();
        let (_, ta) = a.forward_train(&x);
        let (_, tb) = b.forward_train(&x);
        let dxa = a.backward(&ta, &dy.fixed_rows::<2>(0).into_owned(), &mut ga);
        let dxb = b.backward(&tb, &dy.fixed_rows::<4>(2).into_owned(), &mut gb);
        assert_eq!(bits(dx.as_slice()), bits((dxa + dxb).as_slice()));
        assert_eq!(bits(&flat(&grad.a)), bits(&flat(&ga)));
        assert_eq!(bits(&flat(&grad.b)), bits(&flat(&gb)));
    }
}

#[test]
fn gradients_match_finite_differences_in_inference() {
    for seed in 0..5 {
        let net = net(seed);
        let mut r = rng(100 + seed);
        for _ in 0..4 {
            gradcheck(
                &format!("Net, seed {seed}"),
                &net,
                &vector::<3>(&mut r, 0.0),
            );
        }
        // Training mode without dropout computes the same function.
        let x = vector::<3>(&mut r, 0.0);
        let mut g = rng(0);
        let (y, _) = net.forward_tape(&x, &mut Mode::training(&mut g, 1));
        assert_eq!(y, net.predict(&x));
    }
    // Dropout is the identity in inference, so DropNet checks as a function.
    let net = drop_net(7);
    let mut r = rng(8);
    for _ in 0..4 {
        gradcheck("DropNet (inference)", &net, &vector::<3>(&mut r, 0.0));
    }
}

/// The output of a training-mode forward pass whose generator is seeded
/// with `seed`: the same dropout masks for every probe.
fn train_forward<N: Train<SVector<f64, 3>>>(net: &N, x: &SVector<f64, 3>, seed: u64) -> N::Output {
    let mut g = rng(seed);
    net.forward_tape(x, &mut Mode::training(&mut g, 1)).0
}

#[test]
fn gradients_match_finite_differences_in_training_with_the_same_draws() {
    let mut dropped_something = false;
    for seed in 0..6 {
        let net = drop_net(seed);
        let mut r = rng(200 + seed);
        let x = vector::<3>(&mut r, 0.0);
        let draws = 1000 + seed;
        let y = train_forward(&net, &x, draws);
        dropped_something |= y != net.predict(&x);
        let mut g = rng(draws);
        let (y2, tape) = net.forward_tape(&x, &mut Mode::training(&mut g, 1));
        assert_eq!(y, y2, "same seed, same output");

        // ∂y/∂x: one backward pass per output, against central differences.
        let theta = flat(&net);
        let mut probe = net.clone();
        for k in 0..2 {
            let mut e = SVector::<f64, 2>::zeros();
            e[k] = 1.0;
            let mut grad = DropNet::zeros();
            let dx = net.backward(&tape, &e, &mut grad);
            let numeric_dx: Vec<f64> = (0..3)
                .map(|i| {
                    let (mut xp, mut xm) = (x, x);
                    xp[i] += EPS;
                    xm[i] -= EPS;
                    (train_forward(&net, &xp, draws)[k] - train_forward(&net, &xm, draws)[k])
                        / (2.0 * EPS)
                })
                .collect();
            assert_gradcheck(
                &format!("training, seed {seed}: ∂y{k}/∂x"),
                dx.as_slice(),
                &numeric_dx,
            );

            // ∂y/∂θ, every parameter.
            let numeric_dtheta: Vec<f64> = (0..theta.len())
                .map(|p| {
                    let mut t = theta.clone();
                    t[p] = theta[p] + EPS;
                    set_flat(&mut probe, &t);
                    let yp = train_forward(&probe, &x, draws)[k];
                    t[p] = theta[p] - EPS;
                    set_flat(&mut probe, &t);
                    let ym = train_forward(&probe, &x, draws)[k];
                    (yp - ym) / (2.0 * EPS)
                })
                .collect();
            assert_gradcheck(
                &format!("training, seed {seed}: ∂y{k}/∂θ"),
                &flat(&grad),
                &numeric_dtheta,
            );
        }
    }
    assert!(dropped_something, "dropout changed at least one output");
}

#[test]
fn a_batch_is_its_columns() {
    let net = net(11);
    let mut r = rng(12);
    let xs = SMatrix::<f64, 3, 4>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
    let dys = SMatrix::<f64, 2, 4>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0));
    let ys = net.predict(&xs);
    let (_, tape) = net.forward_train(&xs);
    let mut grad = Net::zeros();
    let dxs = net.backward(&tape, &dys, &mut grad);
    let mut sum = vec![0.0; <Net as Params<f64>>::NUM_PARAMS];
    for j in 0..4 {
        let x: SVector<f64, 3> = xs.column(j).into_owned();
        let y = net.predict(&x);
        assert!((ys.column(j) - y).abs().max() < 1e-14);
        let (_, t) = net.forward_train(&x);
        let mut g = Net::zeros();
        let dx = net.backward(&t, &dys.column(j).into_owned(), &mut g);
        assert!((dxs.column(j) - dx).abs().max() < 1e-14);
        for (s, v) in sum.iter_mut().zip(flat(&g)) {
            *s += v;
        }
    }
    for (a, b) in flat(&grad).iter().zip(&sum) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

/// 1,000 + 24 = 1,024 values: the largest size typenum's mapping covers.
type Wide = (
    Concat<Dense<2, 1000, f64>, (Dense<2, 24, f64>, Tanh), 1024>,
    Dense<1024, 1, f64>,
);

#[test]
fn a_concatenation_of_1000_and_24_values_is_1024() {
    let net = Wide::random(Init::XavierNormal, &mut rng(13));
    let mut r = rng(14);
    let x = vector::<2>(&mut r, 0.0);
    let y = net.0.predict(&x);
    assert_eq!(y.fixed_rows::<1000>(0), net.0.a.predict(&x));
    assert_eq!(y.fixed_rows::<24>(1000), net.0.b.predict(&x));
    gradcheck("1000 + 24", &net, &x);
}

/// A layer with one buffer that counts the calls of `update_buffers`: to
/// see that the blocks pass them on to every child.
#[derive(Debug, Clone, PartialEq)]
struct Count(SVector<f64, 1>);

impl<X: staticnet::Tensor> Module<X> for Count {
    type Output = X;
    fn forward(&self, x: &X) -> X {
        *x
    }
}

impl<X: staticnet::Tensor> Train<X> for Count {
    type Tape = ();
    fn forward_tape(&self, x: &X, _: &mut Mode<'_>) -> (X, ()) {
        (*x, ())
    }
    fn backward(&self, _: &(), dy: &X, _: &mut Self) -> X {
        *dy
    }
    fn update_buffers(&mut self, _: &()) {
        self.0[0] += 1.0;
    }
}

impl Layer for Count {
    const KIND: &'static str = "Count";
}

impl Params<f64> for Count {
    const NUM_PARAMS: usize = 0;
    const NUM_BUFFERS: usize = 1;
    fn zeros() -> Self {
        Count(SVector::zeros())
    }
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[f64]; R], [&mut [f64]; W]),
    ) {
        let info = TensorInfo::buffer("count", Shape::new(&[1]), Fill::Zeros);
        f(
            info,
            read.map(|c| c.0.as_slice()),
            write.each_mut().map(|c| c.0.as_mut_slice()),
        );
    }
}

#[test]
fn blocks_pass_buffer_updates_and_buffers_to_their_children() {
    type Counted = (
        Residual<(Dense<2, 2, f64>, Count)>,
        Concat<Count, (Dense<2, 3, f64>, Count), 5>,
    );
    assert_eq!(<Counted as Params<f64>>::NUM_BUFFERS, 3);
    assert_eq!(<Counted as Params<f64>>::NUM_PARAMS, 6 + 9);
    let mut net = Counted::random(Init::XavierNormal, &mut rng(15));
    let x = SVector::<f64, 2>::from([0.5, -1.0]);
    let mut g = rng(16);
    let (_, tape) = net.forward_tape(&x, &mut Mode::training(&mut g, 1));
    net.update_buffers(&tape);
    net.update_buffers(&tape);
    assert_eq!(
        (net.0.0.1.0[0], net.1.a.0[0], net.1.b.1.0[0]),
        (2.0, 2.0, 2.0)
    );
    let mut buffers = Vec::new();
    Counted::zip_buffers([&net], [], &mut |[b], []| buffers.extend_from_slice(b));
    assert_eq!(buffers, [2.0, 2.0, 2.0]);
}

/// The description as text: kinds, settings and tensor names, nested.
fn outline<N: Params<f64>>(net: &N) -> String {
    let mut s = String::new();
    net.describe(&mut |node| match node {
        Node::Begin(kind) => s.push_str(&format!("{kind}(")),
        Node::Setting(name, v) => s.push_str(&format!("{name}={v} ")),
        Node::Tensor(t) => s.push_str(&format!("{} ", t.name)),
        Node::End => {
            if s.ends_with(' ') {
                s.pop();
            }
            s.push_str(") ");
        }
    });
    s.trim_end().replace(" )", ")")
}

#[test]
fn blocks_describe_themselves_with_their_children() {
    assert_eq!(
        outline(&drop_net(0)),
        "Sequential(Dense(weight bias) \
         Residual(Sequential(Dense(weight bias) Tanh() Dropout(p=0.3))) \
         Concat(size=9 Sequential(Dense(weight bias) Tanh()) \
         Concat(size=7 Sequential(Dense(weight bias) Dropout(p=0.5)) Residual(Dense(weight bias)))) \
         Dense(weight bias))"
    );
    let mut size = None;
    net(0).2.describe(&mut |node| {
        if let Node::Setting("size", s) = node {
            size.get_or_insert(s);
        }
    });
    assert_eq!(size, Some(Setting::Size(5)));
}

fn saved<N: Params<f64>>(net: &N) -> Vec<u8> {
    let mut buf = vec![0u8; io::saved_len(net)];
    assert_eq!(io::save(net, &mut buf), Ok(buf.len()));
    buf
}

#[test]
fn weights_files_round_trip_and_record_the_structure() {
    let original = drop_net(17);
    let bytes = saved(&original);
    let mut back = DropNet::zeros();
    back.1.0.2 = Dropout::new(0.3);
    back.2.b.a.1 = Dropout::new(0.5);
    io::load(&mut back, &bytes).unwrap();
    assert_eq!(back, original);
    assert_eq!(bits(&flat(&back)), bits(&flat(&original)));

    // A different dropout probability is a different network.
    let mut other = back.clone();
    other.2.b.a.1 = Dropout::new(0.25);
    assert!(io::load(&mut other, &bytes).is_err());

    // The same tensors without the residual block: the file says otherwise.
    type Plain = (
        Dense<3, 4, f64>,
        (Dense<4, 4, f64>, Tanh),
        Concat<(Dense<4, 2, f64>, Tanh), Dense<4, 3, f64>, 5>,
        Dense<5, 2, f64>,
    );
    let with_residual = saved(&net(18));
    let mut plain = Plain::zeros();
    assert_eq!(
        <Plain as Params<f64>>::NUM_PARAMS,
        <Net as Params<f64>>::NUM_PARAMS
    );
    let err = io::load(&mut plain, &with_residual).unwrap_err();
    assert!(format!("{err}").contains("Residual"), "{err}");
    assert_eq!(flat(&plain), flat(&Plain::zeros()), "nothing changed");

    // Branches swapped: same tensors in another order of kinds.
    type Swapped = (
        Dense<3, 4, f64>,
        Residual<(Dense<4, 4, f64>, Tanh)>,
        Concat<Dense<4, 3, f64>, (Dense<4, 2, f64>, Tanh), 5>,
        Dense<5, 2, f64>,
    );
    assert!(io::load(&mut Swapped::zeros(), &with_residual).is_err());
}

/// The networks the fixture holds: one in each scalar type.
type Export32 = (
    Dense<2, 3>,
    Residual<(Dense<3, 3>, Tanh, Dropout)>,
    Concat<Dense<3, 1>, Concat<Relu, (Dense<3, 2>,), 5>, 6>,
);

fn exports() -> (Export32, Net) {
    let mut a = Export32::random(Init::XavierNormal, &mut rng(19));
    a.1.0.2 = Dropout::new(0.1);
    a.0.bias[0] = -0.0;
    (a, net(20))
}

#[test]
fn rust_export_compiles_back_into_the_same_networks() {
    let (a, b) = exports();
    let source = format!(
        "{}\n{}",
        to_rust(&a, "GRAPH32").unwrap(),
        to_rust(&b, "GRAPH64").unwrap()
    );
    assert!(source.contains(
        "pub static GRAPH32: (staticnet::Dense<2, 3, f32>, \
         staticnet::Residual<(staticnet::Dense<3, 3, f32>, staticnet::Tanh, staticnet::Dropout)>, \
         staticnet::Concat<staticnet::Dense<3, 1, f32>, \
         staticnet::Concat<staticnet::Relu, (staticnet::Dense<3, 2, f32>,), 5>, 6>) ="
    ));
    assert!(source.contains("staticnet::Dropout::new(0.1)"));
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graph_generated.rs"
    );
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes"
    );

    let (ga, gb): (&Export32, &Net) = (&generated::GRAPH32, &generated::GRAPH64);
    assert_eq!(ga, &a);
    assert_eq!(gb, &b);
    let mut r = rng(21);
    for _ in 0..20 {
        let x = SVector::<f32, 2>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
        assert_eq!(
            a.predict(&x).map(f32::to_bits),
            ga.predict(&x).map(f32::to_bits)
        );
        let x = vector::<3>(&mut r, 0.0);
        assert_eq!(
            b.predict(&x).map(f64::to_bits),
            gb.predict(&x).map(f64::to_bits)
        );
    }
}

/// Every kind of layer, for the in-place tape.
type Mixed = (
    Dense<3, 8>,
    BatchNorm1d<8>,
    FastTanh,
    Residual<(Dense<8, 8>, Relu, Dropout)>,
    Concat<(Dense<8, 4>, LayerNorm<4>), (Dense<8, 2>, FastSigmoid), 6>,
    Dense<6, 3>,
    Softmax,
);

#[test]
fn forward_tape_into_overwrites_a_used_tape_with_what_forward_tape_returns() {
    let mut net = Mixed::random(Init::He, &mut rng(3));
    net.3.0.2 = Dropout::new(0.4);
    let x = SMatrix::<f32, 3, 5>::from_fn(|i, j| (i as f32 - 1.0) * 0.7 + j as f32 * 0.3);
    let other = SMatrix::<f32, 3, 5>::from_fn(|i, j| (i * j) as f32 - 2.5);
    let dy = SMatrix::<f32, 3, 5>::from_fn(|i, j| (i as f32 + 1.0) * 0.1 - j as f32 * 0.05);
    // Training mode (batch statistics, dropout draws), then inference mode.
    for training in [true, false] {
        let (mut g1, mut g2) = (rng(9), rng(9));
        let mut m1 = if training {
            Mode::training(&mut g1, 4)
        } else {
            Mode::Inference
        };
        let mut m2 = if training {
            Mode::training(&mut g2, 4)
        } else {
            Mode::Inference
        };
        let (y1, tape1) = net.forward_tape(&x, &mut m1);
        // A tape that holds another input's values first.
        let (_, mut tape2) = net.forward_train(&other);
        let y2 = net.forward_tape_into(&x, &mut m2, &mut tape2);
        assert_eq!(y1, y2, "training: {training}");
        let (mut d1, mut d2) = (Mixed::zeros(), Mixed::zeros());
        let dx1 = net.backward(&tape1, &dy, &mut d1);
        let dx2 = net.backward(&tape2, &dy, &mut d2);
        assert_eq!(dx1, dx2, "training: {training}");
        assert_eq!(flat32(&d1), flat32(&d2), "training: {training}");
        assert!(flat32(&d1).iter().any(|&v| v != 0.0));
        let (mut b1, mut b2) = (net.clone(), net.clone());
        b1.update_buffers(&tape1);
        b2.update_buffers(&tape2);
        assert_eq!(b1.1.running_mean, b2.1.running_mean);
        assert_eq!(b1.1.running_var, b2.1.running_var);
        assert_eq!(b1.1.running_var != net.1.running_var, training);
    }
}

fn flat32<N: Params<f32>>(net: &N) -> Vec<f32> {
    let mut v = Vec::new();
    net.visit(&mut |p| v.extend_from_slice(p));
    v
}
