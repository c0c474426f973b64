//! Mini-batch sampling without a heap.
//!
//! Two ways the theory of stochastic gradient descent uses:
//!
//! * [`Sampling::WithReplacement`]: every index of every batch is an
//!   independent uniform draw from `0..n`, so each mini-batch gradient is an
//!   unbiased estimate of the full gradient.
//! * [`Sampling::Shuffled`]: each epoch visits every sample exactly once, in
//!   a fresh pseudo-random order. The order is a keyed permutation of `0..n`
//!   (a twelve-round Feistel network with cycle walking), computed index by
//!   index, so no buffer of `n` indices is needed.
//!
//! Both draw only `next_u64` from the generator, so the same seed gives the
//! same batches on every platform.

use rand::Rng;

/// How a trainer draws mini-batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sampling {
    /// Each epoch is a pass over the data in a fresh random order; the last
    /// batch of an epoch is short when the batch size does not divide `n`.
    #[default]
    Shuffled,
    /// Each index is drawn uniformly from `0..n`, independently; an epoch is
    /// `⌈n / B⌉` full batches.
    WithReplacement,
}

/// A uniform draw from `0..n` (Lemire's multiply-and-reject; exactly
/// uniform).
///
/// # Panics
///
/// If `n == 0` (there is nothing to draw); [`try_uniform_index`] returns
/// `None` instead.
pub fn uniform_index<G: Rng + ?Sized>(rng: &mut G, n: usize) -> usize {
    match try_uniform_index(rng, n) {
        Some(i) => i,
        None => panic!("cannot draw from an empty range"),
    }
}

/// A uniform draw from `0..n` as [`uniform_index`] makes it, or `None` if
/// `n == 0` (then nothing is drawn from `rng`).
///
/// ```
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::sampling::try_uniform_index;
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// assert!(try_uniform_index(&mut rng, 10).is_some_and(|i| i < 10));
/// assert_eq!(try_uniform_index(&mut rng, 0), None);
/// ```
pub fn try_uniform_index<G: Rng + ?Sized>(rng: &mut G, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let n = n as u64;
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return Some((m >> 64) as usize);
        }
    }
}

/// Feistel rounds: few rounds leave small domains visibly non-uniform (with
/// four, position 0 of a permutation of 0..10 fails a chi-squared test);
/// twelve pass the tests in tests/train.rs and cost about 0.1 µs an index.
const ROUNDS: usize = 12;

/// A pseudo-random permutation of `0..n` that needs no memory besides its
/// keys: `get(i)` is the `i`-th element of the permuted order.
///
/// ```
/// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
/// use staticnet::sampling::Permutation;
///
/// let p = Permutation::new(10, &mut Xoshiro256PlusPlus::seed_from_u64(7));
/// let mut seen = [false; 10];
/// for i in 0..10 {
///     seen[p.get(i)] = true;
/// }
/// assert!(seen.iter().all(|&s| s));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// A fresh permutation of `0..n` keyed from `rng`.
    pub fn new<G: Rng + ?Sized>(n: usize, rng: &mut G) -> Self {
        let n = n as u64;
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        Permutation {
            n,
            half_bits,
            keys: core::array::from_fn(|_| rng.next_u64()),
        }
    }

    /// The length `n`.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether `n == 0`.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The element at position `i` of the permuted order.
    ///
    /// # Panics
    ///
    /// If `i >= n`; [`try_get`](Permutation::try_get) returns `None`
    /// instead.
    pub fn get(&self, i: usize) -> usize {
        match self.try_get(i) {
            Some(x) => x,
            None => panic!("index {i} out of range for a permutation of {}", self.n),
        }
    }

    /// The element at position `i` of the permuted order, or `None` if
    /// `i >= n`.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    /// use staticnet::sampling::Permutation;
    /// let p = Permutation::new(3, &mut Xoshiro256PlusPlus::seed_from_u64(1));
    /// assert!(p.try_get(2).is_some_and(|x| x < 3));
    /// assert_eq!(p.try_get(3), None);
    /// ```
    pub fn try_get(&self, i: usize) -> Option<usize> {
        if i as u64 >= self.n {
            return None;
        }
        // Cycle walking: the Feistel network permutes 0..4^half_bits ⊇ 0..n;
        // re-encrypting until the value lands in 0..n restricts it to a
        // permutation of 0..n. The domain is less than 4n, so this takes
        // fewer than four rounds on average.
        let mut x = i as u64;
        loop {
            x = self.feistel(x);
            if x < self.n {
                return Some(x as usize);
            }
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for &k in &self.keys {
            (l, r) = (r, l ^ (mix(r ^ k) & mask));
        }
        (l << self.half_bits) | r
    }
}

/// SplitMix64's finaliser: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draws the batches of one epoch: `⌈n / B⌉` batches of indices into a data
/// set of `n` samples.
#[derive(Debug, Clone)]
pub struct Epoch {
    n: usize,
    order: Option<Permutation>,
}

impl Epoch {
    /// The batches of a new epoch over `n` samples.
    pub fn new<G: Rng + ?Sized>(n: usize, sampling: Sampling, rng: &mut G) -> Self {
        let order = match sampling {
            Sampling::Shuffled => Some(Permutation::new(n, rng)),
            Sampling::WithReplacement => None,
        };
        Epoch { n, order }
    }

    /// The number of batches of size `batch` in this epoch: `⌈n / batch⌉`.
    pub fn batches(&self, batch: usize) -> usize {
        self.n.div_ceil(batch.max(1))
    }

    /// The indices of batch `k` (`k < batches(B)`), and how many of them are
    /// real: `B`, except for the short last batch of a shuffled epoch, whose
    /// unused slots repeat its first index (a trainer masks them: it reads
    /// only the first `count`).
    ///
    /// # Panics
    ///
    /// If the epoch has no samples (`n == 0`), or, for a shuffled epoch, if
    /// `k ≥ batches(B)`: there is no such batch. A trainer never asks for
    /// one ([`Trainer::fit`](crate::train::Trainer::fit) refuses an empty
    /// data set first).
    pub fn batch<G: Rng + ?Sized, const B: usize>(
        &self,
        k: usize,
        rng: &mut G,
    ) -> ([usize; B], usize) {
        match &self.order {
            Some(p) => {
                let start = k * B;
                let count = B.min(self.n.saturating_sub(start));
                let first = p.get(start);
                let idx =
                    core::array::from_fn(|j| if j < count { p.get(start + j) } else { first });
                (idx, count)
            }
            None => (core::array::from_fn(|_| uniform_index(rng, self.n)), B),
        }
    }
}
