//! Fisher's iris: 4 → 16 (tanh) → 3, inputs standardised with the training
//! set's mean and standard deviation by the network's first layer (so the
//! model takes raw measurements, and a saved model keeps its scaling), trained with plain mini-batch SGD
//! (learning rate 0.1, batch 16, shuffled epochs, 200 epochs) on 120 flowers
//! and tested on the other 30.
//!
//!     cargo run --release --example iris [-- --seed N] [-- --plot DIR]
//!
//! `--plot DIR` also writes `DIR/iris-training.svg` and `DIR/iris-confusion.svg`.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::metrics::{accuracy, confusion_matrix};
use staticnet::optim::Sgd;
use staticnet::prelude::*;
use staticnet::train::Trainer;

type Net = (Standardize<4>, Dense<4, 16>, Tanh, Dense<16, 3>);

fn main() {
    let start = Instant::now();
    let args = common::args();
    let (train, test) = common::load_split::<4>("iris");

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Net::random(Init::Xavier, &mut rng);
    // Standardise with the training set's statistics only.
    net.0 = Standardize::fit(&train).unwrap_or_else(|e| panic!("{e}"));
    let train_accuracy = |net: &Net| accuracy(net, &train);
    if let Some(dir) = &args.plot {
        common::plot_dir(dir);
    }
    // With --plot, each epoch's figures (the test accuracy only measured).
    let mut rows = Vec::new();
    let mut trainer = Trainer::new(Sgd::new(0.1))
        .epochs(200)
        .batch_size::<16>()
        .validation(train_accuracy);
    let result = match args.plot {
        Some(_) => trainer.fit(
            &mut net,
            &CrossEntropy,
            &train,
            &mut rng,
            common::progress_recorded(start, &mut rows, |net: &Net| accuracy(net, &test)),
        ),
        None => trainer.fit(
            &mut net,
            &CrossEntropy,
            &train,
            &mut rng,
            common::progress(start),
        ),
    };
    result.unwrap_or_else(|e| panic!("training failed: {e}"));

    println!("confusion matrix (rows: true class, columns: predicted):");
    let m = confusion_matrix::<_, _, _, 3, 3>(&net, &test).unwrap_or_else(|e| panic!("{e}"));
    for row in m.row_iter() {
        println!("  {:>3} {:>3} {:>3}", row[0], row[1], row[2]);
    }
    if let Some(dir) = &args.plot {
        let title = format!("iris: 4 → 16 (tanh) → 3, SGD, seed {}", args.seed);
        let path = dir.join("iris-training.svg");
        common::plot::training_curves(&path, &title, "accuracy (%)", &rows)
            .unwrap_or_else(|e| common::plot_failed(e));
        println!("wrote {}", path.display());
        let path = dir.join("iris-confusion.svg");
        let title = format!("iris: test set, seed {}", args.seed);
        let names = ["setosa", "versicolor", "virginica"];
        common::plot::confusion_matrix(&path, &title, &m, &names)
            .unwrap_or_else(|e| common::plot_failed(e));
        println!("wrote {}", path.display());
    }
    println!("test accuracy: {:.2}%", 100.0 * accuracy(&net, &test));
}
