//! Training allocates nothing: a counting global allocator sees zero
//! allocations during `Trainer::fit`. It counts only the allocations of the
//! thread that runs the test: the test harness's own thread keeps its books
//! (and allocates) while the test starts, which once made this test fail
//! with an allocation that was not fit's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::SVector;
use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
use staticnet::optim::{Adam, Sgd};
use staticnet::prelude::*;
use staticnet::sampling::Sampling;
use staticnet::train::{Control, Trainer};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted. A `const` thread-local
    /// of a `Cell<bool>` needs no allocation and no destructor, so the
    /// allocator may read it.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Net = (Dense<64, 32>, Relu, Dense<32, 10>);

#[test]
fn fit_allocates_nothing() {
    // Data in a fixed array: the set-up allocates nothing either.
    let data: [(SVector<f32, 64>, usize); 100] = core::array::from_fn(|i| {
        (
            SVector::from_fn(|k, _| ((i * 7 + k * 3) % 17) as f32 / 16.0),
            i % 10,
        )
    });
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = Net::random(Init::PyTorch, &mut rng);
    let mut sgd = Trainer::new(Sgd::new(0.1).momentum(0.9))
        .epochs(3)
        .batch_size::<32>();
    let mut adam = Trainer::new(Adam::new(0.01))
        .epochs(3)
        .batch_size::<16>()
        .sampling(Sampling::WithReplacement)
        .validation(|n: &Net| staticnet::metrics::accuracy(n, &data));

    COUNTED.set(true);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let a = sgd.fit(&mut net, &CrossEntropy, &data, &mut rng, |_, _| {
        Control::Continue
    });
    let b = adam.fit(&mut net, &CrossEntropy, &data, &mut rng, |_, _| {
        Control::Continue
    });
    let after = ALLOCATIONS.load(Ordering::SeqCst);

    assert!(a.is_ok() && b.is_ok());
    assert_eq!(after - before, 0, "allocations during fit");
    // The counter works: a Vec allocates.
    let v = vec![1u8; 10];
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > after, "{v:?}");
}
