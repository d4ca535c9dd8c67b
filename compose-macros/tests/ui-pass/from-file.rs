// A plan file, a chosen type name, and no precompiled code.
compose_runtime::compose!(
    path = "../../../../compose-macros/tests/ui/plans/good.toml",
    type = FromPlanFile,
    precompile = false,
);

fn main() {
    assert!(FromPlanFile::EMBEDDED.precompiled.is_none());
    let loaded = FromPlanFile::load().unwrap();
    assert!(!loaded.from_precompiled());
}
