use nalgebra::SVector;
use staticnet::quant::{self, Calibration};
use staticnet::{Dense, Params, Relu, Softmax};

fn main() {
    let net = <(Dense<4, 8>, Relu, Dense<8, 3>, Softmax)>::zeros();
    let data = [(SVector::<f32, 4>::zeros(), 0usize)];
    let _ = quant::quantize(&net, &data[..], Calibration::MinMax);
}
