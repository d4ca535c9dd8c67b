//! The build-script helper: resolves, composes and embeds components from a plan (to come with the emit and `compose!` issues).
