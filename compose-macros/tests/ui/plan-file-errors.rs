// Errors in a plan file point at the file's line and column.
compose_runtime::compose!("../../../../compose-macros/tests/ui/plans/bad.toml");

fn main() {}
