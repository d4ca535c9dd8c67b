// `provenance = true` embeds the build's SLSA provenance statement (canonical JSON).
compose_runtime::compose!(
    path = "../../../../compose-macros/tests/ui/plans/good.toml",
    type = Proven,
    provenance = true,
);

fn main() {
    let text = std::str::from_utf8(Proven::PROVENANCE).unwrap();
    assert!(text.contains(r#""predicateType":"https://slsa.dev/provenance/v1""#), "{text}");
    assert!(text.contains(r#""name":"good.toml""#), "{text}");
    let digest = Proven::COMPONENT_DIGEST.trim_start_matches("sha256:");
    assert!(text.contains(digest), "{text}");
    assert!(text.contains("https://example.invalid/compose/compose-build"), "{text}");
}
