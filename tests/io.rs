//! The weights format: round trips, and every corruption caught before
//! anything changes.

mod common;

use common::rng;
use rand::{Rng, RngExt};
use staticnet::io::{self, Error, FileNode};
use staticnet::prelude::*;
use staticnet::{Node, Params};

type Net = (
    Dense<5, 7>,
    LeakyRelu,
    (Dense<7, 4>, Tanh),
    Dense<4, 3>,
    Softmax,
);
type Net64 = (
    Dense<5, 7, f64>,
    LeakyRelu,
    (Dense<7, 4, f64>, Tanh),
    Dense<4, 3, f64>,
    Softmax,
);

fn saved<T: staticnet::Scalar, N: Params<T>>(net: &N) -> Vec<u8> {
    let mut buf = vec![0u8; io::saved_len(net)];
    assert_eq!(io::save(net, &mut buf), Ok(buf.len()));
    buf
}

fn bits<T: staticnet::Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    net.visit(&mut |p| v.extend(p.iter().map(|x| x.as_f64().to_bits())));
    v
}

#[test]
fn round_trips_are_bit_identical_in_f32_and_f64() {
    let mut r = rng(1);
    let mut net = Net::random(Init::XavierNormal, &mut r);
    // Awkward values survive too: negative zero, subnormals, extremes.
    net.0.weight[(0, 0)] = -0.0;
    net.0.weight[(1, 0)] = f32::from_bits(1);
    net.0.weight[(2, 0)] = f32::MAX;
    net.0.bias[0] = f32::MIN_POSITIVE;
    let mut back = Net::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));

    let mut net = Net64::random(Init::XavierNormal, &mut r);
    net.2.0.weight[(3, 6)] = f64::from_bits(3);
    let mut back = Net64::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));

    // The size is the documented one: a 16-byte header, the description
    // (242 bytes for this network: 13 per tuple, 55 per Dense with its two
    // tensors, 30 for a LeakyRelu with its slope, 8 for Tanh, 11 for
    // Softmax, 1 per tuple end), the count and checksum, the values.
    assert_eq!(
        saved(&net).len(),
        16 + 242 + 12 + 8 * <Net64 as Params<f64>>::NUM_PARAMS
    );
}

/// Loads `bytes` into a fresh random network and checks it failed without
/// changing anything.
fn rejected(bytes: &[u8]) -> Error {
    let mut net = Net::random(Init::Xavier, &mut rng(99));
    let before = bits(&net);
    let err = io::load(&mut net, bytes).expect_err("corrupt bytes must not load");
    assert_eq!(bits(&net), before, "{err}: the network changed");
    err
}

