//! Does not compile, on purpose.

pub fn greet() -> u32 {
    "not a number"
}
