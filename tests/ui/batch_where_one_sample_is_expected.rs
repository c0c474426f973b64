use nalgebra::SMatrix;
use staticnet::prelude::*;

fn main() {
    let net = (Dense::<2, 8>::default(), Tanh, Dense::<8, 3>::default());
    // The Jacobian is defined per sample; this is a batch of 4.
    let batch = SMatrix::<f32, 2, 4>::zeros();
    let _ = net.jacobian(&batch);
}