#[test]
fn each_corruption_gives_its_own_error_and_changes_nothing() {
    let net = Net::random(Init::Xavier, &mut rng(2));
    let good = saved(&net);
    let len = good.len();

    // Truncated, at every length.
    for cut in 0..len {
        match rejected(&good[..cut]) {
            Error::Truncated { expected, found } => assert_eq!((expected, found), (len, cut)),
            e => panic!("cut at {cut}: {e:?}"),
        }
    }
    // Trailing bytes.
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        rejected(&long),
        Error::TrailingBytes {
            expected: len,
            found: len + 1
        }
    );

    // Wrong magic.
    let mut b = good.clone();
    b[0] = b'S';
    assert!(matches!(rejected(&b), Error::BadMagic { found } if &found[1..] == b"taticnt"));

    // Wrong version: version 1 (the fixed-record format) and a future one.
    let mut b = good.clone();
    b[8..10].copy_from_slice(&1u16.to_le_bytes());
    let err = rejected(&b);
    assert_eq!(err, Error::UnsupportedVersion { found: 1 });
    assert!(err.to_string().contains("save it again"), "{err}");
    b[8..10].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(rejected(&b), Error::UnsupportedVersion { found: 3 });

    // Wrong scalar type: an f64 file for an f32 network of the same shape.
    let err = rejected(&saved(&Net64::random(Init::Xavier, &mut rng(3))));
    assert_eq!(
        err,
        Error::ScalarType {
            expected: "f32",
            found: "f64"
        }
    );
    assert_eq!(
        err.to_string(),
        "the file holds f64 values, but the network is f32: load it into the same network with \
         f64 as the scalar type (e.g. Dense<I, O, f64>)"
    );

    // Wrong shape: another size, another activation setting, another kind,
    // another depth. Each names where, what the network has and what the
    // file has.
    let other = saved(&<(
        Dense<5, 7>,
        LeakyRelu,
        (Dense<7, 4>, Tanh),
        Dense<4, 2>,
        Softmax,
    )>::zeros());
    let err = rejected(&other);
    assert!(matches!(
        err,
        Error::Mismatch {
            layer: "Dense",
            found: FileNode::Tensor { .. },
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "layer 3 (Dense): the network has tensor `weight` (trainable) of shape [3, 4] \
         where the file has tensor `weight` (trainable) of shape [2, 4]"
    );
    let mut leaky = Net::zeros();
    leaky.1 = LeakyRelu::new(0.25);
    let err = rejected(&saved(&leaky));
    assert_eq!(
        err.to_string(),
        "layer 1 (LeakyRelu): the network has setting `slope` = 0.009999999776482582 \
         where the file has setting `slope` = 0.25"
    );
    let swapped = saved(&(
        Dense::<5, 7>::default(),
        LeakyRelu::default(),
        (Dense::<7, 4>::default(), Gelu),
        Dense::<4, 3>::default(),
        Softmax,
    ));
    assert_eq!(
        rejected(&swapped).to_string(),
        "layer 2.1 (Tanh): the network has a `Tanh` layer where the file has a `Gelu` layer"
    );
    let shallow = saved(&(Dense::<5, 7>::default(), LeakyRelu::default()));
    assert_eq!(
        rejected(&shallow).to_string(),
        "layer 2 (Sequential): the network has a `Sequential` layer where the file has the end \
         of the layer"
    );
    let deeper = saved(&(
        Dense::<5, 7>::default(),
        LeakyRelu::default(),
        (Dense::<7, 4>::default(), Tanh),
        Dense::<4, 3>::default(),
        Softmax,
        Relu,
    ));
    assert_eq!(
        rejected(&deeper).to_string(),
        "the network (Sequential): the network has the end of the layer where the file has a \
         `Relu` layer"
    );

    // A flipped bit in the values, in the reserved byte no other check
    // reads, in the checksum itself: the checksum catches it.
    let start = len - 4 * Net::NUM_PARAMS;
    for &byte in &[len - 1, len - 40, 11, start - 1, start - 4, start] {
        for bit in 0..8 {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            assert!(
                matches!(rejected(&b), Error::Checksum { .. }),
                "byte {byte} bit {bit}"
            );
        }
    }

    // A NaN with a valid checksum: the file is intact but not usable.
    let mut buf = saved(&Net::zeros());
    buf[start + 8..start + 12].copy_from_slice(&f32::NAN.to_le_bytes());
    fix_checksum(&mut buf, start);
    let err = rejected(&buf);
    assert_eq!(
        err,
        Error::NonFinite {
            index: 2,
            tensor: "weight"
        }
    );
    assert_eq!(
        err.to_string(),
        "value 2 in the file (in a tensor `weight`) is NaN or infinite: the network was saved \
         with it (had its training diverged?)"
    );
}

#[test]
fn every_change_to_the_description_is_caught_before_anything_changes() {
    let net = Net::random(Init::Xavier, &mut rng(7));
    let good = saved(&net);
    let d = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    // Every bit of every description byte and of the length field: never a
    // load, never a panic, nothing changed (`rejected` checks both).
    for byte in 12..16 + d {
        for bit in 0..8 {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            let err = rejected(&b);
            // The description is checked before the values: a change there
            // is never reported as a checksum error.
            assert!(
                !matches!(err, Error::Checksum { .. } | Error::NonFinite { .. }),
                "byte {byte} bit {bit}: {err}"
            );
        }
    }
    // Damage the structure itself: an unknown tag, a tensor of rank 9, a
    // name that runs past the end. Each is `Malformed` at the right offset.
    let mut b = good.clone();
    b[16] = 9; // the root's Begin tag
    assert_eq!(
        rejected(&b),
        Error::Malformed {
            offset: 16,
            reason: "an unknown record tag"
        }
    );
    // The first tensor record: root Begin (13 bytes), Dense Begin (8), then
    // tag, name length 2, "weight" 6, role, layout, rank.
    let rank_at = 16 + 13 + 8 + 1 + 2 + 6 + 2;
    assert_eq!(good[rank_at], 2);
    let mut b = good.clone();
    b[rank_at] = 9;
    let err = rejected(&b);
    assert!(
        matches!(err, Error::Malformed { reason, .. } if reason.contains("more than 4 axes")),
        "{err}"
    );
    let mut b = good.clone();
    b[17..19].copy_from_slice(&u16::MAX.to_le_bytes()); // the root kind's length
    let err = rejected(&b);
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("the file's description is damaged at byte")
    );
}

