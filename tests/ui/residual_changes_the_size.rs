use nalgebra::SVector;
use staticnet::prelude::*;

fn main() {
    // The residual block gives 4 values per sample for an input of 8, so
    // x + f(x) is not defined.
    let net = (
        Dense::<2, 8>::default(),
        Residual::new((Dense::<8, 4>::default(), Relu)),
    );
    let _ = net.predict(&SVector::from([0.5, -0.5]));
}
