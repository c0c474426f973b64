//! The f32 check of backpropagation: for random unit directions `u` (in input
//! or parameter space) and random output weights `v`, ⟨u, Jᵀv⟩ from one backward
//! pass equals the central difference of ⟨v, y⟩ along `u`, within 2e-3.

mod common;

use common::{rng, uniform};
use nalgebra::SVector;
use staticnet::prelude::*;

const TOL: f32 = 2e-3;

fn check<N, const I: usize, const O: usize>(what: &str, seed: u64, h: f32)
where
    N: Train<SVector<f32, I>, Output = SVector<f32, O>> + Params<f32> + Clone,
{
    let mut r = rng(seed);
    for trial in 0..10 {
        let net = N::random(Init::XavierNormal, &mut r);
        let x = SVector::<f32, I>::from_fn(|_, _| uniform(&mut r, -1.5, 1.5) as f32);
        let v = SVector::<f32, O>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32);
        let u = SVector::<f32, I>::from_fn(|_, _| uniform(&mut r, -1.0, 1.0) as f32).normalize();
        let (_, tape) = net.forward_train(&x);
        let mut grad = N::zeros();
        let jtv = net.backward(&tape, &v, &mut grad);

        // Input direction.
        let analytic = u.dot(&jtv);
        let f = |x: &SVector<f32, I>| v.dot(&net.predict(x));
        let numeric = (f(&(x + u * h)) - f(&(x - u * h))) / (2.0 * h);
        assert!(
            (analytic - numeric).abs() <= TOL * numeric.abs().max(1.0),
            "{what} trial {trial}: input direction: analytic {analytic} vs numeric {numeric}"
        );

        // Parameter direction.
        let mut w = N::zeros();
        w.visit_mut(&mut |p| {
            p.iter_mut()
                .for_each(|p| *p = uniform(&mut r, -1.0, 1.0) as f32)
        });
        // A unit direction, so that the step moves every pre-activation by O(h).
        let mut norm = 0.0f32;
        w.visit(&mut |p| norm += p.iter().map(|v| v * v).sum::<f32>());
        w.visit_mut(&mut |p| p.iter_mut().for_each(|p| *p /= norm.sqrt()));
        let mut analytic = 0.0f32;
        N::zip([&w, &grad], [], &mut |[w, g], []| {
            analytic += w.iter().zip(g).map(|(a, b)| a * b).sum::<f32>()
        });
        let shifted = |s: f32| {
            let mut n = net.clone();
            N::zip([&w], [&mut n], &mut |[w], [p]| {
                p.iter_mut().zip(w).for_each(|(p, w)| *p += s * w)
            });
            v.dot(&n.predict(&x))
        };
        let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
        assert!(
            (analytic - numeric).abs() <= TOL * numeric.abs().max(1.0),
            "{what} trial {trial}: parameter direction: analytic {analytic} vs numeric {numeric}"
        );
    }
}

#[test]
fn random_directions_agree_with_finite_differences_in_f32() {
    check::<
        (
            Dense<3, 16>,
            Tanh,
            Dense<16, 16>,
            Tanh,
            Dense<16, 1>,
            Sigmoid,
        ),
        3,
        1,
    >("tiny", 1, 1e-2);
    check::<(Dense<8, 12>, Gelu, Dense<12, 5>, Softmax), 8, 5>("softmax", 2, 1e-2);
    check::<(Dense<6, 10>, Softplus, Dense<10, 10>, Elu, Dense<10, 4>), 6, 4>("smooth", 3, 1e-2);
    check::<(Dense<64, 32>, Relu, Dense<32, 10>), 64, 10>("digits-shaped relu", 4, 1e-3);
}
