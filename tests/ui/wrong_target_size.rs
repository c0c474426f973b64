use nalgebra::SVector;
use staticnet::prelude::*;

fn main() {
    let prediction = SVector::from([0.1f32, 0.2, 0.7]);
    // A target of size 2 for a prediction of size 3.
    let _ = MeanSquared.loss(&prediction, &SVector::from([0.0f32, 1.0]));
}
