//! The `compose!` macro: parses an inline plan into the shared model and expands it (to come with the `compose!` issue).