/// Recomputes the CRC-32 of a file whose parameters start at `start`.
fn fix_checksum(buf: &mut [u8], start: usize) {
    let mut crc = 0xFFFF_FFFFu32;
    let data: Vec<u8> = buf[..start - 4]
        .iter()
        .chain(&buf[start..])
        .copied()
        .collect();
    for b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    buf[start - 4..start].copy_from_slice(&(!crc).to_le_bytes());
}

#[test]
fn random_and_corrupted_buffers_never_panic_and_never_load() {
    let mut r = rng(4);
    let good = saved(&Net::random(Init::Xavier, &mut r));
    // Pure noise of every length up to a little past a real file.
    for case in 0..3000 {
        let n = r.random_range(0..good.len() + 16);
        let mut b = vec![0u8; n];
        r.fill_bytes(&mut b);
        if case % 2 == 0 && n >= 8 {
            b[..8].copy_from_slice(&io::MAGIC); // get past the first check
        }
        rejected(&b);
    }
    // Real files with one to eight random bytes changed.
    for _ in 0..3000 {
        let mut b = good.clone();
        for _ in 0..r.random_range(1..=8) {
            let i = r.random_range(0..b.len());
            b[i] ^= r.random_range(1..=255u8);
        }
        rejected(&b);
    }
    // A buffer too small to save into.
    let net = Net::zeros();
    let mut small = vec![0u8; io::saved_len(&net) - 1];
    assert_eq!(
        io::save(&net, &mut small),
        Err(Error::BufferTooSmall {
            needed: small.len() + 1,
            found: small.len()
        })
    );
}

#[test]
fn files_round_trip_and_report_io_errors() {
    let net = Net::random(Init::He, &mut rng(5));
    let path = std::env::temp_dir().join(format!("staticnet-io-test-{}.bin", std::process::id()));
    io::save_file(&net, &path).unwrap();
    let mut back = Net::zeros();
    io::load_file(&mut back, &path).unwrap();
    assert_eq!(back, net);
    std::fs::remove_file(&path).unwrap();
    let err = io::load_file(&mut back, &path).unwrap_err();
    assert!(matches!(err, io::FileError::Read { .. }), "{err:?}");
    assert_eq!(err.path(), path);
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", path.display())),
        "{err}"
    );
}

