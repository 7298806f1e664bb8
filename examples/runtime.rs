//! The runtime monitor example (being written).

fn main() {}
