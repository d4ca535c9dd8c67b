compose_runtime::compose!("no-such-plan.toml");

fn main() {}
