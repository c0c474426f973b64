use staticnet::Dropout;

// A dropout probability is checked where it is set: in a `static` (or a
// `const`), one outside [0, 1) does not compile. For a value read at run
// time, `Dropout::try_new` returns the error instead.
static DROP: Dropout = Dropout::new(1.0);

fn main() {
    let _ = DROP.p();
}
