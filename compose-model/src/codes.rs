//! The one table of stable error codes shared by the CLI, the macro, the build helper and the
//! conformance vectors. Tests match codes, never message text.

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $summary:literal;)*) => {
        /// A stable error code such as `E0101`.
        ///
        /// Codes never change meaning once published; `docs/errors.md` lists them all.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written in messages and vectors, e.g. `"E0101"`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A one-line summary of what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// Looks a code up by its written form.
            pub fn parse(s: &str) -> Option<Code> {
                match s { $($code => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // Canonical CBOR: not well-formed.
    /// The input ends inside a data item (or is empty), or declares more bytes than it has.
    CborTruncated = "E0001", "not well-formed: the input ends inside a data item";
    /// Additional information 28, 29 or 30 is reserved.
    CborReservedInfo = "E0002", "not well-formed: additional information 28-30 is reserved";
    /// Indefinite length on a major type that has none (integers, tags, simple values).
    CborBadIndefinite = "E0003", "not well-formed: indefinite length on a major type that does not allow it";
    /// A break byte (0xff) where no indefinite-length item is open, or a map missing a value.
    CborUnexpectedBreak = "E0004", "not well-formed: unexpected break (0xff)";
    /// A chunk of an indefinite-length string that is not a definite string of the same type.
    CborBadChunk = "E0005", "not well-formed: bad chunk in an indefinite-length string";
    /// A two-byte simple value (0xf8) below 32.
    CborBadSimple = "E0006", "not well-formed: two-byte simple value below 32";
    /// Bytes follow the first data item.
    CborTrailingBytes = "E0007", "not one data item: bytes follow the first item";
    /// Nesting deeper than the profile's limit.
    CborTooDeep = "E0008", "nesting deeper than the profile's limit of 128 levels";
    // Canonical CBOR: well-formed but invalid.
    /// A text string that is not valid UTF-8.
    CborInvalidUtf8 = "E0020", "invalid: text string is not valid UTF-8";
    /// A map with two equal keys.
    CborDuplicateKey = "E0021", "invalid: duplicate map key";
    /// Tags 0-3 with content of the wrong type.
    CborBadTagContent = "E0022", "invalid: tag content has the wrong type";
    // Canonical CBOR: valid but not canonical.
    /// An integer, length or tag argument not in its shortest form.
    CborLongArgument = "E0030", "not canonical: argument not in its shortest form";
    /// An indefinite-length string, array or map.
    CborIndefiniteLength = "E0031", "not canonical: indefinite-length item";
    /// A float that a shorter width represents exactly.
    CborLongFloat = "E0032", "not canonical: float not in the shortest width that keeps its value";
    /// A NaN other than `f97e00`.
    CborNonCanonicalNan = "E0033", "not canonical: NaN must be encoded as f97e00";
    /// Map keys out of bytewise lexicographic order.
    CborUnsortedKeys = "E0034", "not canonical: map keys not sorted bytewise by their encoding";
    /// A bignum with leading zero bytes, or one that fits in a basic integer.
    CborLongBignum = "E0035", "not canonical: bignum with leading zeros or that fits in an integer";

    // Plans: reading.
    /// The TOML plan does not parse.
    PlanSyntax = "E0101", "the plan is not valid TOML";
    /// A field the schema does not know.
    PlanUnknownField = "E0102", "unknown field";
    /// A value of the wrong type.
    PlanWrongType = "E0103", "value has the wrong type";
    /// A required field is missing.
    PlanMissingField = "E0104", "required field missing";
    /// Fields that exclude each other are both present.
    PlanConflictingFields = "E0105", "fields that exclude each other are both present";
    /// A value of the right type but a wrong form (name, digest, interface, reference).
    PlanBadValue = "E0106", "value is malformed";
    /// A schema version this build does not read.
    PlanUnsupportedSchema = "E0107", "unsupported plan schema version";
    /// A CBOR plan that is not canonical CBOR.
    PlanNotCanonical = "E0108", "the CBOR plan is not canonical CBOR";
    /// A canonical CBOR plan that is not in the plan's normal form (shorthands, defaults
    /// written out, or missing `schema`), so its bytes are not the plan's one encoding.
    PlanNotNormal = "E0109", "the CBOR plan is not in normal form";

    // Plans: checks.
    /// The same name twice where names must be unique.
    PlanDuplicateName = "E0201", "duplicate name";
    /// Wiring names a component the plan does not have.
    PlanUnknownComponent = "E0202", "unknown component";
    /// Wiring names an export the component does not declare.
    PlanUnknownExport = "E0203", "unknown export";
    /// An import bound to nothing.
    PlanUnboundImport = "E0204", "import left unbound";
    /// The instantiation graph has a cycle.
    PlanCycle = "E0205", "cycle in the instantiation graph";
    /// A capability name the host does not know.
    PlanUnknownCapability = "E0206", "unknown capability";
    /// A required capability that the plan does not grant.
    PlanCapabilityNotGranted = "E0207", "required capability not granted";
    /// A grant that no component requests.
    PlanUnusedGrant = "E0208", "capability granted that no component requests";
    /// A secret token that the plan does not define.
    PlanUndefinedSecret = "E0209", "secret token undefined";
    /// A limit outside its allowed range.
    PlanLimitOutOfRange = "E0210", "limit out of range";
    /// An import bound to a host capability the component does not request.
    PlanHostNotRequested = "E0211", "import bound to a host capability the component does not request";
    /// A signature is required but no signer is accepted.
    PlanNoSigner = "E0212", "signature required but no signer accepted";
    /// An import and the export it is wired to declare different interface identities.
    PlanShapeMismatch = "E0213", "wired import and export declare different interface identities";
    /// The plan asks for something (a signature check, metrics, audit, attestation, a tenant,
    /// determinism with outside inputs) that this host does not implement; refused at emit and
    /// exec rather than ignored.
    PlanNotImplemented = "E0214", "the plan asks for something this host does not implement";
    /// A `crate` source requires a signature: this build compiles it, so nobody signed it.
    PlanSignatureOnCrate = "E0215", "a signature is required on a `crate` source, which nobody signed";

    // WIT.
    /// WIT that does not parse or resolve.
    WitInvalid = "E0301", "the WIT does not parse or resolve";
    /// `--item` names no interface or world.
    WitNoSuchItem = "E0302", "no interface or world of that name";
    /// A `.wasm` file that is neither a component nor an encoded WIT package.
    WitNotComponent = "E0303", "the file is not a component or an encoded WIT package";

    // Emit.
    /// A component's bytes do not have the digest the plan pins.
    EmitDigestMismatch = "E0401", "component digest differs from the pinned digest";
    /// A component does not export what the plan declares or wires to.
    EmitMissingExport = "E0402", "component does not export what the plan names";
    /// A wired import and export have different shapes.
    EmitShapeMismatch = "E0403", "wired import and export have different shapes";
    /// A component source cannot be found or read.
    EmitSourceNotFound = "E0404", "component source not found";
    /// A declared WIT identity differs from the component's own.
    EmitIdentityMismatch = "E0405", "declared interface identity differs from the component's";
    /// The plan's exports cannot be expressed as one composed component.
    EmitUnsupportedComposition = "E0406", "composition exports cannot be expressed";
    /// A guest crate failed to build for wasm32-wasip2.
    EmitGuestBuildFailed = "E0407", "guest crate failed to build";
    /// A component, or the composed result, is not a valid component.
    EmitInvalidComponent = "E0408", "not a valid component";
    /// A source kind this build cannot fetch.
    EmitUnsupportedSource = "E0409", "component source kind not supported by this build";
    /// Precompiling the composed component for embedding failed.
    EmitPrecompileFailed = "E0410", "precompiling the composed component failed";
    /// The build outputs (plan, component, code) could not be written.
    EmitWriteFailed = "E0411", "cannot write the build outputs";

    // Exec.
    /// A required capability that the host policy refuses.
    ExecCapabilityRefused = "E0501", "required capability refused by the host";
    /// The component trapped.
    ExecTrap = "E0502", "the component trapped";
    /// A memory, instance or table limit was hit.
    ExecLimit = "E0503", "a resource limit was exceeded";
    /// The run took longer than its deadline.
    ExecTimeout = "E0504", "the run exceeded its time limit";
    /// The run used up its fuel.
    ExecFuel = "E0505", "the run used up its fuel";
    /// The component imports something the host does not provide under this plan.
    ExecImportRefused = "E0506", "an import is not provided under this plan";
    /// The bytes are not a component this runtime can compile, or not a command.
    ExecInvalidComponent = "E0507", "not a runnable component";
    /// The guest recursed past the stack limit.
    ExecStackOverflow = "E0508", "the component overflowed its stack";
    /// An embedded plan or component does not match the digest recorded at build time.
    ExecEmbeddedMismatch = "E0509", "embedded plan or component does not match its recorded digest";
    /// The host itself failed: it could not listen on an address, start a thread or an async
    /// runtime. Nothing is wrong with the composition.
    ExecHostIo = "E0510", "the host could not do its own I/O (listen, start a thread or runtime)";
    /// Code precompiled into the binary was made for another engine or CPU (the error names
    /// what differs), and this build has no compiler to compile the component instead.
    ExecPrecompiledUnfit = "E0511", "the precompiled code does not fit this host, and this build cannot compile";
    /// A component must be compiled, and this build has no compiler (compose-runtime was built
    /// without its `jit` feature): it runs only code precompiled into it.
    ExecNoCompiler = "E0512", "this build cannot compile components (compose-runtime's `jit` feature is off)";

    // Trust: signatures over components and compositions.
    /// No signature bundle was found for an artifact that must be signed.
    TrustUnsigned = "E0701", "the artifact must be signed, but no signature bundle was found";
    /// A bundle verifies, but with a key or identity that is not an accepted signer.
    TrustUnknownSigner = "E0702", "signed, but not by an accepted signer";
    /// The signature does not verify over these bytes.
    TrustBadSignature = "E0703", "the signature does not verify over the artifact's bytes";
    /// The bundle names another artifact (its digest or statement subject differs).
    TrustWrongArtifact = "E0704", "the bundle is for another artifact";
    /// The bundle is not a Sigstore bundle this host reads.
    TrustMalformedBundle = "E0705", "malformed or unsupported Sigstore bundle";
    /// The signing certificate, its SCT, timestamps or transparency-log entry do not verify
    /// against the trusted root, or fall outside their validity.
    TrustCertificate = "E0706", "the certificate, timestamps or log entry do not verify against the trusted root";
    /// A keyless signature was given but no trusted root: there is no built-in one.
    TrustNoTrustedRoot = "E0707", "keyless verification needs a trusted root (`--trusted-root`)";
    /// Fewer distinct accepted signers than the threshold signed.
    TrustThreshold = "E0708", "fewer distinct accepted signers than the threshold";
    /// A key is unusable: unreadable, malformed, an unsupported algorithm, or a private key
    /// that others can read.
    TrustKey = "E0709", "the key is unreadable, malformed, unsupported or not private";
    /// A composition's statement does not name the plan it is run under.
    TrustPlanMismatch = "E0710", "the signed statement does not name this plan";
    /// A trusted root that does not parse or whose entries are unusable.
    TrustBadTrustedRoot = "E0711", "the trusted root does not parse or is unusable";
    /// The PKCS#11 token could not sign (module, PIN, label).
    TrustPkcs11 = "E0712", "the PKCS#11 token could not sign";
    /// A trusted root was given where no signature is checked, so it would be ignored.
    TrustRootUnused = "E0713", "a trusted root was given, but no signature is checked with it";
    /// A provenance statement names other inputs than the plan resolves to.
    TrustProvenanceMismatch = "E0714", "the provenance names other inputs than the plan resolves to";
    /// Attestation evidence answers another nonce than the verifier sent.
    TrustEvidenceNonce = "E0715", "the evidence answers another nonce";
    /// Attestation evidence names another plan or component than the verifier expects.
    TrustEvidenceMismatch = "E0716", "the evidence names another plan or component";
    /// Attestation evidence is older than the verifier accepts, or dated in the future.
    TrustEvidenceStale = "E0717", "the evidence is too old, or dated in the future";

    // The audit log.
    /// The audit log could not be opened, written, flushed or synced (the sink failed).
    AuditSink = "E0801", "the audit log could not be written";
    /// Another writer holds the audit log's lock.
    AuditLocked = "E0802", "another writer holds the audit log";
    /// A record does not verify (checksum, encoding, index, or the checkpoint's tree): the
    /// message names the first bad index.
    AuditTampered = "E0803", "the audit log was altered, cut or extended after its checkpoint";
    /// A checkpoint is unreadable, or not signed by an accepted key.
    AuditCheckpoint = "E0804", "the checkpoint is malformed or not signed by an accepted key";
    /// The log does not extend a checkpoint trusted earlier (it was cut or rewritten).
    AuditNotExtended = "E0805", "the audit log does not extend the trusted checkpoint";

    // The command line.
    /// `composectl` was called wrongly: an unknown option, a missing or malformed argument, or
    /// options that contradict each other. Nothing was run.
    CliUsage = "E0901", "the command line is not valid (see `--help`)";
    /// A file, folder or stream `composectl` had to read or write could not be.
    CliIo = "E0902", "a file, folder or stream could not be read or written";

    // The `compose!` macro.
    /// The macro's input is not valid syntax for its grammar.
    MacroSyntax = "E0601", "`compose!` input does not parse";
    /// An option of the macro that is unknown, repeated or conflicting.
    MacroOption = "E0602", "unknown, repeated or conflicting `compose!` option";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
    }

    /// `docs/errors.md` is the published table: every code is in it with its summary.
    /// `BLESS=1` rewrites the table.
    #[test]
    fn docs_table_lists_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md");
        let mut table = String::from("| code | meaning |\n|---|---|\n");
        for code in Code::ALL {
            table.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.summary()));
        }
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let start = "<!-- codes:start -->\n";
        let end = "<!-- codes:end -->";
        if std::env::var_os("BLESS").is_some() {
            let (head, tail) = match (doc.find(start), doc.find(end)) {
                (Some(s), Some(e)) => (doc[..s].to_string(), doc[e..].to_string()),
                _ => (String::from("# Error codes\n\n"), format!("{end}\n")),
            };
            std::fs::write(path, format!("{head}{start}{table}{tail}")).unwrap();
            return;
        }
        assert!(
            doc.contains(&format!("{start}{table}{end}")),
            "docs/errors.md is out of date: run `BLESS=1 cargo test -p compose-model codes`"
        );
    }
}
