use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::train::{Control, Trainer};

fn main() {
    let mut net = (Dense::<13, 8>::default(), Relu, Dense::<8, 3>::default());
    // Rows of 12 inputs for a network that takes 13.
    let rows: Vec<(SVector<f32, 12>, usize)> = vec![(SVector::zeros(), 0)];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let _ = Trainer::new(Sgd::new(0.1)).fit(&mut net, &CrossEntropy, &rows, &mut rng, |_, _| {
        Control::Continue
    });
}
