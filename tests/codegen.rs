//! A network written as Rust source compiles back into the same network.
//!
//! `tests/fixtures/generated.rs` is `to_rust`'s output for the two networks
//! below; this test checks that the source is still what `to_rust` writes
//! and that the compiled statics equal the networks bit for bit. After a
//! deliberate change to the generator, refresh it with
//! `UPDATE_FIXTURES=1 cargo test --test codegen` and read the diff.

mod common;

mod generated {
    include!("fixtures/generated.rs");
}

use common::{rng, uniform};
use nalgebra::SVector;
use staticnet::Params;
use staticnet::io::rust::{CodegenError, NameProblem, to_rust};
use staticnet::prelude::*;

type Net32 = (
    Dense<3, 6>,
    LeakyRelu,
    ((Dense<6, 5>, Elu), Gelu),
    (Dense<5, 2>,),
    Softmax,
);
type Net64 = (Dense<2, 4, f64>, Tanh, Dense<4, 1, f64>, Identity);

fn nets() -> (Net32, Net64) {
    let mut r = rng(21);
    let mut a = Net32::random(Init::XavierNormal, &mut r);
    a.1 = LeakyRelu::new(0.2);
    a.2.0.1 = Elu::new(0.7);
    // Values whose literals are easy to get wrong.
    a.0.weight[(0, 0)] = -0.0;
    a.0.weight[(1, 0)] = 1e-42; // subnormal
    a.0.bias[0] = f32::MAX;
    let mut b = Net64::random(Init::XavierNormal, &mut r);
    b.0.bias[1] = 0.1;
    b.2.weight[(0, 3)] = -1.0 / 3.0;
    (a, b)
}

fn bits<T: staticnet::Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    net.visit(&mut |p| v.extend(p.iter().map(|x| x.as_f64().to_bits())));
    v
}

#[test]
fn generated_source_compiles_back_into_the_same_network() {
    let (a, b) = nets();
    let source = format!(
        "{}\n{}",
        to_rust(&a, "NET32").unwrap(),
        to_rust(&b, "NET64").unwrap()
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated.rs");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &source).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        source,
        "the fixture is what to_rust writes"
    );

    let (ga, gb): (&Net32, &Net64) = (&generated::NET32, &generated::NET64);
    assert_eq!(bits(ga), bits(&a));
    assert_eq!(bits(gb), bits(&b));
    assert_eq!(ga.1, a.1);
    assert_eq!(ga.2.0.1, a.2.0.1);
    let mut r = rng(22);
    for _ in 0..20 {
        let x = SVector::<f32, 3>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0) as f32);
        let (y, gy) = (a.predict(&x), ga.predict(&x));
        assert_eq!(y.map(f32::to_bits), gy.map(f32::to_bits));
        let x = SVector::<f64, 2>::from_fn(|_, _| uniform(&mut r, -2.0, 2.0));
        assert_eq!(
            b.predict(&x).map(f64::to_bits),
            gb.predict(&x).map(f64::to_bits)
        );
    }
}

/// A layer from outside the crate that does not write itself as Rust
/// source, to show what the generator refuses.
#[derive(Clone, Default)]
struct Mine;

impl staticnet::Layer for Mine {
    const KIND: &'static str = "Mine";
}

impl Params<f32> for Mine {
    const NUM_PARAMS: usize = 0;
    fn zeros() -> Self {
        Mine
    }
    fn tensors<const R: usize, const W: usize>(
        _: [&Self; R],
        _: [&mut Self; W],
        _: &mut impl FnMut(staticnet::params::TensorInfo, [&[f32]; R], [&mut [f32]; W]),
    ) {
    }
}

#[test]
fn custom_layers_without_a_rust_form_and_bad_names_are_refused() {
    let err = to_rust(&(Dense::<2, 2>::default(), Mine), "NET").unwrap_err();
    assert_eq!(err, CodegenError::Unsupported { kind: "Mine" });
    assert_eq!(
        err.to_string(),
        "the layer \"Mine\" has no Rust form: implement `Params::rust_type` and \
         `Params::rust_value` for it"
    );
    let err = to_rust::<f32, _>(&Relu, "2x").unwrap_err();
    assert_eq!(
        err,
        CodegenError::BadName {
            name: "2x".into(),
            problem: NameProblem::StartsWithDigit
        }
    );
    assert_eq!(
        err.to_string(),
        "\"2x\" cannot name a static: it starts with a digit; write it in UPPER_SNAKE_CASE, \
         with ASCII letters, digits and `_`, not starting with a digit, e.g. MODEL_2X"
    );
}
