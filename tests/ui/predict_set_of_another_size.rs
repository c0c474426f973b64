use staticnet::metrics::predict;
use staticnet::prelude::*;

fn main() {
    let net = (Dense::<4, 8>::default(), Relu, Dense::<8, 3>::default());
    // Inputs of 2 values for a network that takes 4.
    let inputs = vec![SVector::<f32, 2>::zeros(); 10];
    let _ = predict(&net, &inputs);
}
