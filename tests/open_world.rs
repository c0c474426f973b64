//! A layer written outside the crate, with no change to the crate: it
//! trains, its gradients are exact, and it saves, loads, exports to Rust
//! source and imports from safetensors — because every tool asks the layer
//! to describe itself.
//!
//! The layer is PyTorch's `nn.PReLU(num_parameters=N)`: `y = max(x, 0) +
//! a ⊙ min(x, 0)` with a learnable slope per channel, named `weight`.

mod common;

mod generated {
    include!("fixtures/open_world_generated.rs");
}

use std::fmt;

use common::{gradcheck, rng, vector};
use nalgebra::{SMatrix, SVector};
use staticnet::io::rust::to_rust;
use staticnet::io::{self, Error};
use staticnet::optim::Sgd;
use staticnet::params::{Fill, RustSource, Shape, TensorInfo};
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};
use staticnet::{Layer, Scalar};

/// `nn.PReLU(N)`, written as a user of the crate would.
#[derive(Debug, Clone, PartialEq)]
pub struct PRelu<const N: usize, T = f32> {
    /// The slope of each channel's negative part.
    pub weight: SVector<T, N>,
}

impl<const N: usize, T> PRelu<N, T> {
    /// From the slopes (a `const fn`, so a trained layer can be a `static`).
    pub const fn from_weight(weight: [T; N]) -> Self {
        PRelu {
            weight: SVector::from_array_storage(nalgebra::ArrayStorage([weight])),
        }
    }
}

impl<T: Scalar, const N: usize, const B: usize> Module<SMatrix<T, N, B>> for PRelu<N, T> {
    type Output = SMatrix<T, N, B>;
    fn forward(&self, x: &SMatrix<T, N, B>) -> Self::Output {
        SMatrix::from_fn(|i, j| {
            let v = x[(i, j)];
            if v > T::zero() { v } else { self.weight[i] * v }
        })
    }
}

impl<T: Scalar, const N: usize, const B: usize> Train<SMatrix<T, N, B>> for PRelu<N, T> {
    type Tape = SMatrix<T, N, B>;
    fn forward_tape(&self, x: &SMatrix<T, N, B>, _: &mut Mode) -> (Self::Output, Self::Tape) {
        (self.forward(x), *x)
    }
    fn backward(&self, x: &Self::Tape, dy: &Self::Output, grad: &mut Self) -> SMatrix<T, N, B> {
        SMatrix::from_fn(|i, j| {
            let v = x[(i, j)];
            if v > T::zero() {
                dy[(i, j)]
            } else {
                grad.weight[i] += dy[(i, j)] * v;
                self.weight[i] * dy[(i, j)]
            }
        })
    }
}

impl<const N: usize, T> Layer for PRelu<N, T> {
    const KIND: &'static str = "tests.PRelu";
}

impl<T: Scalar, const N: usize> Params<T> for PRelu<N, T> {
    const NUM_PARAMS: usize = N;
    fn zeros() -> Self {
        PRelu {
            weight: SVector::zeros(),
        }
    }
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(TensorInfo, [&[T]; R], [&mut [T]; W]),
    ) {
        // PyTorch starts the slopes at 0.25; Fill has no such constant, so
        // `init` is overridden below.
        let info = TensorInfo::trainable("weight", Shape::new(&[N]), Fill::Zeros);
        f(
            info,
            read.map(|l| l.weight.as_slice()),
            write.each_mut().map(|l| l.weight.as_mut_slice()),
        );
    }
    fn init<G: rand::Rng + ?Sized>(&mut self, _: Init, _: &mut G) {
        self.weight.fill(T::of_f64(0.25));
    }
    fn rust_type(src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!("crate::PRelu<{N}, {}>", T::NAME))
    }
    fn rust_value(&self, src: &mut RustSource<'_>) -> fmt::Result {
        src.fmt(format_args!(
            "crate::PRelu::<{N}, {}>::from_weight(",
            T::NAME
        ))?;
        src.array(self.weight.as_slice(), &[N])?;
        src.text(")")
    }
}

type Net = (Dense<3, 4>, PRelu<4>, Dense<4, 2>);

fn trained() -> Net {
    let mut r = rng(40);
    let mut net = Net::random(Init::He, &mut r);
    let data: Vec<(SVector<f32, 3>, usize)> = (0..64)
        .map(|i| {
            let x = SVector::from_fn(|k, _| ((i * 7 + k * 3) % 11) as f32 / 5.0 - 1.0);
            (x, usize::from(x[0] - x[1] > 0.0))
        })
        .collect();
    Trainer::new(Sgd::new(0.1))
        .epochs(30)
        .batch_size::<8>()
        .fit(&mut net, &CrossEntropy, &data[..], &mut r, |_, _| {
            Control::Continue
        })
        .unwrap();
    net
}