#[test]
fn every_layer_kind_survives_a_round_trip() {
    type All = (
        Dense<2, 3>,
        (Identity, Relu, LeakyRelu, Sigmoid, Tanh, Softplus),
        (Elu, Gelu, FastTanh, FastSigmoid, Softmax),
    );
    let mut net = All::random(Init::Xavier, &mut rng(6));
    net.1.2 = LeakyRelu::new(0.3);
    net.2.0 = Elu::new(0.4);
    // Settings are part of the shape: a zero network with the default slope
    // and α is another shape; the same settings with zero weights load.
    let err = io::load(&mut All::zeros(), &saved(&net)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("layer 1.2 (LeakyRelu): the network has setting `slope`"),
        "{err}"
    );
    let mut back = net.clone();
    back.set_zero();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(back, net);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    net.describe(&mut |n| a.push(n));
    back.describe(&mut |n| b.push(n));
    let layers = a.iter().filter(|n| matches!(n, Node::Begin(_))).count();
    assert_eq!((layers, a), (15, b));
}

/// The fuzz target `fuzz/fuzz_targets/load.rs` starts from the valid files
/// in `fuzz/seeds/load/`, one per network it loads into; this keeps them
/// files of the current format (`UPDATE_FIXTURES=1` rewrites them).
#[test]
fn fuzz_seeds_are_valid_files_of_the_fuzzed_networks() {
    type Graph = (
        Dense<3, 4>,
        BatchNorm1d<4>,
        Residual<(Dense<4, 4>, LayerNorm<4>)>,
        Concat<Dense<4, 2>, (Dropout, Dense<4, 1>), 3>,
    );
    type Small = (Dense<3, 4>, Relu, Dense<4, 2>);
    type Small64 = (
        Dense<2, 2, f64>,
        (LeakyRelu, Elu),
        Dense<2, 3, f64>,
        Softmax,
    );
    let mut r = rng(8);
    let mut graph = Graph::random(Init::Xavier, &mut r);
    graph.1.running_mean.fill(0.25);
    let seeds = [
        ("valid_f32", saved(&Small::random(Init::Xavier, &mut r))),
        ("valid_f64", saved(&Small64::random(Init::Xavier, &mut r))),
        ("valid_graph", saved(&graph)),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/load");
    for (name, bytes) in seeds {
        let path = format!("{dir}/{name}");
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{path}");
    }
    let mut back = Graph::zeros();
    io::load(
        &mut back,
        &std::fs::read(format!("{dir}/valid_graph")).unwrap(),
    )
    .unwrap();
    assert_eq!(back, graph);
}

/// Every value, buffers included, as bits.
fn all_bits<T: staticnet::Scalar, N: Params<T>>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    N::tensors([net], [], &mut |_, [p], []| {
        v.extend(p.iter().map(|x| x.as_f64().to_bits()))
    });
    v
}

#[test]
fn a_graph_with_buffers_round_trips_and_rejects_every_corruption() {
    type Graph = (
        Dense<3, 4, f64>,
        BatchNorm1d<4, f64>,
        Residual<(Dense<4, 4, f64>, LayerNorm<4, f64>, Dropout)>,
        Concat<Dense<4, 2, f64>, (Tanh, Dense<4, 1, f64>), 3>,
    );
    let mut r = rng(9);
    let mut net = Graph::random(Init::XavierNormal, &mut r);
    net.1.running_mean = nalgebra::SVector::from([0.5, -0.25, 1.0 / 3.0, -0.0]);
    net.1.running_var = nalgebra::SVector::from([2.0, 0.5, 1e-300, 7.0]);
    let good = saved(&net);
    let mut back = Graph::zeros();
    io::load(&mut back, &good).unwrap();
    assert_eq!(all_bits(&back), all_bits(&net), "buffers too, bit for bit");
    assert_eq!(
        good.len(),
        io::saved_len(&net),
        "saved_len counts the buffers"
    );
    assert_eq!(
        <Graph as Params<f64>>::NUM_BUFFERS,
        8,
        "two running statistics of 4"
    );

    let check = |bytes: &[u8]| {
        let mut target = Graph::random(Init::Xavier, &mut rng(10));
        target.1.running_var.fill(3.0);
        let before = all_bits(&target);
        let err = io::load(&mut target, bytes).expect_err("corrupt bytes must not load");
        assert_eq!(all_bits(&target), before, "{err}: the network changed");
        err
    };
    for cut in 0..good.len() {
        assert!(matches!(check(&good[..cut]), Error::Truncated { .. }));
    }
    // Every single-bit flip anywhere: never a load, never a change, never a
    // panic.
    for byte in 0..good.len() {
        for bit in [0, 3, 7] {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            check(&b);
        }
    }
    // A buffer value made NaN (with the checksum fixed) is named.
    let mut b = good.clone();
    let start = b.len() - 8 * (Graph::NUM_PARAMS + Graph::NUM_BUFFERS);
    // Values in order: Dense (12 + 4), then BatchNorm's weight, bias,
    // running_mean (index 24) and running_var.
    b[start + 8 * 24..start + 8 * 25].copy_from_slice(&f64::NAN.to_le_bytes());
    fix_checksum(&mut b, start);
    assert_eq!(
        check(&b),
        Error::NonFinite {
            index: 24,
            tensor: "running_mean"
        }
    );
}

