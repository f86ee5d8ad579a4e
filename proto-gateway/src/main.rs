//! proto-gateway: skeleton; see issue "proto-gateway" for the real service.
fn main() {
    println!("proto-gateway: not built yet");
}
