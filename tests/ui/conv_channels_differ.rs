use staticnet::sequence::Seq;
use staticnet::{Conv1d, Network, Relu};

fn main() {
    // Three accelerometer axes into a layer built for six channels.
    let net = (Conv1d::<6, 16, 7>::default(), Relu);
    let window = Seq::<f32, 3, 100>::zeros();
    let _ = net.predict(&window);
}