/// A layer whose `NUM_PARAMS` disagrees with its tensors (a bug in a user's
/// `Params` impl): saving and loading refuse it instead of reading or writing
/// out of bounds.
#[derive(Debug, Clone, PartialEq)]
struct Liar {
    w: [f32; 3],
}

impl staticnet::Layer for Liar {
    const KIND: &'static str = "Liar";
}

impl Params<f32> for Liar {
    const NUM_PARAMS: usize = 5; // it has 3
    fn zeros() -> Self {
        Liar { w: [0.0; 3] }
    }
    fn tensors<const R: usize, const W: usize>(
        read: [&Self; R],
        mut write: [&mut Self; W],
        f: &mut impl FnMut(staticnet::params::TensorInfo, [&[f32]; R], [&mut [f32]; W]),
    ) {
        use staticnet::params::{Fill, Shape, TensorInfo};
        let info = TensorInfo::trainable("w", Shape::new(&[3]), Fill::Zeros);
        f(
            info,
            read.map(|l| &l.w[..]),
            write.each_mut().map(|l| &mut l.w[..]),
        );
    }
}

#[test]
fn a_layer_that_disagrees_with_itself_is_refused_not_a_panic() {
    let net = (Dense::<2, 3>::default(), Liar { w: [1.0, 2.0, 3.0] });
    let mut buf = vec![0u8; 1024];
    let err = io::save(&net, &mut buf).unwrap_err();
    assert_eq!(
        err,
        Error::Inconsistent {
            declared: 9 + 5,
            found: 9 + 3
        }
    );
    assert!(err.to_string().contains("disagrees with itself"), "{err}");
    // To a file: refused before a buffer is sized or a file written.
    let path = std::env::temp_dir().join(format!("staticnet-liar-{}.bin", std::process::id()));
    assert!(matches!(
        io::save_file(&net, &path),
        Err(io::FileError::Format {
            error: Error::Inconsistent { .. },
            ..
        })
    ));
    assert!(!path.exists());
    let mut target = net.clone();
    let good = saved(&(Dense::<2, 3>::default(), Relu));
    assert!(matches!(
        io::load(&mut target, &good),
        Err(Error::Inconsistent { .. })
    ));
    assert_eq!(target, net);
}

/// A network with every sequence layer kind: convolutions in each padding
/// mode (dilated, strided, without bias), depthwise ones, every pool and
/// `Flatten`. (Its layers need not chain: the weights file does not run it.)
type SeqAll<T> = (
    (
        Conv1d<2, 3, 3, Same, T>,
        Conv1d<3, 3, 2, Same<2>, T, false>,
        Conv1d<3, 4, 3, Causal<2>, T>,
        Conv1d<4, 4, 3, Valid<5, 2, 2>, T, false>,
    ),
    (
        DepthwiseConv1d<4, 3, Same, T>,
        DepthwiseConv1d<4, 2, Causal<3>, T, false>,
        DepthwiseConv1d<4, 3, Valid<6, 1, 2>, T>,
    ),
    (
        MaxPool1d<2, 3>,
        AvgPool1d<3, 4, 1>,
        GlobalAvgPool,
        GlobalMaxPool,
        LastStep,
        Flatten<12>,
    ),
    Dense<12, 2, T>,
);

