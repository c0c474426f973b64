use nalgebra::SVector;
use staticnet::prelude::*;

// The branches give 3 + 8 = 11 values per sample, but the `Concat` says 12.
type Net = (
    Dense<2, 4>,
    Concat<Dense<4, 3>, (Dense<4, 8>, Relu), 12>,
    Dense<12, 1>,
);

fn main() {
    let net = Net::default();
    let _ = net.predict(&SVector::from([0.5, -0.5]));
}
