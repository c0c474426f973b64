//! Parameters as slices, and the shape signature.

use staticnet::params::{Layout, Role, Setting, Shape};
use staticnet::prelude::*;
use staticnet::{Node, Params};

type Net = (
    Dense<4, 8>,
    LeakyRelu,
    ((Dense<8, 8>, Elu), Softmax),
    Dense<8, 3>,
    Identity,
);

#[test]
fn layers_describe_a_nested_network_in_order() {
    let mut nodes = Vec::new();
    Net::zeros().describe(&mut |n| nodes.push(n));
    let tensor = |name: &'static str, dims: &[usize]| match nodes
        .iter()
        .find(|n| matches!(n, Node::Tensor(t) if t.name == name && t.shape == Shape::new(dims)))
    {
        Some(Node::Tensor(t)) => *t,
        _ => panic!("no tensor {name} {dims:?}"),
    };
    let weight = tensor("weight", &[8, 4]);
    assert_eq!(weight.role, Role::Trainable);
    assert_eq!(weight.layout, Layout::ColumnMajor);
    assert_eq!(tensor("bias", &[3]).layout, Layout::RowMajor);
    let kinds: Vec<&str> = nodes
        .iter()
        .filter_map(|n| match n {
            Node::Begin(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Sequential",
            "Dense",
            "LeakyRelu",
            "Sequential",
            "Sequential",
            "Dense",
            "Elu",
            "Softmax",
            "Dense",
            "Identity"
        ]
    );
    let settings: Vec<(&str, Setting)> = nodes
        .iter()
        .filter_map(|n| match n {
            Node::Setting(name, s) => Some((*name, *s)),
            _ => None,
        })
        .collect();
    assert_eq!(
        settings,
        [
            ("slope", Setting::Real(0.01f32 as f64)),
            ("alpha", Setting::Real(1.0))
        ]
    );
    // Begins and Ends pair up.
    let depth = nodes.iter().fold(0i32, |d, n| match n {
        Node::Begin(_) => d + 1,
        Node::End => d - 1,
        _ => d,
    });
    assert_eq!(depth, 0);
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
