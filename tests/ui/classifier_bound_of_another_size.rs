use staticnet::metrics::{Classifier, accuracy};
use staticnet::prelude::*;

fn score<N: Classifier<f32, 64, 10>>(net: &N, test: &[(SVector<f32, 64>, usize)]) -> f64 {
    accuracy(net, test)
}

fn main() {
    // Ten classes expected, three given.
    let net = (Dense::<64, 8>::default(), Relu, Dense::<8, 3>::default());
    let _ = score(&net, &[]);
}
