//! Parameters as slices, and the shape signature.

use staticnet::prelude::*;
use staticnet::{Layer, Params};

type Net = (
    Dense<4, 8>,
    LeakyRelu,
    ((Dense<8, 8>, Elu), Softmax),
    Dense<8, 3>,
    Identity,
);

#[test]
fn layers_describe_a_nested_network_in_order() {
    let mut layers = Vec::new();
    Net::zeros().layers(&mut |l| layers.push(l));
    assert_eq!(
        layers,
        [
            Layer::Dense {
                inputs: 4,
                outputs: 8
            },
            Layer::LeakyRelu {
                slope: 0.01f32 as f64
            },
            Layer::Dense {
                inputs: 8,
                outputs: 8
            },
            Layer::Elu { alpha: 1.0 },
            Layer::Softmax,
            Layer::Dense {
                inputs: 8,
                outputs: 3
            },
            Layer::Identity,
        ]
    );
    let names: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
    assert_eq!(names[0], "Dense<4, 8>");
    assert_eq!(names[3], "Elu(1)");
}

#[test]
fn slices_cover_every_parameter_once_in_a_fixed_order() {
    let mut net = Net::zeros();
    let mut k = 0.0f32;
    net.visit_mut(&mut |p| {
        for v in p {
            *v = k;
            k += 1.0;
        }
    });
    assert_eq!(k as usize, <Net as Params<f32>>::NUM_PARAMS);
    assert_eq!(
        <Net as Params<f32>>::NUM_PARAMS,
        4 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    );
    // Weights column by column, then the bias, layer by layer.
    assert_eq!(net.0.weight[(0, 0)], 0.0);
    assert_eq!(net.0.weight[(1, 0)], 1.0);
    assert_eq!(net.0.weight[(0, 1)], 8.0);
    assert_eq!(net.0.bias[0], 32.0);
    assert_eq!((net.2).0.0.weight[(0, 0)], 40.0);
    assert_eq!(net.3.bias[2], k - 1.0);
    net.set_zero();
    assert!(net.is_finite());
    net.3.bias[0] = f32::INFINITY;
    assert!(!net.is_finite());

    // Every position, every kind of non-finite value, is seen (the check is
    // branch-free, over chunks of eight and a remainder).
    let n = <Net as Params<f32>>::NUM_PARAMS;
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for k in 0..n {
            let mut net = Net::zeros();
            net.visit_mut(&mut |p| p.iter_mut().for_each(|v| *v = 1e30));
            let mut i = 0;
            net.visit_mut(&mut |p| {
                for v in p {
                    if i == k {
                        *v = bad;
                    }
                    i += 1;
                }
            });
            assert!(!net.is_finite(), "{bad} at {k}");
        }
    }
    let mut big = Net::zeros();
    big.visit_mut(&mut |p| p.iter_mut().for_each(|v| *v = -f32::MAX));
    assert!(big.is_finite());
}
