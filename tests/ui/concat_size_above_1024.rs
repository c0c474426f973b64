use nalgebra::SVector;
use staticnet::prelude::*;

// 1,000 + 500 = 1,500 is right, but typenum maps sizes to types only up to
// 1,024: a `Concat` wider than that does not compile.
type Net = Concat<Dense<2, 1000>, Dense<2, 500>, 1500>;

fn main() {
    let net = Net::default();
    let _ = net.predict(&SVector::from([0.5, -0.5]));
}
