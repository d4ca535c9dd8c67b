//! `GREETING_KEY=k cargo run -p signed-hello -- World` prints
//! `Hello, World! [hmac-sha256:…]`: the signer component asks the host to sign each greeting
//! with the secret token `greeting-key`; the guests hold only the token, never the key.
//!
//! The plan says where the key is (`env:GREETING_KEY`); the host decides how to read it. With
//! `BAO_ADDR` and `BAO_TOKEN` set, this binary also reads `vault:` secrets from OpenBao/Vault
//! (change the reference to e.g. `vault:secret/hello#key`): the builder's `secret_backend` hook.

compose_runtime::compose! {
    name: "signed-hello",
    workspace: "../guests",
    components: {
        greeter: { crate: "greeter", exports: ["example:greet/greeter"] },
        signer: {
            crate: "signer",
            exports: ["example:greet/greeter"],
            imports: {
                "example:greet/greeter": greeter,
                "std:secrets/store": { host: secrets },
                "std:secrets/operations": { host: secrets },
            },
            capabilities: { secrets: ["greeting-key"] },
        },
        app: {
            crate: "app",
            exports: ["wasi:cli/run"],
            imports: { "example:greet/greeter": signer },
            capabilities: { stdout: required, stderr: required, args: required },
        },
    },
    exports: { "wasi:cli/run": app },
    grants: { stdout: true, stderr: true, args: true },
    secrets: { greeting-key: "env:GREETING_KEY" },
}

use std::process::ExitCode;

use compose_runtime::secrets::VaultBackend;

fn main() -> ExitCode {
    let mut builder = SignedHello::builder();
    if let Ok(vault) = VaultBackend::from_env() {
        builder = builder.secret_backend("vault", vault);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match builder.load().and_then(|c| c.run(&args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
