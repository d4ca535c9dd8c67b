//! What checking a signature costs, in-process: the bare digest check every load does, a keyed
//! bundle over a 100 KB component (P-256 messageSignature; DSSE statement, checked and answered
//! from the verification cache of a warm run), and a real keyless
//! bundle made by cosign (certificate chain, SCT, Rekor inclusion proof, RFC 3161 timestamp)
//! against Sigstore's public-good root. `cargo bench -p compose-trust`; `cargo xtask bench-trust`
//! records them with the whole-command figures.

use std::path::PathBuf;

use compose_model::Digest;
use compose_trust::verify::{self, Accepted, BundleFile, Policy, TrustedRoot};
use compose_trust::{SigningKey, keys, sign, statement};
use criterion::{Criterion, criterion_group, criterion_main};

fn registry_crate(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
        .map(|i| i.path().join(name))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("{name} is not unpacked"))
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let public = keys::generate(&dir.path().join("k")).unwrap().key;
    let key = SigningKey::read(&dir.path().join("k")).unwrap();
    let component: Vec<u8> = (0..100 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let policy = Policy::new(vec![Accepted::Key(public.clone())]).unwrap();
    let message = vec![BundleFile {
        origin: "m".into(),
        json: sign::sign_artifact(&component, &key).unwrap().into_bytes(),
    }];
    let st = statement::composition("c.wasm", &Digest::of(&component), &Digest::of(b"plan"));
    let dsse = vec![BundleFile {
        origin: "d".into(),
        json: sign::sign_statement(&st, &key).unwrap().into_bytes(),
    }];
    let mut g = c.benchmark_group("trust");
    g.bench_function("digest 100 KB (the check every load does)", |b| {
        b.iter(|| Digest::of(&component))
    });
    g.bench_function("keyed messageSignature 100 KB", |b| {
        b.iter(|| {
            verify::verify(
                "c",
                &compose_trust::Artifact::new(&component),
                &message,
                "",
                &policy,
            )
            .unwrap()
        })
    });
    g.bench_function("keyed DSSE composition statement 100 KB", |b| {
        b.iter(|| {
            verify::verify(
                "c",
                &compose_trust::Artifact::new(&component),
                &dsse,
                "",
                &policy,
            )
            .unwrap()
        })
    });

    // A warm run's check: the same bytes, bundle and policy verified before, kept in a private
    // blob store (the digest is still taken: the key is made from it).
    std::fs::create_dir(dir.path().join("store")).unwrap();
    let store = compose_model::blobs::BlobStore::new(dir.path().join("store"));
    let plan_policy = || {
        Policy::new(vec![Accepted::Key(public.clone())])
            .unwrap()
            .plan(Digest::of(b"plan"))
    };
    let warm = |policy: &Policy| {
        compose_trust::cache::verify(
            store.private(),
            "c",
            &compose_trust::Artifact::new(&component),
            &dsse,
            "",
            policy,
        )
        .unwrap()
    };
    warm(&plan_policy());
    assert!(store.is_private(), "a fresh temporary folder is private");
    g.bench_function(
        "keyed DSSE statement 100 KB, from the verification cache",
        |b| {
            let policy = plan_policy();
            b.iter(|| warm(&policy))
        },
    );

    let assets = registry_crate("sigstore-verify-0.15.1").join("test_data/bundles");
    let artifact = std::fs::read(assets.join("cosign-v3-blob.txt")).unwrap();
    let keyless = vec![BundleFile {
        origin: "cosign".into(),
        json: std::fs::read(assets.join("cosign-v3-blob.sigstore.json")).unwrap(),
    }];
    let root_file = registry_crate("sigstore-trust-root-0.15.1").join("src/trusted_root.json");
    let root = TrustedRoot::read(&root_file).unwrap();
    let identity = || Accepted::Identity {
        identity: "w.vollprecht@gmail.com".into(),
        issuer: "https://github.com/login/oauth".into(),
    };
    let keyless_policy = Policy::new(vec![identity()])
        .unwrap()
        .trusted_root(&root)
        .unwrap();
    g.bench_function("keyless cosign bundle (policy built once)", |b| {
        b.iter(|| {
            verify::verify(
                "c",
                &compose_trust::Artifact::new(&artifact),
                &keyless,
                "",
                &keyless_policy,
            )
            .unwrap()
        })
    });
    g.bench_function(
        "keyless cosign bundle (reading the trusted root too)",
        |b| {
            b.iter(|| {
                let root = TrustedRoot::read(&root_file).unwrap();
                let p = Policy::new(vec![identity()])
                    .unwrap()
                    .trusted_root(&root)
                    .unwrap();
                verify::verify(
                    "c",
                    &compose_trust::Artifact::new(&artifact),
                    &keyless,
                    "",
                    &p,
                )
                .unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