#[test]
fn a_layer_from_outside_trains_with_exact_gradients() {
    let net = trained();
    // Training moved the slopes away from PyTorch's 0.25.
    assert!(
        net.1.weight.iter().any(|&a| a != 0.25),
        "{:?}",
        net.1.weight
    );

    type Net64 = (Dense<3, 4, f64>, PRelu<4, f64>, Tanh, Dense<4, 2, f64>);
    let mut r = rng(41);
    let mut net = Net64::random(Init::XavierNormal, &mut r);
    net.1.weight = SVector::from([0.3, -0.2, 0.7, 0.05]);
    for _ in 0..5 {
        gradcheck("Dense-PRelu-Tanh-Dense", &net, &vector::<3>(&mut r, 1e-3));
    }
}

#[test]
fn a_layer_from_outside_saves_loads_and_is_checked() {
    let net = trained();
    let mut buf = vec![0u8; io::saved_len(&net)];
    io::save(&net, &mut buf).unwrap();
    let mut back = Net::zeros();
    io::load(&mut back, &buf).unwrap();
    assert_eq!(back, net);

    // Its declared kind identifies it in the file.
    let mut other = (Dense::<3, 4>::default(), Relu, Dense::<4, 2>::default());
    let err = io::load(&mut other, &buf).unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }));
    assert_eq!(
        err.to_string(),
        "layer 1 (Relu): the network has a `Relu` layer where the file has a `tests.PRelu` layer"
    );
    // Another channel count is another tensor shape.
    let mut wider = (
        Dense::<3, 5>::default(),
        PRelu::<5>::zeros(),
        Dense::<5, 2>::default(),
    );
    assert!(io::load(&mut wider, &buf).is_err());
    assert_eq!(wider.1, PRelu::zeros());
}

#[test]
fn a_layer_from_outside_exports_to_rust_source() {
    let net = trained();
    let source = to_rust(&net, "NET").unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/open_world_generated.rs"
    );
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes (UPDATE_FIXTURES=1 to refresh)"
    );
    // The committed source compiled back into the same network.
    assert_eq!(generated::NET, net);
}

#[cfg(feature = "safetensors")]
#[test]
fn a_layer_from_outside_imports_from_safetensors() {
    use safetensors::{Dtype, serialize, tensor::TensorView};
    use staticnet::io::safetensors::{ImportError, Mapping, load_safetensors};

    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    // nn.Sequential(nn.Linear(3, 4), nn.PReLU(4), nn.Linear(4, 2)).
    let w0: Vec<f32> = (0..12).map(|k| k as f32 / 10.0).collect(); // (4, 3) row-major
    let b0 = [0.5f32, -0.5, 0.25, 0.0];
    let a = [0.1f32, 0.2, 0.3, 0.4];
    let w2: Vec<f32> = (0..8).map(|k| -(k as f32) / 8.0).collect(); // (2, 4)
    let b2 = [1.0f32, 2.0];
    let tensors = [
        ("0.weight", vec![4, 3], le(&w0)),
        ("0.bias", vec![4], le(&b0)),
        ("1.weight", vec![4], le(&a)),
        ("2.weight", vec![2, 4], le(&w2)),
        ("2.bias", vec![2], le(&b2)),
    ];
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.to_string(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = serialize(views, None).unwrap();

    let mut net = Net::zeros();
    load_safetensors(&mut net, &bytes, Mapping::InOrder).unwrap();
    assert_eq!(net.1.weight, SVector::from(a));
    assert_eq!(net.0.weight[(1, 2)], w0[5]); // W[o = 1, i = 2]
    assert_eq!(net.2.weight[(1, 0)], w2[4]);
    assert_eq!(net.2.bias, SVector::from(b2));

    // A PReLU with another channel count is refused, by the layer's own kind.
    let mut wrong = (
        Dense::<3, 4>::default(),
        PRelu::<3>::zeros(),
        Dense::<4, 2>::default(),
    );
    assert_eq!(
        load_safetensors(&mut wrong, &bytes, Mapping::InOrder).unwrap_err(),
        ImportError::Shape {
            name: "1.weight".into(),
            expected: vec![3],
            found: vec![4],
            layer: "tests.PRelu",
        }
    );
}
