use nalgebra::SVector;
use staticnet::prelude::*;

type Net = (Dense<4, 16>, Relu, Dense<16, 1>);

fn main() {
    let net = Net::default();
    let mut grad = Net::zeros();
    // The network gives 1 output, but the targets have 3 values each.
    let x = SVector::from([0.0f32; 4]);
    let target = SVector::from([0.0f32, 1.0, 0.0]);
    let _ = net.loss_and_grad(&MeanSquared, &x, &target, &mut grad);
}
