use monsta::Labels;

#[derive(Clone, PartialEq, Eq, Hash, Labels)]
struct Route {
    path: String,
    weight: Vec<u8>,
}

fn main() {}