#[test]
fn every_sequence_layer_kind_survives_a_round_trip_bit_for_bit() {
    let mut r = rng(7);
    let mut net = SeqAll::<f32>::random(Init::XavierNormal, &mut r);
    net.0.0.weight[0][1][2] = -0.0;
    net.0.2.bias[3] = f32::from_bits(1);
    net.1.0.weight[2][3] = f32::MAX;
    let mut back = SeqAll::<f32>::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(back, net);

    let net = SeqAll::<f64>::random(Init::XavierNormal, &mut r);
    let mut back = SeqAll::<f64>::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));

    // Each layer is in the description with its settings, a bias-free
    // convolution without a `bias` tensor.
    let mut nodes = Vec::new();
    net.describe(&mut |n| nodes.push(n));
    let kinds: Vec<&str> = nodes
        .iter()
        .filter_map(|n| match n {
            Node::Begin(k) if *k != "Sequential" => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Conv1d",
            "Conv1d",
            "Conv1d",
            "Conv1d",
            "DepthwiseConv1d",
            "DepthwiseConv1d",
            "DepthwiseConv1d",
            "MaxPool1d",
            "AvgPool1d",
            "GlobalAvgPool",
            "GlobalMaxPool",
            "LastStep",
            "Flatten",
            "Dense"
        ]
    );
    // A convolution describes its configuration as settings, so a file
    // saved for another one is refused (below).
    let mut settings = Vec::new();
    Conv1d::<4, 4, 3, Valid<5, 2, 2>, f32, false>::default().describe(&mut |n| {
        if let Node::Setting(name, value) = n {
            settings.push(format!("{name} = {value}"));
        }
    });
    assert_eq!(
        settings,
        [
            "kernel_size = 3",
            "dilation = 2",
            "stride = 2",
            "padding_left = 0",
            "causal = false",
            "groups = 1"
        ]
    );
    let mut tensors = Vec::new();
    Conv1d::<4, 4, 3, Valid<5, 2, 2>, f32, false>::default().describe(&mut |n| {
        if let Node::Tensor(t) = n {
            tensors.push(t.name);
        }
    });
    assert_eq!(tensors, ["weight"]);
}

