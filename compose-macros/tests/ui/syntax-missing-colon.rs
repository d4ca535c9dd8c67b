compose_runtime::compose! {
    name "hello",
}

fn main() {}
