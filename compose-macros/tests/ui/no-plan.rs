compose_runtime::compose! {}

fn main() {}