#[test]
fn a_file_saved_for_one_convolution_configuration_is_refused_by_another() {
    fn refuses<A: Params<f32>, B: Params<f32> + Clone + PartialEq + std::fmt::Debug>(
        from: &A,
        into: B,
    ) -> String {
        let mut into = into;
        let before = into.clone();
        let err = io::load(&mut into, &saved(from)).expect_err("another configuration");
        assert_eq!(into, before, "{err}: the network changed");
        err.to_string()
    }
    let mut r = rng(8);
    let same = Conv1d::<2, 3, 3, Same>::random(Init::Xavier, &mut r);
    // Same and Causal of the same sizes have the same tensors: the
    // settings tell them apart.
    assert_eq!(
        refuses(
            &(Relu, same.clone()),
            (Relu, Conv1d::<2, 3, 3, Causal>::default())
        ),
        "layer 1 (Conv1d): the network has setting `padding_left` = 2 where the file has \
         setting `padding_left` = 1"
    );
    // With one tap both pad nothing: the causal flag differs.
    let one = Conv1d::<2, 3, 1, Same>::random(Init::Xavier, &mut r);
    assert_eq!(
        refuses(&(one,), (Conv1d::<2, 3, 1, Causal>::default(),)),
        "layer 0 (Conv1d): the network has setting `causal` = true where the file has \
         setting `causal` = false"
    );
    // Another dilation, another stride.
    let err = refuses(&same, Conv1d::<2, 3, 3, Same<2>>::default());
    assert!(
        err.contains("`dilation` = 2 where the file has setting `dilation` = 1"),
        "{err}"
    );
    let valid = Conv1d::<2, 3, 3, Valid<4, 1, 1>>::random(Init::Xavier, &mut r);
    let err = refuses(&valid, Conv1d::<2, 3, 3, Valid<2, 1, 2>>::default());
    assert!(
        err.contains("`stride` = 2 where the file has setting `stride` = 1"),
        "{err}"
    );
    // A bias-free convolution: another tensor list.
    let err = refuses(&same, Conv1d::<2, 3, 3, Same, f32, false>::default());
    assert!(err.contains("tensor `bias`"), "{err}");
    // A depthwise convolution of 3 channels is not a full 3 → 3 one.
    let full = Conv1d::<3, 3, 3, Same>::random(Init::Xavier, &mut r);
    let err = refuses(&full, DepthwiseConv1d::<3, 3, Same>::default());
    assert!(err.contains("a `DepthwiseConv1d` layer"), "{err}");
    // Pools and Flatten with other sizes.
    let err = refuses(&(MaxPool1d::<2, 3>,), (MaxPool1d::<2, 3, 1>,));
    assert!(
        err.contains("setting `S` = 1 where the file has setting `S` = 2"),
        "{err}"
    );
    let err = refuses(&(Flatten::<12>,), (Flatten::<10>,));
    assert!(err.contains("setting `N` = 10"), "{err}");
    let err = refuses(&(GlobalAvgPool,), (GlobalMaxPool,));
    assert!(err.contains("a `GlobalMaxPool` layer"), "{err}");
}

#[test]
fn recurrent_layers_survive_a_round_trip_bit_for_bit_and_refuse_each_others_files() {
    type Rnn<T> = (Gru<2, 3, T>, Lstm<3, 4, T>, LastStep, Dense<4, 2, T>);
    let mut r = rng(9);
    let mut net = Rnn::<f32>::random(Init::PyTorch, &mut r);
    net.0.bias_hh[2][1] = -0.0;
    net.1.weight_ih[2][3][1] = f32::from_bits(1);
    let mut back = Rnn::<f32>::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(back, net);
    let net = Rnn::<f64>::random(Init::PyTorch, &mut r);
    let mut back = Rnn::<f64>::zeros();
    io::load(&mut back, &saved(&net)).unwrap();
    assert_eq!(bits(&back), bits(&net));

    // The tensors are PyTorch's, by name and shape.
    let mut tensors = Vec::new();
    net.describe(&mut |n| {
        if let Node::Tensor(t) = n {
            tensors.push(format!("{} {}", t.name, t.shape));
        }
    });
    assert_eq!(
        tensors[..8],
        [
            "weight_ih_l0 [9, 2]",
            "weight_hh_l0 [9, 3]",
            "bias_ih_l0 [9]",
            "bias_hh_l0 [9]",
            "weight_ih_l0 [16, 3]",
            "weight_hh_l0 [16, 4]",
            "bias_ih_l0 [16]",
            "bias_hh_l0 [16]",
        ]
    );

    // A GRU's file is not an LSTM's, nor one of other sizes.
    let gru = (Gru::<2, 3>::random(Init::PyTorch, &mut r),);
    let mut lstm = (Lstm::<2, 3>::zeros(),);
    let err = io::load(&mut lstm, &saved(&gru)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 0 (LSTM): the network has a `LSTM` layer where the file has a `GRU` layer"
    );
    assert_eq!(lstm, (Lstm::<2, 3>::zeros(),));
    let err = io::load(&mut (Gru::<2, 4>::zeros(),), &saved(&gru)).unwrap_err();
    assert!(err.to_string().contains("shape [12, 2]"), "{err}");
}
